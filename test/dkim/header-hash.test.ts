import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { headerHashBytes } from "../../src/dkim/canonicalize.js";
import { canonicalizeHeader, canonicalizeSignatureField, parseSignature } from "../../src/dkim/index.js";
import { type HeaderField, splitMessage } from "../../src/message/index.js";

/**
 * RFC 6376 3.4.2 relaxed header canonicalization written from the rule, on text, independent of
 * src/dkim/canonicalize.ts (whose canonicalizeHeader and headerHashBytes share one writer): name in
 * lower case (A-Z only) without WSP before the colon; line breaks removed; runs of WSP one SP; no WSP
 * at the start or end of the value.
 */
function relaxedRule(raw: Uint8Array, colon: number): Buffer {
  const text = Buffer.from(raw).toString("latin1");
  const name = text
    .slice(0, colon)
    .replace(/[ \t]+$/, "")
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
  const value = text
    .slice(colon + 1)
    .replace(/[\r\n]/g, "")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");
  return Buffer.from(`${name}:${value}\r\n`, "latin1");
}

/** The reference: each field canonicalized on its own, then the signature field, joined. */
function reference(fields: HeaderField[], sig: HeaderField, b: { start: number; end: number }, mode: "simple" | "relaxed"): Buffer {
  if (mode === "relaxed") {
    const sigRaw = Buffer.concat([sig.raw.subarray(0, b.start), sig.raw.subarray(b.end)]);
    const last = relaxedRule(sigRaw, sig.colon);
    return Buffer.concat([...fields.map((f) => relaxedRule(f.raw, f.colon)), last.subarray(0, last.length - 2)]);
  }
  return Buffer.concat([...fields.map((f) => canonicalizeHeader(f, mode)), canonicalizeSignatureField(sig, b, mode)]);
}

/** Field text weighted towards what relaxed canonicalization changes: folding, tabs, runs of spaces, case. */
const fieldText = fc
  .array(fc.constantFrom("a", "B", " ", "\t", "  ", "\r\n ", "\r\n\t", ";", "=", "x", "\xe9", ":", "\r", "\n"), { maxLength: 30 })
  .map((parts) => parts.join(""));
const name = fc.constantFrom("From", "subject", "X-Odd ", "To\t", "DKIM-Signature");

/** Header fields as splitMessage reads them (views of the message, or copies where line ends were bare). */
const headers = fc.array(fc.tuple(name, fieldText), { minLength: 1, maxLength: 8 }).map((pairs) => {
  const text = `${pairs.map(([n, v]) => `${n}:${v.replace(/\r?\n(?![ \t])/g, " ")}`).join("\r\n")}\r\n\r\nbody\r\n`;
  return splitMessage(Buffer.from(text, "latin1")).headers.filter((f) => !f.malformed);
});

describe("headerHashBytes (one buffer) agrees with canonicalizing field by field", () => {
  it("for any fields, b= span and mode, reused buffer or not", () => {
    fc.assert(
      fc.property(
        headers,
        fc.constantFrom("simple" as const, "relaxed" as const),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (fields, mode, a, b, reuse) => {
          fc.pre(fields.length > 0);
          const sig = fields[fields.length - 1]!;
          // Any span after the colon, empty or not, up to the end.
          const room = sig.raw.length - sig.colon - 1;
          const start = sig.colon + 1 + (room > 0 ? a % (room + 1) : 0);
          const end = start + (sig.raw.length - start > 0 ? b % (sig.raw.length - start + 1) : 0);
          const span = { start, end };
          const got = Buffer.from(headerHashBytes(fields.slice(0, -1), sig, span, mode, reuse));
          expect(got.toString("latin1")).toBe(reference(fields.slice(0, -1), sig, span, mode).toString("latin1"));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("on a real signature field, its b= span blanked", () => {
    const text =
      "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=s;\r\n\th=From : Subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dGVz\r\n\t dA==\r\nFrom:  A  <a@example.com> \r\nSUBJECT: hi\r\n\r\n";
    const [sigField, from, subject] = splitMessage(Buffer.from(text)).headers;
    const parsed = parseSignature(sigField!);
    if (!parsed.ok) throw new Error(parsed.reason);
    for (const mode of ["simple", "relaxed"] as const) {
      const got = Buffer.from(headerHashBytes([from!, subject!], sigField!, parsed.sig.bValue, mode, true)).toString("latin1");
      expect(got).toBe(reference([from!, subject!], sigField!, parsed.sig.bValue, mode).toString("latin1"));
    }
    expect(Buffer.from(headerHashBytes([from!], sigField!, parsed.sig.bValue, "relaxed")).toString("latin1")).toBe(
      "from:A <a@example.com>\r\ndkim-signature:v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=s; h=From : Subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
    );
  });

  it("a reused buffer's earlier result is not what a later call returns (each call writes afresh)", () => {
    const [a, b] = splitMessage(Buffer.from("From: a\r\nTo: bb\r\n\r\n")).headers;
    const first = Buffer.from(headerHashBytes([], a!, { start: a!.raw.length, end: a!.raw.length }, "relaxed", true)).toString();
    const second = Buffer.from(headerHashBytes([], b!, { start: b!.raw.length, end: b!.raw.length }, "relaxed", true)).toString();
    expect([first, second]).toEqual(["from:a", "to:bb"]);
  });
});

describe("relaxed header canonicalization follows the rule", () => {
  it("canonicalizeHeader and canonicalizeSignatureField equal the rule written on text, for any field", () => {
    fc.assert(
      fc.property(headers, (fields) => {
        for (const f of fields) {
          expect(Buffer.from(canonicalizeHeader(f, "relaxed"))).toEqual(relaxedRule(f.raw, f.colon));
          const span = { start: f.raw.length, end: f.raw.length };
          const rule = relaxedRule(f.raw, f.colon);
          expect(Buffer.from(canonicalizeSignatureField(f, span, "relaxed"))).toEqual(rule.subarray(0, rule.length - 2));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
