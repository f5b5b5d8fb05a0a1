import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTagList, type Tag, type TagList } from "../../src/dkim/tags.js";

// parseTagList as it was before issue 19's changes (one search for an invalid character per value,
// has() then set()): the reference the current one must agree with, result for result.
const INVALID_VALUE_CHAR = /[^\x21-\x3a\x3c-\x7e\x80-\xff \t\r\n]/g;

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Parses a tag-list. Tag names are ALPHA *(ALPHA / DIGIT / "_"), compared case-sensitively as the RFC
 * says; a repeated tag is an error (3.2: "Tags with duplicate names MUST NOT occur"); values hold
 * %x21-3A / %x3C-7E, 8-bit bytes (RFC 8616) and white space. Linear: one pass, with at most one regular-expression search
 * (for the first invalid value character). Positions are offset + the index in text; parsing starts
 * at index `from`.
 */
function referenceTagList(text: string, offset = 0, from = 0): TagList {
  const tags = new Map<string, Tag>();
  let i = from;
  let nextBad = -1;
  const n = text.length;
  while (i < n) {
    while (i < n && isWsp(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
      if (alpha || (i > nameStart && ((c >= 0x30 && c <= 0x39) || c === 0x5f))) i++;
      else break;
    }
    const name = text.slice(nameStart, i);
    if (name === "") return { ok: false, reason: `expected a tag name at ${offset + nameStart}` };
    while (i < n && isWsp(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 0x3d) return { ok: false, reason: `expected '=' after tag '${name}' at ${offset + i}` };
    i++;
    const rawStart = i;
    // The value runs to the next ';' (native search); INVALID_VALUE_CHAR checks its characters.
    let semi = text.indexOf(";", i);
    if (semi < 0) semi = n;
    if (nextBad < i) {
      // Searched at most once per parse: a bad character inside a value ends it, and one beyond
      // stays the answer until a value reaches it.
      INVALID_VALUE_CHAR.lastIndex = i;
      nextBad = INVALID_VALUE_CHAR.exec(text)?.index ?? n;
    }
    if (nextBad < semi) return { ok: false, reason: `invalid character in tag '${name}' at ${offset + nextBad}` };
    while (i < semi && isWsp(text.charCodeAt(i))) i++;
    const valueStart = i;
    let valueEnd = semi;
    while (valueEnd > valueStart && isWsp(text.charCodeAt(valueEnd - 1))) valueEnd--;
    i = semi;
    if (tags.has(name)) return { ok: false, reason: `tag '${name}' appears twice (RFC 6376 3.2)` };
    tags.set(name, {
      value: text.slice(valueStart, valueEnd),
      start: offset + valueStart,
      end: offset + valueEnd,
      rawStart: offset + rawStart,
      rawEnd: offset + i,
    });
    if (text.charCodeAt(i) === 0x3b) i++;
  }
  return { ok: true, tags };
}

const plain = (r: TagList) => (r.ok ? { ok: true, tags: [...r.tags] } : r);

/** Tag-list text weighted towards its structure, white space, and characters a value may not hold. */
const tagText = fc
  .array(
    fc.constantFrom(
      "v",
      "a",
      "bh",
      "b",
      "x_1",
      "=",
      ";",
      " ",
      "\t",
      "\r\n ",
      "1",
      "rsa-sha256",
      "abc/+=",
      "\x00",
      "\x7f",
      "\x0b",
      "\xe9",
      "\u0100",
      ":",
      "9",
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(""));

describe("parseTagList agrees with the previous parser", () => {
  it("the same tags (values and offsets) or the same error, for any text, offset and start", () => {
    fc.assert(
      fc.property(tagText, fc.nat(40), fc.nat(5), (text, offset, from) => {
        expect(plain(parseTagList(text, offset, from))).toEqual(plain(referenceTagList(text, offset, from)));
      }),
      { numRuns: 5000 },
    );
  });
});
