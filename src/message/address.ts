import punycode from "punycode/punycode.js";
import { readQuotedString, skipComment } from "./comment.js";
import { decodeEncodedWords } from "./encoded-word.js";

/** One mailbox from an address header. */
export interface Mailbox {
  /** Display name, encoded words decoded, or undefined. */
  name?: string;
  /** Local part as written (quotes removed from a quoted-string, escapes resolved). */
  local: string;
  /** Domain as written (may be Unicode, a domain literal, or empty when the address has none). */
  domain: string;
  /** local@domain, as written. */
  address: string;
  /** The group this mailbox was listed in, if any. */
  group?: string;
}

export type AddressListResult = { ok: true; mailboxes: Mailbox[]; groups: number } | { ok: false; error: string; position: number };

type Tok =
  | { t: "atom"; v: string; pos: number }
  | { t: "quoted"; v: string; pos: number }
  | { t: "literal"; v: string; pos: number }
  | { t: "special"; v: string; pos: number };

const SPECIALS = '<>@,;:.[]\\"()';
/** SPECIALS by character code (an includes() per character was about half the lexer's time). */
const IS_SPECIAL = (() => {
  const t = new Uint8Array(128);
  for (const ch of SPECIALS) t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** Splits an unfolded address header into tokens, skipping comments (nested) and white space. */
function lex(text: string): Tok[] | { error: string; position: number } {
  const toks: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "(") {
      const end = skipComment(text, i);
      if (end < 0) return { error: "unbalanced comment", position: i };
      i = end;
      continue;
    }
    if (c === '"') {
      const q = readQuotedString(text, i, true);
      if (!q) return { error: "unterminated quoted string", position: i };
      toks.push({ t: "quoted", v: q.value, pos: i });
      i = q.end;
      continue;
    }
    if (c === "[") {
      const start = i;
      const close = text.indexOf("]", i);
      if (close < 0) return { error: "unterminated domain literal", position: start };
      const inner = text.slice(i + 1, close);
      if (/[[\\]/.test(inner)) return { error: "invalid domain literal", position: start };
      toks.push({ t: "literal", v: `[${inner.replace(/\s+/g, "")}]`, pos: start });
      i = close + 1;
      continue;
    }
    const cc = c.charCodeAt(0);
    if (cc < 0x80 && IS_SPECIAL[cc] === 1) {
      if (c === ")" || c === "]" || c === "\\") return { error: `unexpected '${c}'`, position: i };
      toks.push({ t: "special", v: c, pos: i });
      i++;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 0x20 || d === 0x09 || d === 0x0d || d === 0x0a || (d < 0x80 && IS_SPECIAL[d] === 1)) break;
      if (d < 0x20 || d === 0x7f) return { error: "control character", position: i };
      i++;
    }
    toks.push({ t: "atom", v: text.slice(start, i), pos: start });
  }
  return toks;
}

class Parser {
  i = 0;
  constructor(
    readonly toks: Tok[],
    readonly end: number,
  ) {}
  peek(offset = 0): Tok | undefined {
    return this.toks[this.i + offset];
  }
  isSpecial(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.t === "special" && t.v === v;
  }
  pos(): number {
    return this.peek()?.pos ?? this.end;
  }
}

class AddressError {
  constructor(
    readonly error: string,
    readonly position: number,
  ) {}
}

/** phrase: words (atoms or quoted strings), with obs-phrase's '.' allowed. */
function phrase(p: Parser): Tok[] | undefined {
  const words: Tok[] = [];
  for (;;) {
    const t = p.peek();
    if (!t) break;
    if (t.t === "atom" || t.t === "quoted" || (t.t === "special" && t.v === "." && words.length > 0)) words.push(t);
    else break;
    p.i++;
  }
  return words.length === 0 ? undefined : words;
}

const WHOLE_ENCODED_WORD = /^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=$/;

/**
 * The display text of a phrase: encoded words decoded in atoms only (RFC 2047 5(3)), quoted strings
 * unquoted, and no space between two adjacent encoded words (RFC 2047 6.2).
 */
function displayText(words: Tok[]): string {
  let out = "";
  let prevEncoded = false;
  for (const w of words) {
    if (w.t === "special") {
      out += "."; // obs-phrase: "Dr. Who" keeps its dot and the space after it
      prevEncoded = false;
      continue;
    }
    const encoded = w.t === "atom" && WHOLE_ENCODED_WORD.test(w.v);
    const text = w.t === "atom" ? decodeEncodedWords(w.v) : w.v;
    if (out !== "" && !(encoded && prevEncoded)) out += " ";
    out += text;
    prevEncoded = encoded;
  }
  return out.trim();
}

