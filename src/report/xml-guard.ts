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

/**
 * One linear pass over the XML text: refuses a DTD (so no entity can be declared: no billion laughs,
 * no external entities), references to undeclared entities, nesting deeper than the limit, and
 * oversized tags (huge attribute lists). What passes goes to the parser with entity processing off.
 */
export function guardXml(text: string, limits: XmlLimits): XmlGuardError | undefined {
  let depth = 0;
  let elements = 0;
  let i = text.indexOf("<");
  const n = text.length;
  let textStart = 0;
  while (i >= 0 && i < n) {
    const bad = badEntity(text, textStart, i);
    if (bad) return bad;
    const c = text[i + 1];
    if (c === "!") {
      if (text.startsWith("<!--", i)) {
        const e = text.indexOf("-->", i + 4);
        if (e < 0) return { code: "malformed-xml", message: "unterminated comment" };
        i = e + 3;
      } else if (text.startsWith("<![CDATA[", i)) {
        const e = text.indexOf("]]>", i + 9);
        if (e < 0) return { code: "malformed-xml", message: "unterminated CDATA section" };
        i = e + 3;
      } else return { code: "dtd", message: `a DTD or declaration (<!...) at offset ${i}: refused` };
    } else if (c === "?") {
      const e = text.indexOf("?>", i + 2);
      if (e < 0) return { code: "malformed-xml", message: "unterminated processing instruction" };
      i = e + 2;
    } else {
      // A tag: find its end outside quoted attribute values.
      let j = i + 1;
      let quote = "";
      for (; j < n; j++) {
        const ch = text[j];
        if (quote) {
          if (ch === quote) quote = "";
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === ">") break;
        if (j - i > limits.maxTagBytes)
          return { code: "malformed-xml", message: `a tag longer than ${limits.maxTagBytes} bytes at offset ${i}` };
      }
      if (j >= n) return { code: "malformed-xml", message: `unterminated tag at offset ${i}` };
      const bad2 = badEntity(text, i, j);
      if (bad2) return bad2;
      if (c === "/") depth--;
      else if (text[j - 1] !== "/") {
        depth++;
        elements++;
        if (depth > limits.maxDepth) return { code: "nesting", message: `elements nested deeper than ${limits.maxDepth}` };
        if (elements > limits.maxElements) return { code: "nesting", message: `more than ${limits.maxElements} elements` };
      } else elements++;
      if (depth < 0) return { code: "malformed-xml", message: `a closing tag without an opening one at offset ${i}` };
      i = j + 1;
    }
    textStart = i;
    i = text.indexOf("<", i);
  }
  return badEntity(text, textStart, n);
}

/** Entity references in text[from, to): only the five predefined ones and character references. */
function badEntity(text: string, from: number, to: number): XmlGuardError | undefined {
  let a = text.indexOf("&", from);
  while (a >= 0 && a < to) {
    const window = text.slice(a + 1, Math.min(a + 13, to)); // bounded: no rescans on "&&&&..."
    const semi = window.indexOf(";");
    const name = semi >= 0 ? window.slice(0, semi) : "";
    if (!(PREDEFINED.has(name) || /^#[0-9]{1,7}$/.test(name) || /^#x[0-9a-fA-F]{1,6}$/.test(name)))
      return { code: "entity", message: `an entity reference other than the predefined ones at offset ${a}: refused` };
    a = text.indexOf("&", a + 1);
  }
  return undefined;
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
