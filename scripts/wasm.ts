import wabt from "wabt";

/** The .wat text assembled with SIMD enabled. */
export async function assembleCanonWasm(text: string): Promise<Uint8Array> {
  const w = await wabt();
  const module = w.parseWat("canon.wat", text, { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** The TypeScript file that carries the bytes. */
export function renderCanonWasmModule(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 120) lines.push(`  "${b64.slice(i, i + 120)}"`);
  return `// Generated from canon.wat by \`npm run build:wasm\`; do not edit.\nexport const CANON_WASM_BASE64 =\n${lines.join(" +\n")};\n`;
}