/** local-part "@" domain, with obs-local-part (dotted words) accepted. */
function addrSpec(p: Parser, requireDomain: boolean): { local: string; domain: string } {
  const start = p.pos();
  let local = "";
  let expectWord = true;
  for (;;) {
    const t = p.peek();
    if (!t) break;
    if (expectWord && (t.t === "atom" || t.t === "quoted")) {
      local +=
        t.t === "quoted"
          ? /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+$/.test(t.v)
            ? t.v
            : `"${t.v.replace(/(["\\])/g, "\\$1")}"`
          : t.v;
      expectWord = false;
    } else if (!expectWord && t.t === "special" && t.v === ".") {
      local += ".";
      expectWord = true;
    } else break;
    p.i++;
  }
  if (local === "" || expectWord) throw new AddressError("invalid local part", start);
  if (!p.isSpecial("@")) {
    if (requireDomain) throw new AddressError("missing '@' and domain", p.pos());
    return { local, domain: "" };
  }
  p.i++;
  const domStart = p.pos();
  const first = p.peek();
  if (first?.t === "literal") {
    p.i++;
    return { local, domain: first.v };
  }
  let domain = "";
  expectWord = true;
  for (;;) {
    const t = p.peek();
    if (!t) break;
    if (expectWord && t.t === "atom") {
      domain += t.v;
      expectWord = false;
    } else if (!expectWord && t.t === "special" && t.v === ".") {
      domain += ".";
      expectWord = true;
    } else break;
    p.i++;
  }
  if (domain === "" || expectWord) throw new AddressError("invalid domain", domStart);
  return { local, domain };
}

/** angle-addr: "<" [obs-route] addr-spec ">" */
function angleAddr(p: Parser): { local: string; domain: string } {
  p.i++; // "<"
  // obs-route: "@a,@b:" before the address; accepted and ignored (RFC 5322 4.4).
  if (p.isSpecial("@")) {
    while (p.peek() && !p.isSpecial(":")) {
      if (p.isSpecial(">")) throw new AddressError("invalid route", p.pos());
      p.i++;
    }
    if (!p.isSpecial(":")) throw new AddressError("invalid route", p.pos());
    p.i++;
  }
  const spec = addrSpec(p, true);
  if (!p.isSpecial(">")) throw new AddressError("expected '>'", p.pos());
  p.i++;
  return spec;
}

function mailbox(p: Parser, group: string | undefined): Mailbox {
  const start = p.i;
  const mk = (name: string | undefined, s: { local: string; domain: string }): Mailbox => {
    const m: Mailbox = { local: s.local, domain: s.domain, address: s.domain ? `${s.local}@${s.domain}` : s.local };
    if (name !== undefined && name !== "") m.name = name;
    if (group !== undefined) m.group = group;
    return m;
  };
  if (p.isSpecial("<")) return mk(undefined, angleAddr(p));
  const name = phrase(p);
  if (p.isSpecial("<")) return mk(name === undefined ? undefined : displayText(name), angleAddr(p));
  p.i = start;
  return mk(undefined, addrSpec(p, true));
}

/**
 * Parses an address-list (RFC 5322 3.4: mailboxes and groups) from an unfolded header value.
 * Linear in the input. Empty list elements (obs-addr-list's ",,") are skipped.
 */
export function parseAddressList(value: string): AddressListResult {
  return simpleMailbox(value) ?? parseAddressListGeneral(value);
}

/** Plain ASCII letters and digits (display-name words; labels and local parts add "-", "_", "+", "."). */
function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/**
 * The end of a dot-separated run of words of `extra`-extended alphanumerics from `i` (no dot first,
 * last or doubled), or -1 when there is none.
 */
function dottedRun(text: string, i: number, extra: (c: number) => boolean): number {
  let j = i;
  let dot = true; // no dot may come first
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x2e) {
      if (dot) return -1;
      dot = true;
    } else if (isAlnum(c) || extra(c)) dot = false;
    else break;
  }
  return dot ? -1 : j;
}

const localExtra = (c: number) => c === 0x2d || c === 0x5f || c === 0x2b; // - _ +
const domainExtra = (c: number) => c === 0x2d || c === 0x5f; // - _

/**
 * The usual From value, `Name Words <local@domain>`, `<local@domain>` or `local@domain`, in plain
 * ASCII (letters, digits, single spaces between name words; "-", "_", "+" and single dots in the
 * address): the mailbox the general parser makes of it, without its tokens and parser (parseAuthor
 * of the bench's From: 1.55 -> 1.1 us of CPU). Anything else, or anything unsure, is undefined: the general parser
 * decides. test/message/fast-paths.test.ts holds it to the general parser on generated and
 * mutated From values.
 */
