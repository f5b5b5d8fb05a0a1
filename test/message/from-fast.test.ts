import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { localShowsMore } from "../../src/message/from.js";

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
