/**
 * DKIM tag=value lists (RFC 6376 3.2), used by DKIM-Signature, key records and ARC. The text is read
 * as latin1, one character a byte, so positions index the raw header bytes exactly.
 */

export interface Tag {
  /** The value with surrounding white space trimmed (inner FWS kept). */
  value: string;
  /** Offsets of the value in the parsed text: [start, end). */
  start: number;
  end: number;
  /** Offsets from just after '=' to the ';' or the end, white space included (RFC 6376 3.7). */
  rawStart: number;
  rawEnd: number;
}

export type TagList = { ok: true; tags: Map<string, Tag> } | { ok: false; reason: string };

/**
 * What a tag value may not hold: anything but VALCHAR (%x21-3A / %x3C-7E; the ";" that ends a value is
 * never inside one, so it is not searched for), white space, and 8-bit
 * bytes (the text is the field's bytes as latin1). RFC 8616 4 and ARC 4.1.4 allow UTF-8 (U-labels in
 * d= and s=, UTF-8 in i=) in internationalized headers; each tag's own syntax still applies (base64,
 * algorithm names, field names refuse them), and d=/s= must be valid UTF-8 IDNs.
 */
const INVALID_VALUE_CHAR = /[^\x21-\x7e\x80-\xff \t\r\n]/g;

/**
 * Text with no character INVALID_VALUE_CHAR finds, from lastIndex to the end (sticky; one
 * quantifier, linear). One match of this is cheaper than the search: a usual list, with nothing
 * invalid, is checked with it once and needs no search at all.
 */
const ALL_VALID_FROM = /[\x21-\x7e\x80-\xff \t\r\n]*$/y;

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
export function parseTagList(text: string, offset = 0, from = 0): TagList {
  const tags = new Map<string, Tag>();
  let i = from;
  const n = text.length;
  ALL_VALID_FROM.lastIndex = from;
  // Where the next invalid character is (searched only when a value reaches it); none at all here.
  let nextBad = ALL_VALID_FROM.test(text) ? n : -1;
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
      // stays the answer until a value reaches it. (';' is not searched for: a value ends at the
      // first one, so none is ever inside a value.) test(), not exec(): no match object; the match
      // is one character, just before lastIndex.
      INVALID_VALUE_CHAR.lastIndex = i;
      nextBad = INVALID_VALUE_CHAR.test(text) ? INVALID_VALUE_CHAR.lastIndex - 1 : n;
    }
    if (nextBad < semi) return { ok: false, reason: `invalid character in tag '${name}' at ${offset + nextBad}` };
    while (i < semi && isWsp(text.charCodeAt(i))) i++;
    const valueStart = i;
    let valueEnd = semi;
    while (valueEnd > valueStart && isWsp(text.charCodeAt(valueEnd - 1))) valueEnd--;
    i = semi;
    const size = tags.size;
    tags.set(name, {
      value: text.slice(valueStart, valueEnd),
      start: offset + valueStart,
      end: offset + valueEnd,
      rawStart: offset + rawStart,
      rawEnd: offset + i,
    });
    // One lookup, not has() then set(): a name already there leaves the size as it was.
    if (tags.size === size) return { ok: false, reason: `tag '${name}' appears twice (RFC 6376 3.2)` };
    if (text.charCodeAt(i) === 0x3b) i++;
  }
  return { ok: true, tags };
}

const HAS_WSP = /[ \t\r\n]/;
const WSP_RUNS = /[ \t\r\n]+/g;

/** Removes all white space (FWS inside base64 and h= lists). */
export function stripWsp(value: string): string {
  return HAS_WSP.test(value) ? value.replace(WSP_RUNS, "") : value;
}

/** Strict base64: only the alphabet, padding at the end, a length that is a multiple of 4. */
export function decodeBase64(value: string): Uint8Array | undefined {
  return decodeBase64Text(stripWsp(value));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** decodeBase64 for text already without white space. */
export function decodeBase64Text(s: string): Uint8Array | undefined {
  const bytes = decodeBase64Buffer(s);
  return bytes && new Uint8Array(bytes);
}

/**
 * decodeBase64Text as a Buffer, not copied out (small ones are slices of Node's shared pool): for
 * the signature and body hash parseSignature hands to crypto. The copy cost about 1 us a signature.
 */
export function decodeBase64Buffer(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !BASE64.test(s)) return undefined;
  return Buffer.from(s, "base64");
}

/**
 * decodeBase64Buffer for text read as latin1 (every character one byte, as parseUsualSignature reads
 * a field), with the same answers, checked after Node's native decode instead of by BASE64 (about
 * 0.18 us less for a 2048-bit b=). A string whose length is a multiple of 4 holds only base64
 * characters and at most two '=' at its end exactly when the decoder gives all its bytes (length*3/4
 * less the padding): any other character is skipped or stops the decoder, which then gives fewer
 * bytes; base64url's '-' and '_', which the decoder also takes, are looked for. Not for text with
 * characters above 0xFF (the decoder reads those by their low byte).
 * test/dkim/base64-native.test.ts holds it to decodeBase64Buffer on random and mutated text.
 */
export function decodeBase64Latin1(s: string): Buffer | undefined {
  const n = s.length;
  if (n % 4 !== 0) return undefined;
  const bytes = Buffer.from(s, "base64");
  let expected = (n >> 2) * 3;
  if (n > 0 && s.charCodeAt(n - 1) === 0x3d) expected -= s.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  if (bytes.length !== expected || s.indexOf("-") >= 0 || s.indexOf("_") >= 0) return undefined;
  return bytes;
}
