import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BodyCanonicalizer, parseKeyRecord, parseSignature, parseTagList, verifyDkim } from "../../src/dkim/index.js";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { splitMessage } from "../../src/message/index.js";

/** Bytes weighted towards what matters to canonicalization: CR, LF, SP, TAB. */
const bodyBytes = fc.array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x41), fc.integer({ min: 0, max: 255 })), { maxLength: 300 });

function canon(mode: "simple" | "relaxed", bytes: Uint8Array, cuts: number[]): number[] {
  const out: number[] = [];
  const c = new BodyCanonicalizer(mode, (b) => out.push(...b));
  let start = 0;
  for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
    c.update(bytes.subarray(start, Math.max(start, cut)));
    start = Math.max(start, cut);
  }
  c.end();
  return out;
}

/** RFC 6376 3.4.3 / 3.4.4 written the obvious way, on latin1 strings (bare LF ends a line, bare CR is content). */
function reference(mode: "simple" | "relaxed", bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString("latin1");
  let lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  if (mode === "relaxed") lines = lines.map((l) => l.replace(/[ \t]+/g, " ").replace(/ $/, ""));
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) return mode === "simple" ? "\r\n" : "";
  return `${lines.join("\r\n")}\r\n`;
}

/** Mostly clean CRLF lines (the fast path), with the odd tab, double space, bare LF or CR. */
const mailish = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom("Hello world, this is a line.\r\n", "\r\n", " indented line\r\n", "x\r\n") },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "tab\there\r\n",
          "two  spaces\r\n",
          "trailing \r\n",
          "bare lf\n",
          "bare\rcr\r\n",
          " \t \r\n",
          "\r",
          "\n",
          " ",
        ),
      },
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

describe("DKIM properties", () => {
  it("the canonicalizer (fast and slow paths) agrees with a plain implementation of the RFC", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mailish,
          bodyBytes.map((a) => Uint8Array.from(a)),
        ),
        fc.array(fc.nat(2000), { maxLength: 5 }),
        fc.constantFrom("simple" as const, "relaxed" as const),
        (bytes, cuts, mode) => {
          const got = Buffer.from(
            canon(
              mode,
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
          ).toString("latin1");
          expect(got).toBe(reference(mode, bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("body canonicalization does not depend on how the body is chunked", () => {
    fc.assert(
      fc.property(
        bodyBytes,
        fc.array(fc.nat(300), { maxLength: 8 }),
        fc.constantFrom("simple" as const, "relaxed" as const),
        (arr, cuts, mode) => {
          const bytes = Uint8Array.from(arr);
          expect(
            canon(
              mode,
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
          ).toEqual(canon(mode, bytes, []));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("canonical bodies end with CRLF or are empty, and relaxed output has no trailing white space on a line", () => {
    fc.assert(
      fc.property(bodyBytes, (arr) => {
        const out = canon("relaxed", Uint8Array.from(arr), []);
        if (out.length > 0) expect(out.slice(-2)).toEqual([0x0d, 0x0a]);
        const text = Buffer.from(out).toString("latin1");
        expect(text).not.toMatch(/[ \t]\r\n/);
        expect(text).not.toMatch(/(\r\n){2}$/);
      }),
    );
  });

  it("tag lists, signatures and key records never throw", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        parseTagList(s);
        parseKeyRecord(s);
        const [field] = splitMessage(new TextEncoder().encode(`DKIM-Signature: ${s.replace(/[\r\n]/g, " ")}\r\n\r\n`)).headers;
        if (field) parseSignature(field);
      }),
      { numRuns: 1000 },
    );
  });

  it("verifyDkim never throws on arbitrary messages, and never mutates the input", async () => {
    const resolver = new FixtureResolver(
      zoneFromObject({ "s._domainkey.example.com": { TXT: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" } }),
    );
    const sig = fc.constantFrom(
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=s; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from:from; bh=; b=\r\n",
      "",
    );
    await fc.assert(
      fc.asyncProperty(sig, fc.uint8Array({ maxLength: 400 }), async (s, tail) => {
        const input = Uint8Array.from([...new TextEncoder().encode(s), ...tail]);
        const copy = input.slice();
        const results = await verifyDkim(input, { resolver });
        expect(Array.isArray(results)).toBe(true);
        expect(input).toEqual(copy);
      }),
      { numRuns: 300 },
    );
  });
});
