/**
 * Assembles src/dkim/canon.wat into src/dkim/canon-wasm.ts (the module's bytes, base64). Run with
 * `npm run build:wasm` after editing the .wat; test/dkim/canon-wasm.test.ts fails while they differ.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { assembleCanonWasm, renderCanonWasmModule } from "./wasm.js";

const wat = new URL("../src/dkim/canon.wat", import.meta.url);
const out = new URL("../src/dkim/canon-wasm.ts", import.meta.url);
const bytes = await assembleCanonWasm(readFileSync(wat, "utf8"));
writeFileSync(out, renderCanonWasmModule(bytes));
console.log(`wrote src/dkim/canon-wasm.ts (${bytes.length} bytes of WebAssembly)`);
