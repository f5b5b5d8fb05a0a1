/**
 * Terminal-safe text. File names, and anything a message controls, may hold ESC sequences, line
 * breaks and bidirectional overrides that would rewrite what a person sees on a terminal or forge
 * lines in a log. Everything the command line prints about an input goes through these.
 */

// C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and the bidi controls
// (ALM, LRM, RLM, LRE..RLO, LRI..PDI) and BOM.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
const UNSAFE_OR_BACKSLASH = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const SHORT: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e" };

function hex(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, "0")}` : `\\u${cp.toString(16).padStart(4, "0")}`;
}

/** Escapes controls, bidi overrides and backslash as `\n`, `\e`, `\x85`, `\u202e`, `\\` (unambiguous). */
export function escapeText(text: string): string {
  return text.replace(UNSAFE_OR_BACKSLASH, (ch) => SHORT[ch] ?? hex(ch));
}

/**
 * A file name for display. A Buffer name (from the file system) that is not valid UTF-8 shows its
 * bytes over 0x7f as `\xNN` rather than U+FFFD, so two different names never print the same.
 */
export function displayName(name: string | Uint8Array): string {
  if (typeof name === "string") return escapeText(name);
  try {
    return escapeText(new TextDecoder("utf-8", { fatal: true }).decode(name));
  } catch {
    let out = "";
    for (const b of name) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : hex(String.fromCharCode(b));
    return out;
  }
}

/**
 * A JSON line that is also terminal-safe: JSON.stringify already escapes C0 controls inside strings;
 * this escapes DEL, C1 and the bidi and line-separator characters as `\uXXXX` too. The value parsed
 * back is unchanged (the escapes only ever fall inside JSON strings: outside them JSON is ASCII).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}
