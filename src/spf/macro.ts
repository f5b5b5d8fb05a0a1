/**
 * SPF macros (RFC 7208 7). A macro-string is parsed once into parts, checked for syntax when the
 * record is parsed (a syntax error anywhere is a permerror, 4.6), and expanded during evaluation.
 */

export type MacroLetter = "s" | "l" | "o" | "d" | "i" | "p" | "h" | "c" | "r" | "t" | "v";

export type MacroPart =
  | { kind: "literal"; text: string }
  | { kind: "macro"; letter: MacroLetter; upper: boolean; digits: number | undefined; reverse: boolean; delimiters: string };

export type MacroParse =
  | { ok: true; parts: MacroPart[] /** the last element is a macro-expand (%{..}, %%, %_, %-) */; endsWithExpand: boolean }
  | { ok: false; reason: string };

const LETTERS = "slodiphcrtv";
const EXP_ONLY = new Set(["c", "r", "t"]);
const DELIMITERS = ".-+,/_=";

/**
 * Parses a macro-string. `explain` allows the exp-only letters c, r, t and spaces (explain-string,
 * RFC 7208 7.1). Linear scan; no regular expressions.
 */
export function parseMacroString(text: string, explain = false): MacroParse {
  const parts: MacroPart[] = [];
  let literal = "";
  let endsWithExpand = false;
  const flush = () => {
    if (literal) parts.push({ kind: "literal", text: literal });
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (c !== "%") {
      // macro-literal = %x21-24 / %x26-7E; an explain-string may also hold SP.
      if ((code >= 0x21 && code <= 0x7e) || (explain && c === " ")) {
        literal += c;
        endsWithExpand = false;
        continue;
      }
      return { ok: false, reason: `character ${JSON.stringify(c)} not allowed at ${i}` };
    }
    const next = text[i + 1];
    endsWithExpand = true;
    if (next === "%") {
      literal += "%";
      i++;
    } else if (next === "_") {
      literal += " ";
      i++;
    } else if (next === "-") {
      literal += "%20";
      i++;
    } else if (next === "{") {
      const close = text.indexOf("}", i + 2);
      if (close < 0) return { ok: false, reason: `unterminated macro at ${i}` };
      const body = text.slice(i + 2, close);
      const letterChar = body[0];
      if (!letterChar || !LETTERS.includes(letterChar.toLowerCase())) {
        return { ok: false, reason: `unknown macro letter in %{${body}}` };
      }
      const letter = letterChar.toLowerCase() as MacroLetter;
      if (!explain && EXP_ONLY.has(letter)) return { ok: false, reason: `%{${letterChar}} is allowed only in exp= text` };
      let j = 1;
      let digitText = "";
      while (j < body.length && body[j]! >= "0" && body[j]! <= "9") digitText += body[j++];
      let reverse = false;
      if (body[j] === "r" || body[j] === "R") {
        reverse = true;
        j++;
      }
      const delimiters = body.slice(j);
      for (const d of delimiters) {
        if (!DELIMITERS.includes(d)) return { ok: false, reason: `invalid delimiter ${JSON.stringify(d)} in %{${body}}` };
      }
      let digits: number | undefined;
      if (digitText) {
        digits = Number(digitText);
        // 7.3: "If a DIGIT is specified, the value MUST be nonzero."
        if (digits === 0) return { ok: false, reason: `zero transformer in %{${body}}` };
      }
      flush();
      parts.push({ kind: "macro", letter, upper: letterChar !== letter, digits, reverse, delimiters: delimiters || "." });
      i = close;
    } else {
      return { ok: false, reason: `invalid macro %${next ?? ""} at ${i}` };
    }
  }
  flush();
  return { ok: true, parts, endsWithExpand };
}

/** Values the macros expand to; `p` is computed lazily because it costs DNS lookups. */
export interface MacroValues {
  s: string;
  l: string;
  o: string;
  d: string;
  i: string;
  h: string;
  c: string;
  r: string;
  t: string;
  v: string;
  p: () => Promise<string>;
}

/** RFC 3986 unreserved characters stay; everything else is %-escaped as UTF-8 (7.3). */
function urlEscape(s: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(s)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function transform(value: string, part: Extract<MacroPart, { kind: "macro" }>): string {
  if (part.digits === undefined && !part.reverse && part.delimiters === ".") return value;
  const pieces: string[] = [];
  let cur = "";
  for (const ch of value) {
    if (part.delimiters.includes(ch)) {
      pieces.push(cur);
      cur = "";
    } else cur += ch;
  }
  pieces.push(cur);
  if (part.reverse) pieces.reverse();
  const kept = part.digits !== undefined && part.digits < pieces.length ? pieces.slice(pieces.length - part.digits) : pieces;
  return kept.join(".");
}

export async function expandMacro(parts: MacroPart[], values: MacroValues): Promise<string> {
  let out = "";
  for (const part of parts) {
    if (part.kind === "literal") {
      out += part.text;
      continue;
    }
    const raw = part.letter === "p" ? await values.p() : values[part.letter];
    const value = transform(raw, part);
    out += part.upper ? urlEscape(value) : value;
  }
  return out;
}

export function hasMacro(parts: MacroPart[], letter: MacroLetter): boolean {
  return parts.some((p) => p.kind === "macro" && p.letter === letter);
}
