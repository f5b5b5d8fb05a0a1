import { describe, expect, it } from "vitest";
import { CanonKernel, canonKernel } from "../../src/dkim/canon-kernel.js";
import { BodyCanonicalizer, type Canonicalization } from "../../src/dkim/index.js";

// Its own file: a fault turns the kernel off for the whole process.
function run(mode: Canonicalization, text: string, engine: "auto" | "js"): string {
  const parts: Buffer[] = [];
  const c = new BodyCanonicalizer(mode, (b) => parts.push(Buffer.from(b)), engine);
  const bytes = Buffer.from(text, "latin1");
  for (let i = 0; i < bytes.length; i += 70_000) c.update(bytes.subarray(i, i + 70_000));
  c.end();
  return Buffer.concat(parts).toString("latin1");
}

describe("a WebAssembly kernel fault", () => {
  it("loses nothing: JavaScript redoes the piece and carries on, and the kernel stays off", () => {
    expect(canonKernel()).not.toBeNull();
    const text = "Lorem  ipsum dolor\t sit amet \r\n\r\n".repeat(8000);
    const expected = run("relaxed", text, "js");
    // The second piece faults.
    const original = CanonKernel.prototype.run;
    let calls = 0;
    CanonKernel.prototype.run = function (this: CanonKernel, ...args: Parameters<CanonKernel["run"]>) {
      if (++calls === 2) throw new Error("simulated trap");
      return original.apply(this, args);
    };
    try {
      expect(run("relaxed", text, "auto")).toBe(expected);
      expect(calls).toBe(2);
      expect(canonKernel()).toBeNull();
      expect(run("simple", text, "auto")).toBe(run("simple", text, "js"));
    } finally {
      CanonKernel.prototype.run = original;
    }
  });
});
