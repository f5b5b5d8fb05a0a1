/**
 * Writing header fields safely: no input can add a line break, and long fields fold at 78 columns
 * (RFC 5322 2.1.1, 2.2.3).
 */

/**
 * What no written header value may hold (one rule for every field msgauth writes:
 * Authentication-Results, Received-SPF, ARC-Authentication-Results): C0 controls (CR, LF, NUL...),
 * DEL, C1 controls (NEL), the line and paragraph separators U+2028 and U+2029, bidi embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069), the bidi marks U+200E, U+200F, U+061C, and
 * the BOM U+FEFF. Line breaks a reader could follow, or text that draws in another order than it reads.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/**
 * Drops the characters in UNSAFE from a value to be written in a header field; tab, U+2028 and
 * U+2029 become a space (they separate words). What any written value must pass.
 */
export function stripControls(text: string): string {
  if (!UNSAFE.test(text)) return text;
  let out = "";
  for (const ch of text) {
    if (ch === "\t" || ch === "\u2028" || ch === "\u2029") out += " ";
    else if (!UNSAFE.test(ch)) out += ch;
  }
  return out;
}

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
/** RFC 2045 token characters: what an A-R/Received-SPF value may be without quotes. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

/** A dot-atom stays as it is; anything else becomes a quoted-string with \ and " escaped. */
export function quoteIfNeeded(value: string, allow: "dot-atom" | "token" = "dot-atom"): string {
  const clean = stripControls(value);
  const plain = allow === "token" ? TOKEN.test(clean) : clean.length > 0 && clean.split(".").every((part) => ATEXT.test(part));
  if (plain) return clean;
  return `"${clean.replace(/(["\\])/g, "\\$1")}"`;
}

/** Text for inside a comment: controls dropped, parentheses and backslashes escaped. */
export function commentText(text: string): string {
  return stripControls(text).replace(/([()\\])/g, "\\$1");
}

/**
 * Joins the pieces of a field body with single spaces, breaking lines before a piece that would pass
 * `width` columns. Pieces are never split, so a piece longer than a line stands on its own line.
 */
export function foldField(name: string, pieces: string[], width = 78): string {
  let out = `${name}:`;
  let lineLen = out.length;
  for (const piece of pieces) {
    if (piece === "") continue;
    if (lineLen + 1 + piece.length > width && lineLen > name.length + 1) {
      out += `\r\n\t${piece}`;
      lineLen = 8 + piece.length; // a tab counts as up to 8 columns
    } else {
      out += ` ${piece}`;
      lineLen += 1 + piece.length;
    }
  }
  return out;
}

/** Breaks text into word pieces for foldField, so that long comments can fold between words. */
export function words(text: string): string[] {
  return text.split(" ").filter((w) => w !== "");
}
