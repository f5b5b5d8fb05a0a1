import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromFieldText, localShowsMore } from "../../src/message/from.js";
import { fieldText } from "../../src/message/header.js";

// parseAuthor's local-part check runs on every From (issue 19): the one-pass check must decide as the
// expression it replaced.
const reference = (local: string) =>
  local.includes("@") || local.includes("=?") || (!/^[\x20-\x7e]*$/.test(local) && /[\p{Cc}\p{Cf}]/u.test(local));

describe("localShowsMore decides as the expression it replaced", () => {
  it("for any text", () => {
    const piece = fc.oneof(
      fc.constantFrom("@", "=", "?", "=?", "?=", "a", "Z", " ", "~", "\x7f", "\x1f", "\t", "\0", "\u00ad", "\u200b", "\u202e"),
      fc.constantFrom("\u00e9", "\u4f8b", "\ud83d\ude00", "\ud800", "\ufeff", "\u0085", "\u2028", "\u061c"),
      fc.string({ maxLength: 4 }),
      fc.string({ unit: "grapheme", maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const local = pieces.join("");
        expect(localShowsMore(local)).toBe(reference(local));
      }),
      { numRuns: 20000 },
    );
    for (const local of ["", "ceo", "ceo@bank", "a=?b", "a=b?", "=", "?", "a\u200bb", "caf\u00e9", "a\x7fb", "a\tb"])
      expect(localShowsMore(local)).toBe(reference(local));
  });
});

describe("fromFieldText gives fieldText's text", () => {
  it("for any field value, folded or not", () => {
    const piece = fc.oneof(
      fc.constantFrom("\r\n ", "\r\n\t", "\r\n", "\n ", "\n", "\r", " ", "\t", "a@b.example", "<x@y>", "\u00e9", "\u2028"),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const raw = new TextEncoder().encode(`From:${pieces.join("")}`);
        const field = { name: "From", key: "from", raw, colon: 4, malformed: false };
        expect(fromFieldText(field)).toBe(fieldText(field));
      }),
      { numRuns: 20000 },
    );
  });
});
