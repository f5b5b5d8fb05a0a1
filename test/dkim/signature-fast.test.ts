import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scanFieldNameBytes, scanFieldNames } from "../../src/dkim/signature.js";
import { stripWsp } from "../../src/dkim/tags.js";

/** The general rule parseSignature applies to h=: white space removed, lower case, non-empty valid names. */
function general(value: string): string[] | undefined {
  const list = stripWsp(value).toLowerCase();
  return /^[\x21-\x39\x3b-\x7e]+(?::[\x21-\x39\x3b-\x7e]+)*$/.test(list) ? list.split(":") : undefined;
}

const hValue = fc
  .array(fc.constantFrom("from", "To", "SUBJECT", ":", " ", "\t", "\r\n ", "x-A_b", "\xe9", "\x7f", ";", "", "a b"), { maxLength: 16 })
  .map((parts) => parts.join(""));

describe("h= fast scan", () => {
  it("where it answers, it answers as the general rule does", () => {
    fc.assert(
      fc.property(fc.oneof(hValue, fc.string({ maxLength: 20 })), (value) => {
        const fast = scanFieldNames(value);
        if (fast !== undefined) expect(fast).toEqual(general(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("answers for the usual lists, and leaves the rest to the general rule", () => {
    expect(scanFieldNames("From : To:\r\n\tSubject")).toEqual(["from", "to", "subject"]);
    expect(scanFieldNames("from")).toEqual(["from"]);
    for (const odd of ["", "from:", ":from", "fr om", "from::to", "fr\xe9m"]) expect(scanFieldNames(odd)).toBeUndefined();
    // "fr om" is one name to the general rule (all white space removed).
    expect(general("fr om")).toEqual(["from"]);
  });
});

describe("h= scan over the field's bytes", () => {
  it("answers as scanFieldNames on the same text, at any place in a longer text", () => {
    // Latin1 text (what parseUsualSignature reads): every byte, NUL, 8-bit and DEL included.
    const byteText = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(fc.oneof(hValue, byteText), byteText, byteText, (value, before, after) => {
        const text = before + value + after;
        const raw = Buffer.from(text, "latin1");
        expect(scanFieldNameBytes(raw, text, before.length, before.length + value.length)).toEqual(scanFieldNames(value));
      }),
      { numRuns: 5000 },
    );
  });
});
