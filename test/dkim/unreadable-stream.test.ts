import { describe, expect, it } from "vitest";
import { verifyArc } from "../../src/arc/index.js";
import { signDkim, verifyDkim } from "../../src/dkim/index.js";
import { ArgumentError } from "../../src/errors.js";
import { ED_PEM, exampleResolver } from "../helpers/keys.js";

const enc = new TextEncoder();

/** Yields `chunks`, then throws `thrown` (a stream that fails part way). */
async function* failing(chunks: string[], thrown: unknown): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield enc.encode(c);
  throw thrown;
}

// Odd values a faulty stream can throw: none may escape verifyDkim or verifyArc.
const THROWN: { name: string; value: () => unknown }[] = [
  { name: "an Error", value: () => new Error("ECONNRESET") },
  { name: "Object.create(null)", value: () => Object.create(null) },
  { name: "undefined", value: () => undefined },
  { name: "a string", value: () => "socket closed" },
  {
    name: "a Proxy whose every trap throws",
    value: () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error("trap");
          },
          getPrototypeOf() {
            throw new Error("trap");
          },
        },
      ),
  },
];

// Where the stream fails: before any byte, and inside the header.
const BEFORE_HEADER_END: { name: string; chunks: string[] }[] = [
  { name: "before the first byte", chunks: [] },
  { name: "inside the header", chunks: ["From: a@example.com\r\nDKIM-Signature: v=1; d=example.com; s=ed"] },
];

describe("a message stream that fails before its header ends", () => {
  for (const where of BEFORE_HEADER_END) {
    for (const t of THROWN) {
      it(`verifyDkim gives one temperror result (${where.name}, throws ${t.name})`, async () => {
        const results = await verifyDkim(failing(where.chunks, t.value()), { resolver: exampleResolver() });
        expect(results).toHaveLength(1);
        const r = results[0]!;
        expect(r.result).toBe("temperror");
        expect(r.reason).toMatch(/^the message could not be read: /);
        expect(r.domain).toBe("");
        expect(r.selector).toBe("");
        expect(r.signedHeaders).toEqual([]);
        expect(r.field.raw.length).toBe(0);
      });

      it(`verifyArc fails the chain (${where.name}, throws ${t.name})`, async () => {
        const r = await verifyArc(failing(where.chunks, t.value()), { resolver: exampleResolver() });
        expect(r.result).toBe("fail");
        expect(r.reason).toMatch(/^the message could not be read: /);
        expect(r.instances).toBe(0);
        expect(r.sets).toEqual([]);
      });
    }
  }

  it("an abort before the header ends is a result too", async () => {
    const controller = new AbortController();
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield enc.encode("From: a@example.com\r\n");
      controller.abort(new Error("caller gave up"));
      await new Promise(() => {}); // never settles
    }
    const dkim = await verifyDkim(stalls(), { resolver: exampleResolver(), signal: controller.signal });
    expect(dkim.map((r) => r.result)).toEqual(["temperror"]);
  });

  it("a stream failing after the header still gives the signature's own temperror", async () => {
    const message = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
    const sig = await signDkim(message, { domain: "example.com", selector: "ed25519", privateKey: ED_PEM });
    const header = sig + message.slice(0, message.indexOf("\r\n\r\n") + 4);
    const results = await verifyDkim(failing([header, "bo"], Object.create(null)), { resolver: exampleResolver() });
    expect(results).toHaveLength(1);
    expect(results[0]!.result).toBe("temperror");
    expect(results[0]!.domain).toBe("example.com");
    expect(results[0]!.reason).toMatch(/body could not be read/);
  });

  it("a message that is not bytes, text or a stream is a typed programming error", async () => {
    await expect(verifyDkim(42 as never, { resolver: exampleResolver() })).rejects.toBeInstanceOf(ArgumentError);
    await expect(verifyArc(null as never, { resolver: exampleResolver() })).rejects.toBeInstanceOf(ArgumentError);
  });
});
