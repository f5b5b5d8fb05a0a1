import { describe, expect, it } from "vitest";

// Its own file: the kernel is looked up once per process.
describe("without WebAssembly (node --jitless, some sandboxes)", () => {
  it("canonicalizes in JavaScript, with the same result", async () => {
    const g = globalThis as unknown as Record<string, unknown>;
    const saved = g.WebAssembly;
    Reflect.deleteProperty(globalThis, "WebAssembly");
    try {
      const { canonKernel } = await import("../../src/dkim/canon-kernel.js");
      const { BodyCanonicalizer } = await import("../../src/dkim/index.js");
      expect(canonKernel()).toBeNull();
      const parts: Buffer[] = [];
      const c = new BodyCanonicalizer("relaxed", (b) => parts.push(Buffer.from(b)));
      c.update(Buffer.from(" C \r\nD \t E\r\n\r\n\r\n"));
      c.end();
      expect(Buffer.concat(parts).toString()).toBe(" C\r\nD E\r\n"); // RFC 6376 3.4.5
    } finally {
      g.WebAssembly = saved;
    }
  });
});
