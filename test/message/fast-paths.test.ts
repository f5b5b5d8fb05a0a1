import fc from "fast-check";
import punycode from "punycode/punycode.js";
import { describe, expect, it } from "vitest";
import { parseAddressListGeneral, simpleMailbox } from "../../src/message/address.js";
import { hasALabel } from "../../src/message/idna.js";
import { asciiDomain, parseAddressList } from "../../src/message/index.js";
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

// --- The usual From value, parsed without the tokenizer (simpleMailbox) -------------------------

describe("simpleMailbox gives what the general address parser gives", () => {
  const word = fc.stringMatching(/^[A-Za-z0-9]{1,8}$/);
  const part = fc.stringMatching(/^[A-Za-z0-9_+-]{1,8}$/);
  const dotted = (p: fc.Arbitrary<string>) => fc.array(p, { minLength: 1, maxLength: 4 }).map((ws) => ws.join("."));
  const address = fc.tuple(dotted(part), dotted(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/))).map(([l, d]) => `${l}@${d}`);
  // The usual shapes: "Name Words <a@b.c>", "<a@b.c>", "a@b.c".
  const clean = fc.oneof(
    fc
      .tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.constantFrom(" ", ""), address)
      .map(([ws, sp, a]) => `${ws.join(" ")}${sp}<${a}>`),
    address.map((a) => `<${a}>`),
    address,
  );
  // Mutations a hostile or broken From carries: inserted, replaced or deleted characters.
  const hostile = fc.constantFrom(...' \t\r\n"()<>@,;:.[]\\=?_+-é\u200b\u0000\u007fxX0'.split(""), "=?utf-8?q?a?=", "..", "  ");
  const mutated = fc
    .tuple(clean, fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "replace", "delete"), hostile), { maxLength: 3 }))
    .map(([text, edits]) => {
      let t = text;
      for (const [at, op, s] of edits) {
        const i = t.length === 0 ? 0 : at % (t.length + 1);
        t =
          op === "insert"
            ? t.slice(0, i) + s + t.slice(i)
            : op === "replace"
              ? t.slice(0, i) + s + t.slice(i + 1)
              : t.slice(0, i) + t.slice(i + 1);
      }
      return t;
    });

  it("on clean and mutated From values: the same result, keys in the same order, whenever it answers", () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.oneof(clean, mutated, fc.string()), (text) => {
        const fast = simpleMailbox(text);
        const general = parseAddressListGeneral(text);
        if (fast !== undefined) {
          answered++;
          expect(fast).toEqual(general);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(general));
        }
        expect(parseAddressList(text)).toEqual(general);
      }),
      { numRuns: 5000 },
    );
    expect(answered).toBeGreaterThan(1000); // the shortcut is taken, not just declined
  });

  it("the usual shapes are answered by the shortcut", () => {
    for (const t of ["News <news@bench.example>", "<a@b.example>", "first.last+tag@mail-1.example", "Jane Q Doe<j_d@x.example>"])
      expect(simpleMailbox(t)).toEqual(parseAddressListGeneral(t));
    for (const t of [
      '"News" <a@b.example>',
      "News  <a@b.example>",
      "a@b.example (c)",
      "=?utf-8?q?x?= <a@b.example>",
      "a.@b.example",
      "a@b.example.",
    ])
      expect(simpleMailbox(t)).toBeUndefined();
  });
});