export function simpleMailbox(text: string): AddressListResult | undefined {
  const n = text.length;
  let i = 0;
  let name: string | undefined;
  const lt = text.indexOf("<");
  if (lt >= 0) {
    if (text.charCodeAt(n - 1) !== 0x3e) return undefined; // ">" last
    if (lt > 0) {
      // Words of letters and digits, one space between them, at most one space before "<".
      const end = text.charCodeAt(lt - 1) === 0x20 ? lt - 1 : lt;
      if (end === 0) return undefined;
      for (let j = 0; j < end; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x20) {
          if (j === 0 || text.charCodeAt(j - 1) === 0x20 || j === end - 1) return undefined;
        } else if (!isAlnum(c)) return undefined;
      }
      name = text.slice(0, end);
    }
    i = lt + 1;
  }
  const at = dottedRun(text, i, localExtra);
  if (at < 0 || text.charCodeAt(at) !== 0x40) return undefined; // "@"
  const end = dottedRun(text, at + 1, domainExtra);
  if (end !== (lt >= 0 ? n - 1 : n)) return undefined;
  const local = text.slice(i, at);
  const domain = text.slice(at + 1, end);
  const m: Mailbox = { local, domain, address: `${local}@${domain}` };
  if (name !== undefined) m.name = name;
  return { ok: true, mailboxes: [m], groups: 0 };
}

/** parseAddressList without the shortcut for the usual From (exported for the tests that compare them). */
export function parseAddressListGeneral(value: string): AddressListResult {
  const toks = lex(value);
  if (!Array.isArray(toks)) return { ok: false, ...toks };
  const p = new Parser(toks, value.length);
  const mailboxes: Mailbox[] = [];
  let groups = 0;
  try {
    while (p.peek()) {
      if (p.isSpecial(",")) {
        p.i++;
        continue;
      }
      // group: display-name ":" [mailbox-list] ";"
      const save = p.i;
      const name = phrase(p);
      if (name !== undefined && p.isSpecial(":")) {
        p.i++;
        groups++;
        const groupName = displayText(name);
        while (p.peek() && !p.isSpecial(";")) {
          if (p.isSpecial(",")) {
            p.i++;
            continue;
          }
          mailboxes.push(mailbox(p, groupName));
          if (!p.isSpecial(",") && !p.isSpecial(";")) throw new AddressError("expected ',' or ';' in group", p.pos());
        }
        if (!p.isSpecial(";")) throw new AddressError("group without ';'", p.pos());
        p.i++;
      } else {
        p.i = save;
        mailboxes.push(mailbox(p, undefined));
      }
      if (p.peek() && !p.isSpecial(",")) throw new AddressError("expected ','", p.pos());
    }
  } catch (err) {
    if (err instanceof AddressError) return { ok: false, error: err.error, position: err.position };
    throw err;
  }
  return { ok: true, mailboxes, groups };
}

/**
 * The ASCII (A-label) form of a domain, lower case, for comparisons and DNS: IDN U-labels are
 * converted with punycode (RFC 5891). Undefined for a domain that cannot be a DNS name.
 */
export function asciiDomain(domain: string): string | undefined {
  // Plain ASCII (the usual case): NFC and punycode leave it as it is, so the name is checked with
  // character codes alone (test/message/address.test.ts holds this to the general path).
  const fast = asciiDomainPlain(domain);
  if (fast !== 0) return fast === 1 ? undefined : fast;
  let d = domain.normalize("NFC").toLowerCase();
  if (d.endsWith(".")) d = d.slice(0, -1);
  if (d === "" || d.length > 253 || d.startsWith("[")) return undefined;
  let ascii: string;
  try {
    ascii = /^[\x00-\x7f]*$/.test(d) ? d : punycode.toASCII(d);
  } catch {
    return undefined;
  }
  if (ascii.length > 253) return undefined;
  for (const label of ascii.split(".")) {
    if (label.length === 0 || label.length > 63) return undefined;
    if (!/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/.test(label)) return undefined;
  }
  return ascii;
}

/**
 * asciiDomain of a name of ASCII characters: the name, 1 (not a DNS name), or 0 when the name holds
 * anything else (the general path decides). Labels of 1 to 63 of [a-z0-9_-] (case-insensitive),
 * no '-' at either end, one trailing dot allowed, at most 253 characters without it.
 */
function asciiDomainPlain(domain: string): string | 0 | 1 {
  let n = domain.length;
  for (let i = 0; i < n; i++) if (domain.charCodeAt(i) >= 0x80) return 0;
  if (n > 0 && domain.charCodeAt(n - 1) === 0x2e) n--; // one trailing dot
  if (n === 0 || n > 253) return 1;
  let label = 0; // length of the label so far
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = domain.charCodeAt(i);
    if (c === 0x2e) {
      if (label === 0 || domain.charCodeAt(i - 1) === 0x2d) return 1;
      label = 0;
      continue;
    }
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c === 0x2d && label > 0))) return 1;
    if (++label > 63) return 1;
  }
  if (label === 0 || domain.charCodeAt(n - 1) === 0x2d) return 1;
  const d = n === domain.length ? domain : domain.slice(0, n);
  return upper ? d.toLowerCase() : d;
}
