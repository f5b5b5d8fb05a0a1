import fc from "fast-check";
import punycode from "punycode/punycode.js";
import { describe, expect, it } from "vitest";
import { hasALabel } from "../../src/message/idna.js";
import { asciiDomain } from "../../src/message/index.js";
import { numericTop, plainLdhName } from "../../src/message/recover.js";

// The character-code checks that replaced regular expressions in the author path (issue 19) decide
// exactly what the regular expressions decided. The references are the forms they replaced.

function referenceAsciiDomain(domain: string): string | undefined {
  let d = domain.normalize("NFC").toLowerCase();
  if (d.endsWith(".")) d = d.slice(0, -1);
  if (d === "" || d.length > 253 || d.startsWith("[")) return undefined;
  let ascii: string;
  try {
    ascii = /^[\x00-\x7f]*$/.test(d) ? d : punycode.toASCII(d);
  } catch {
    return undefined;
  }
  if (ascii.length > 253) return undefined;
  for (const label of ascii.split(".")) {
    if (label.length === 0 || label.length > 63) return undefined;
    if (!/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/.test(label)) return undefined;
  }
  return ascii;
}

const LDH_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

// Names as From fields carry them: plain labels, edge hyphens, A-label prefixes in any case,
// digits, empty and overlong labels, brackets, controls and non-ASCII look-alikes.
const labelPart = fc.constantFrom(
  "a",
  "B",
  "z",
  "0",
  "9",
  "_",
  "-",
  "xn--",
  "XN--",
  "xN--",
  "x",
  "n",
  "[",
  "]",
  " ",
  "\u0000",
  "\x7f",
  "é",
  "ｂ",
  "İ",
  "K",
  "ß",
  "@",
  "%",
);
const label = fc.oneof(
  { weight: 6, arbitrary: fc.array(labelPart, { maxLength: 5 }).map((p) => p.join("")) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 66 }).map((n) => "a".repeat(n)) },
);
const name = fc.oneof(
  { weight: 8, arbitrary: fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join(".")) },
  { weight: 1, arbitrary: fc.tuple(label, fc.constantFrom(".", "..", "")).map(([l, dot]) => `${l}${dot}`) },
  { weight: 1, arbitrary: fc.integer({ min: 40, max: 70 }).map((n) => Array.from({ length: n }, () => "abcd").join(".")) },
  { weight: 1, arbitrary: fc.string() },
);

describe("author-path checks by character code", () => {
  it("asciiDomain gives what the normalize-and-regex form gave", () => {
    fc.assert(
      fc.property(name, (d) => {
        expect(asciiDomain(d)).toBe(referenceAsciiDomain(d));
      }),
      { numRuns: 5000 },
    );
  });

  it("plainLdhName is LDH_NAME and no A-label", () => {
    fc.assert(
      fc.property(name, (d) => {
        expect(plainLdhName(d)).toBe(LDH_NAME.test(d) && !hasALabel(d));
      }),
      { numRuns: 5000 },
    );
  });

  it("numericTop is /(?:^|\\.)[0-9]+$/", () => {
    const digitsName = fc.array(fc.constantFrom("1", "23", "a", "", "9a", "0"), { maxLength: 5 }).map((ls) => ls.join("."));
    fc.assert(
      fc.property(fc.oneof(name, digitsName), (d) => {
        expect(numericTop(d)).toBe(/(?:^|\.)[0-9]+$/.test(d));
      }),
      { numRuns: 5000 },
    );
  });
});
