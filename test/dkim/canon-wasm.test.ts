import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assembleCanonWasm, renderCanonWasmModule } from "../../scripts/wasm.js";
import { canonKernel, KERNEL_INPUT, KERNEL_MAX_PENDING } from "../../src/dkim/canon-kernel.js";
import { CANON_WASM_BASE64 } from "../../src/dkim/canon-wasm.js";
import { BodyCanonicalizer, type CanonEngine, type Canonicalization } from "../../src/dkim/index.js";

function run(mode: Canonicalization, engine: CanonEngine, bytes: Uint8Array, cuts: readonly number[] = []): string {
  const parts: Buffer[] = [];
  const c = new BodyCanonicalizer(mode, (b) => parts.push(Buffer.from(b)), engine);
  let start = 0;
  for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
    const end = Math.min(Math.max(start, cut), bytes.length);
    c.update(bytes.subarray(start, end));
    start = end;
  }
  c.end();
  return Buffer.concat(parts).toString("latin1");
}

/** Both engines, whole and in pieces, must give the same canonical body. */
function expectSame(text: string, cuts: readonly number[] = []): void {
  const bytes = Buffer.from(text, "latin1");
  for (const mode of ["simple", "relaxed"] as const) {
    const js = run(mode, "js", bytes);
    expect(run(mode, "auto", bytes), `${mode} whole: ${JSON.stringify(text.slice(0, 80))}`).toBe(js);
    if (cuts.length > 0) expect(run(mode, "auto", bytes, cuts), `${mode} cut at ${cuts}`).toBe(js);
  }
}

describe("the WebAssembly body canonicalizer", () => {
  it("is built from canon.wat as it is now (npm run build:wasm)", async () => {
    const wat = readFileSync(new URL("../../src/dkim/canon.wat", import.meta.url), "utf8");
    const bytes = await assembleCanonWasm(wat);
    expect(Buffer.from(bytes).toString("base64")).toBe(CANON_WASM_BASE64);
    expect(renderCanonWasmModule(bytes)).toBe(readFileSync(new URL("../../src/dkim/canon-wasm.ts", import.meta.url), "utf8"));
  });

  it("loads on this runtime, so the other tests here exercise it", () => {
    expect(canonKernel()).not.toBeNull();
  });

  it("agrees with the JavaScript canonicalizer wherever the special byte falls in a 16-byte block", () => {
    const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do eiusmod";
    const specials = ["  ", " \r\n", "\t", "\n", "\r\n\r\n", "\r\n\r\n\r\n", "\r", " \t ", "\r\r\n", "\n\r\n", "\u0000 ", " \u0001"];
    for (const special of specials) {
      for (let at = 0; at < 40; at++) {
        const text = `${line}\r\n${line.slice(0, at)}${special}${line.slice(at)}\r\n${line}\r\n`;
        expectSame(text, [at + 3, at + 71]);
      }
    }
  });

  it("holds back empty lines that whole blocks copied, wherever the chunk ends", () => {
    // The kernel copies empty lines inside a chunk and takes back those at its end; the body's
    // last empty lines must vanish however the body is cut.
    const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do eiusmod";
    for (const tail of ["\r\n\r\n", "\r\n\r\n\r\n\r\n", "\r\n \r\n\r\n", "\r\n\r\nx"]) {
      const text = `${line}\r\n${line}\r\n\r\n${line}${tail}`;
      for (let cut = text.length - 40; cut <= text.length; cut++) expectSame(text, [cut]);
      expectSame(text, [text.length - 3, text.length - 1]);
    }
  });

  it("agrees with the JavaScript canonicalizer on random mail-like bodies cut anywhere", () => {
    const token = fc.constantFrom(
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit",
      "abcdefghijklmnopqrstuvwxyz0123456789",
      "\r\n",
      "\r\n\r\n",
      " ",
      "  ",
      "\t",
      "\n",
      "\r",
      " \r\n",
      "<td>",
      "        ",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 120 }), fc.array(fc.nat(6000), { maxLength: 6 }), (tokens, cuts) => {
        const text = tokens.join("");
        expectSame(
          text,
          cuts.map((c) => c % (text.length + 1)),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(400), { maxLength: 4 }), (bytes, cuts) => {
        const text = Buffer.from(bytes).toString("latin1");
        expectSame(text, cuts);
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees on pathological bodies: long runs of one special byte, in odd chunks", () => {
    for (const unit of [" ", "\t", "\r", "\n", "\r\n", " \r\n", "\n\r", "x ", "\u0000"]) {
      const text = `a${unit.repeat(Math.ceil(150_000 / unit.length))}b`;
      expectSame(text, [1, 4095, 65_537, 131_071]);
    }
  });

  it("handles chunks larger than its input area and more held-back empty lines than its output area", () => {
    const line = "Lorem ipsum dolor sit amet,  consectetur\tadipiscing elit \r\n";
    const big = line.repeat(Math.ceil((3 * KERNEL_INPUT) / line.length));
    expectSame(`${big}x`, [1, KERNEL_INPUT + 5]);
    // More empty lines than the kernel holds, across chunks, then content: the JavaScript path takes
    // over and the counts carry through.
    const empties = "\r\n".repeat(KERNEL_MAX_PENDING + 100);
    expectSame(`a\r\n${empties}b\r\n`, [5, KERNEL_INPUT, 2 * KERNEL_INPUT, 2 * KERNEL_INPUT + 7]);
    expectSame(`a\r\n${empties}`, [5, KERNEL_INPUT]);
  });
});
