import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plainTagDomain, tagDomain, tagDomainGeneral } from "../../src/dkim/tag-domain.js";

/** Labels near the edges of the rule: '-' and '_' at either end, 62 to 64 characters, upper case. */
const label = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{0,6}$/),
  fc.constantFrom("a".repeat(62), "b".repeat(63), "c".repeat(64), `-${"d".repeat(61)}`, `${"e".repeat(62)}-`, "_x_", "Ab-Cd"),
);
/** Mostly names of such labels, now and then a character the loop leaves to the general rule. */
const value = fc.oneof(
  { arbitrary: fc.array(label, { maxLength: 6 }).map((ls) => ls.join(".")), weight: 6 },
  { arbitrary: fc.array(label, { minLength: 4, maxLength: 6 }).map((ls) => `${ls.join(".")}.`), weight: 2 },
  // Long names: 253 characters and around it.
  { arbitrary: fc.integer({ min: 250, max: 256 }).map((n) => `${"a".repeat(61)}.`.repeat(5).slice(0, n)), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.constantFrom("\xc3\xbc", "\xfc", " ", "*", "\x00", "\x7f", "..", "/"))
      .map(([ls, odd]) => ls.join(".") + odd),
    weight: 1,
  },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);

describe("tagDomain: the one-loop rule for plain names", () => {
  it("answers as the general rule (U-labels converted, then SUBDOMAINS) for any value", () => {
    let decided = 0;
    fc.assert(
      fc.property(value, fc.boolean(), (v, lowerCase) => {
        const general = tagDomainGeneral(v, lowerCase);
        const plain = plainTagDomain(v, lowerCase);
        if (plain !== null) {
          decided++;
          expect(plain).toBe(general);
        }
        expect(tagDomain(v, { lowerCase })).toBe(general);
      }),
      { numRuns: 20000 },
    );
    expect(decided).toBeGreaterThan(5000); // the property is not vacuous
  });

  it("decides the usual names and their edges, and leaves other characters to the general rule", () => {
    const cases: Array<[string, boolean, string | undefined]> = [
      ["bench.example", true, "bench.example"],
      ["Example.COM.", true, "example.com"],
      ["Example.COM.", false, "Example.COM"],
      ["Sel-1", false, "Sel-1"],
      ["2026._x", false, "2026._x"],
      ["", true, undefined],
      [".", true, undefined],
      ["a..", true, undefined],
      ["a..b", true, undefined],
      ["-a.example", true, undefined],
      ["a-.example", true, undefined],
      [`${"a".repeat(63)}.example`, true, `${"a".repeat(63)}.example`],
      [`${"a".repeat(64)}.example`, true, undefined],
    ];
    for (const [v, lowerCase, want] of cases) {
      expect(plainTagDomain(v, lowerCase)).toBe(want);
      expect(tagDomainGeneral(v, lowerCase)).toBe(want);
    }
    for (const v of ["b\xc3\xbccher.example", "s el", "a*b"]) expect(plainTagDomain(v, true)).toBeNull();
    expect(tagDomain("b\xc3\xbccher.example", { lowerCase: true })).toBe("xn--bcher-kva.example");
  });
});
