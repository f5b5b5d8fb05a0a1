/** Limits on report XML before it reaches the XML parser. */
export interface XmlLimits {
  /** Deepest element nesting. Default 16 (reports need 6). */
  maxDepth: number;
  /** Longest single tag, bytes (bounds attribute counts). Default 4096. */
  maxTagBytes: number;
  /** Most elements in the document. Default 50,000,000. */
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 16, maxTagBytes: 4096, maxElements: 50_000_000 };

export type XmlGuardError = { code: "dtd" | "entity" | "nesting" | "malformed-xml"; message: string };

const PREDEFINED = new Set(["amp", "lt", "gt", "quot", "apos"]);

/** Counts the characters the guard examines (tests check it stays linear in the input). */
export interface ScanMeter {
  steps: number;
  /** Set by the scan: the first element's start tag (the root), e.g. for its namespace. */
  root?: string;
}

/**
 * One linear pass over the XML text: refuses a DTD (so no entity can be declared: no billion laughs,
 * no external entities), references to undeclared entities, nesting deeper than the limit, and
 * oversized tags (huge attribute lists). What passes goes to the parser with entity processing off.
 * Every search starts where the previous one of its kind stopped, so each character is examined a
 * bounded number of times (`meter`, when given, counts them).
 */
export function guardXml(text: string, limits: XmlLimits, meter?: ScanMeter): XmlGuardError | undefined {
  const n = text.length;
  // indexOf from `from`, counting the characters it spans.
  const find = (needle: string, from: number): number => {
    const at = text.indexOf(needle, from);
    if (meter) meter.steps += (at < 0 ? n : at) - from;
    return at;
  };
  // The next "&" at or after the scan position, found once and reused: each "&" is searched for once.
  let amp = -1;
  let ampFrom = 0;
  const badEntityIn = (from: number, to: number): XmlGuardError | undefined => {
    for (;;) {
      if (amp < from) {
        if (ampFrom === -1) return undefined; // no "&" left in the text
        amp = find("&", Math.max(from, ampFrom));
        if (amp < 0) {
          ampFrom = -1;
          return undefined;
        }
        ampFrom = amp + 1;
      }
      if (amp >= to) return undefined;
      const bad = entityAt(text, amp, to);
      if (bad) return bad;
      from = amp + 1;
    }
  };
  let depth = 0;
  let elements = 0;
  let i = find("<", 0);
  let textStart = 0;
  while (i >= 0 && i < n) {
    const bad = badEntityIn(textStart, i);
    if (bad) return bad;
    const c = text[i + 1];
    if (c === "!") {
      if (text.startsWith("<!--", i)) {
        const e = find("-->", i + 4);
        if (e < 0) return { code: "malformed-xml", message: "unterminated comment" };
        i = e + 3;
      } else if (text.startsWith("<![CDATA[", i)) {
        const e = find("]]>", i + 9);
        if (e < 0) return { code: "malformed-xml", message: "unterminated CDATA section" };
        i = e + 3;
      } else return { code: "dtd", message: `a DTD or declaration (<!...) at offset ${i}: refused` };
    } else if (c === "?") {
      const e = find("?>", i + 2);
      if (e < 0) return { code: "malformed-xml", message: "unterminated processing instruction" };
      i = e + 2;
    } else {
      // A tag: find its end outside quoted attribute values.
      let j = i + 1;
      let quote = "";
      for (; j < n; j++) {
        if (meter) meter.steps++;
        const ch = text[j];
        if (quote) {
          if (ch === quote) quote = "";
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === ">") break;
        if (j - i > limits.maxTagBytes)
          return { code: "malformed-xml", message: `a tag longer than ${limits.maxTagBytes} bytes at offset ${i}` };
      }
      if (j >= n) return { code: "malformed-xml", message: `unterminated tag at offset ${i}` };
      const bad2 = badEntityIn(i, j);
      if (bad2) return bad2;
      if (c === "/") depth--;
      else if (text[j - 1] !== "/") {
        if (meter && meter.root === undefined) meter.root = text.slice(i, j + 1);
        depth++;
        elements++;
        if (depth > limits.maxDepth) return { code: "nesting", message: `elements nested deeper than ${limits.maxDepth}` };
        if (elements > limits.maxElements) return { code: "nesting", message: `more than ${limits.maxElements} elements` };
      } else elements++;
      if (depth < 0) return { code: "malformed-xml", message: `a closing tag without an opening one at offset ${i}` };
      i = j + 1;
    }
    textStart = i;
    i = find("<", i);
  }
  return badEntityIn(textStart, n);
}

const CHAR_REF = /^#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6})$/;

/** The entity reference at text[a] ("&"), read within at most 12 characters before `to`: only the
 * five predefined ones and character references. */
function entityAt(text: string, a: number, to: number): XmlGuardError | undefined {
  const window = text.slice(a + 1, Math.min(a + 13, to)); // bounded: no rescans on "&&&&..."
  const semi = window.indexOf(";");
  const name = semi >= 0 ? window.slice(0, semi) : "";
  if (PREDEFINED.has(name) || CHAR_REF.test(name)) return undefined;
  return { code: "entity", message: `an entity reference other than the predefined ones at offset ${a}: refused` };
}

/** Replaces the predefined entities and character references (the parser runs with entities off). */
export function decodeXmlText(s: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : "";
    }
    return ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}
