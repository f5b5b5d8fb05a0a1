import { MsgauthError } from "../errors.js";
import { commentText, foldField, stripControls } from "../message/fold.js";

/** One property: ptype.property=value (RFC 8601 2.3), e.g. header.d=example.com. */
export interface AuthResProperty {
  ptype: "smtp" | "header" | "body" | "policy" | string;
  property: string;
  value: string;
}

/** One method result: method=result, with an optional reason, comment and properties. */
export interface AuthResEntry {
  method: string;
  /** Method version, written as method/version. */
  version?: number;
  result: string;
  reason?: string;
  /** Free text, written as a comment after the result. */
  comment?: string;
  props: AuthResProperty[];
}

/**
 * A field formatAuthResults was given that RFC 8601's grammar does not allow where it goes: a method,
 * result, ptype or property that is not a Keyword, a version that is not a number, an authserv-id
 * with control characters. These come from code, not from mail, so it is a programming error.
 */
export class AuthResError extends MsgauthError {
  declare readonly code: "ERR_MSGAUTH_AUTHRES_SYNTAX";
  /** Which field: "authservId", "entries[1].method", "entries[0].props[2].property". */
  readonly path: string;
  constructor(path: string, message: string) {
    super("ERR_MSGAUTH_AUTHRES_SYNTAX", `${path}: ${message}`);
    this.path = path;
  }
}

const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
/** RFC 8601 2.2 Keyword (RFC 5321 Ldh-str: /^[A-Za-z0-9-]*[A-Za-z0-9]$/): method, result, ptype and property. */
const MAX_KEYWORD = 64;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Characters kept of a property value; a longer one is left out (a cut value would be a wrong one). */
export const MAX_AUTHRES_VALUE = 512;
/** Characters kept of a reason or a comment (free text: cut, with "..." at the end). */
export const MAX_AUTHRES_TEXT = 256;

function quoted(value: string): string {
  return `"${stripControls(value).replace(/(["\\])/g, "\\$1")}"`;
}

function bounded(text: string): string {
  return cut(stripControls(text));
}

/** The error for a field that is not a string. */
function notString(path: string, value: unknown): AuthResError {
  return new AuthResError(path, `must be a string, got ${value === null ? "null" : typeof value}`);
}

/**
 * An RFC 8601 Keyword (KEYWORD: letters, digits, inner hyphens, at most 64), checked by character
 * codes; the path of the error (entries[i].what or entries[i].props[k].what) is built only when thrown.
 */
function keyword(value: unknown, what: string, i: number, k?: number): string {
  if (typeof value === "string" && (WRITTEN_KEYWORDS.has(value) || isKeyword(value))) return value;
  const path = k === undefined ? `entries[${i}].${what}` : `entries[${i}].props[${k}].${what}`;
  if (typeof value !== "string") throw notString(path, value);
  throw new AuthResError(path, `${JSON.stringify(value.slice(0, 80))} is not an RFC 8601 Keyword (letters, digits, inner hyphens)`);
}

/**
 * The keywords msgauth's own entries use (methods, results, ptypes, properties): each a valid Keyword
 * (test/authres/format.test.ts checks), found in a Set faster than checked (8 ns against 15).
 */
export const WRITTEN_KEYWORDS: ReadonlySet<string> = new Set([
  ...["iprev", "spf", "dkim", "arc", "dmarc", "auth"],
  ...["pass", "fail", "none", "neutral", "softfail", "temperror", "permerror", "policy"],
  ...["smtp", "header", "body"],
  ...["mailfrom", "helo", "d", "i", "s", "a", "b", "from", "remote-ip", "oldest-pass", "dmarc"],
]);

/**
 * "spf=pass", "dkim=fail"...: the method=result piece of each method and result msgauth's entries
 * write, known to be Keywords: two lookups instead of two checks and a join.
 */
const WRITTEN_HEADS: ReadonlyMap<unknown, ReadonlyMap<unknown, string>> = new Map(
  ["iprev", "spf", "dkim", "arc", "dmarc", "auth"].map((m) => [
    m,
    new Map(["pass", "fail", "none", "neutral", "softfail", "temperror", "permerror", "policy"].map((r) => [r, `${m}=${r}`])),
  ]),
);

/** A Keyword of at most MAX_KEYWORD characters, checked without a regular expression. */
function isKeyword(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_KEYWORD) return false;
  for (let j = 0; j < n; j++) {
    const c = value.charCodeAt(j);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && (c !== 0x2d || j === n - 1)) return false;
  }
  return true;
}

function text(value: unknown, path: string): string {
  if (typeof value !== "string") throw new AuthResError(path, `must be a string, got ${value === null ? "null" : typeof value}`);
  return value;
}

/** Character classes of printable ASCII for pvalue's pass (bits; 0 for anything else). */
const TOKEN_CHAR = 1; // RFC 2045 token: /[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]/
const PLAIN_CHAR = 2; // quoted as it is: printable ASCII but '"' and "\\"
const LOCAL_CHAR = 4; // RFC 5322 atext but "=" (legal in a local part, it ends a word for A-R readers)
const DOMAIN_CHAR = 8; // what a domain begins and ends with: /[A-Za-z0-9_]/
const CHARS = (() => {
  const t = new Uint8Array(128);
  const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const has = (set: string, c: number) => set.includes(String.fromCharCode(c));
  for (let c = 0x20; c < 0x7f; c++)
    if (c !== 0x22 && c !== 0x5c)
      t[c] =
        PLAIN_CHAR |
        (has(`${alnum}!#$%&'*+-.^_\`{|}~`, c) ? TOKEN_CHAR : 0) |
        (has(`${alnum}!#$%&'*+-/?^_\`{|}~`, c) ? LOCAL_CHAR : 0) |
        (has(`${alnum}_`, c) ? DOMAIN_CHAR : 0);
  return t;
})();

/**
 * A property value: a token, or [local-part] "@" domain-name as RFC 8601 2.2 allows, written bare;
 * anything else as a quoted-string. Controls are dropped, so no value can break the field.
 */
export function pvalue(value: string): string {
  // By character code: a token in a tight loop; else one pass for an address or a value quoted as
  // it is (printable ASCII without '"' or "\\"), the local part up to the "@", the domain after it.
  if (isToken(value)) return value; // the usual domain, selector, algorithm or IP: nothing more to look at
  const n = value.length;
  // Up to the first "@": the local part of an address, a dot-atom of LOCAL_CHARs.
  let local = true;
  let dot = true; // at the start or after a dot: no dot first, none doubled, none last
  let j = 0;
  for (; j < n; j++) {
    const c = value.charCodeAt(j);
    if (c === 0x40) break;
    const k = c < 128 ? CHARS[c]! : 0;
    if ((k & PLAIN_CHAR) === 0) return general(value);
    if (c === 0x2e) {
      if (dot) local = false;
      dot = true;
    } else {
      if ((k & LOCAL_CHAR) === 0) local = false;
      dot = false;
    }
  }
  if (j === n) return `"${value}"`; // not a token, no "@", nothing to drop or escape: what quoted() makes of it
  // After the "@" (a second one would be in the local part): the domain.
  let address = (j === 0 || (local && !dot)) && j + 1 < n;
  const start = j + 1;
  for (j = start; j < n; j++) {
    const c = value.charCodeAt(j);
    const k = c < 128 ? CHARS[c]! : 0;
    if ((k & PLAIN_CHAR) === 0) return general(value);
    if ((k & DOMAIN_CHAR) === 0 && ((c !== 0x2e && c !== 0x2d) || j === start || j === n - 1)) address = false; // (and a second "@")
  }
  return address ? value : `"${value}"`;
}

/** pvalue of a value with a character to drop or escape. */
function general(value: string): string {
  const v = stripControls(value);
  if (v !== "" && TOKEN.test(v) && !v.includes("/")) return v; // (a token has no "/")
  const last = v.lastIndexOf("@");
  if (last >= 0 && (last === 0 || isLocalPart(v, 0, last)) && isDomain(v, last + 1, v.length)) return v;
  return quoted(v);
}

/** Whether s[start, end) is a dot-atom local part without "=" (/^[atext]+(?:\.[atext]+)*$/ but "="), by character code. */
function isLocalPart(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  let prevDot = true; // no dot first, none doubled, none last
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (prevDot) return false;
      prevDot = true;
    } else if (c < 128 && CHARS[c]! & LOCAL_CHAR) prevDot = false;
    else return false;
  }
  return !prevDot;
}

/**
 * Whether s[start, end) is a domain as A-R values take it bare,
 * /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/, by character code.
 */
function isDomain(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && CHARS[c]! & DOMAIN_CHAR) continue;
    if ((c !== 0x2e && c !== 0x2d) || i === start || i === end - 1) return false;
  }
  return true;
}

/** TOKEN.test(value), by character code. */
function isToken(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  for (let j = 0; j < n; j++) {
    const c = value.charCodeAt(j);
    if (c >= 128 || (CHARS[c]! & TOKEN_CHAR) === 0) return false;
  }
  return true;
}

/**
 * The authserv-id as written: a token, or a quoted-string (RFC 8601 2.2 value). Throws an
 * AuthResError for one that is empty, longer than 255 characters, or holds control characters.
 */
export function authservIdValue(authservId: unknown): string {
  if (typeof authservId === "string" && authservId.length <= 255 && isToken(authservId)) return authservId; // the usual host name
  const id = text(authservId, "authservId");
  if (id === "" || id.length > 255) throw new AuthResError("authservId", "must be 1 to 255 characters");
  if (CONTROL.test(id)) throw new AuthResError("authservId", "must not contain control characters (CR, LF, NUL...)");
  return TOKEN.test(id) ? id : quoted(id);
}

/**
 * Writes an Authentication-Results field (RFC 8601), folded at 78 columns with CRLF, without the
 * final CRLF. With no entries it says "none".
 *
 * What comes from code is checked against the grammar and refused with an AuthResError: the
 * authserv-id, method, version, result, ptype and property. What may come from mail, DNS or the
 * envelope is escaped: property values are written bare only when they are a token or an address,
 * else quoted; reasons are quoted; comments have parentheses and backslashes escaped; controls are
 * dropped from all of them. Nothing can add a line or a field. Sizes are bounded: a property value
 * over 512 characters is left out (a comment says so), reasons and comments are cut at 256.
 */
export function formatAuthResults(authservId: string, entries: readonly AuthResEntry[]): string {
  const id = authservIdValue(authservId);
  if (!Array.isArray(entries)) throw new AuthResError("entries", "must be an array");
  if (entries.length === 0) return foldField("Authentication-Results", [`${id};`, "none"]);
  // Folded as it is written (foldField's rule, without a pieces array), each error path named only
  // when thrown, free text tested once for anything to drop or escape, each field read once, an
  // entry's pieces written once all of it is read (so its last piece is known and takes the ";"),
  // a comment put a line's worth of words at a time (test/authres/format.test.ts holds it to the
  // pieces-and-regexes writer it replaced).
  const fold = new Folder("Authentication-Results");
  fold.put(`${id};`, "");
  const props: string[] = []; // the pieces of an entry's properties, props[0, np): one array a call
  const n = entries.length;
  for (let i = 0; i < n; i++) {
    if (!(i in entries)) continue; // a hole, skipped (as forEach did)
    const e = entries[i];
    if (typeof e !== "object" || e === null) throw new AuthResError(`entries[${i}]`, "must be an object");
    const method = e.method;
    const heads = WRITTEN_HEADS.get(method);
    if (heads === undefined) keyword(method, "method", i);
    const v = e.version;
    let version = "";
    if (v !== undefined) {
      if (!Number.isSafeInteger(v) || v < 0) throw new AuthResError(`entries[${i}].version`, "must be a non-negative integer");
      version = `/${v}`;
    }
    const result = e.result;
    let head = v === undefined ? heads?.get(result) : undefined;
    if (head === undefined) head = `${method}${version}=${keyword(result, "result", i)}`;
    const eprops = e.props as readonly AuthResProperty[];
    if (!Array.isArray(eprops)) throw new AuthResError(`entries[${i}].props`, "must be an array");
    let np = 0;
    let omitted: string[] | undefined;
    for (let k = 0; k < eprops.length; k++) {
      if (!(k in eprops)) continue;
      const p = eprops[k];
      if (typeof p !== "object" || p === null) throw new AuthResError(`entries[${i}].props[${k}]`, "must be an object");
      const ptype = p.ptype;
      const property = p.property;
      const name = writtenName(ptype, property) ?? `${keyword(ptype, "ptype", i, k)}.${keyword(property, "property", i, k)}=`;
      const value = p.value;
      if (typeof value !== "string") throw notString(`entries[${i}].props[${k}].value`, value);
      if (value.length > MAX_AUTHRES_VALUE) (omitted ??= []).push(`${name.slice(0, -1)} omitted: ${value.length} characters`);
      else props[np++] = name + pvalue(value);
    }
    const c = e.comment;
    let comment = "";
    let plain = true; // the comment is printable ASCII with no "(", ")" or "\\": commentText leaves it as it is
    if (c !== undefined) {
      if (typeof c !== "string") throw notString(`entries[${i}].comment`, c);
      plain = !NOT_PLAIN_COMMENT.test(c);
      comment = plain ? cut(c) : bounded(c);
    }
    if (omitted) comment = [comment, ...omitted].filter((x) => x !== "").join("; ");
    const r = e.reason;
    let reason = "";
    if (r !== undefined) {
      if (typeof r !== "string") throw notString(`entries[${i}].reason`, r);
      // Nothing to drop or escape: quoted as it is (else quoted() escapes, as it always did).
      reason = NOT_PLAIN_QUOTED.test(r) ? `reason=${quoted(bounded(r))}` : `reason="${cut(r)}"`;
    }
    // The entry's last piece ends with ";" but in the last entry.
    const end = i === n - 1 ? "" : ";";
    fold.put(head, comment === "" && reason === "" && np === 0 ? end : "");
    if (comment !== "") fold.comment(plain ? comment : commentText(comment), reason === "" && np === 0 ? end : "");
    if (reason !== "") fold.put(reason, np === 0 ? end : "");
    for (let k = 0; k < np; k++) fold.put(props[k]!, k === np - 1 ? end : "");
  }
  return fold.out;
}

/**
 * The name of a property msgauth's entries write ("header.d="), known to be two Keywords: a compare
 * each instead of checking its characters and joining them (0.2 us for the bench's 10 properties).
 */
function writtenName(ptype: unknown, property: unknown): string | undefined {
  switch (ptype) {
    case "header":
      switch (property) {
        case "d":
          return "header.d=";
        case "i":
          return "header.i=";
        case "s":
          return "header.s=";
        case "a":
          return "header.a=";
        case "b":
          return "header.b=";
        case "from":
          return "header.from=";
        case "oldest-pass":
          return "header.oldest-pass=";
      }
      return undefined;
    case "smtp":
      switch (property) {
        case "mailfrom":
          return "smtp.mailfrom=";
        case "helo":
          return "smtp.helo=";
        case "remote-ip":
          return "smtp.remote-ip=";
      }
      return undefined;
    case "policy":
      switch (property) {
        case "iprev":
          return "policy.iprev=";
        case "dmarc":
          return "policy.dmarc=";
      }
  }
  return undefined;
}

/**
 * foldField, a piece at a time: a line breaks before a piece that would pass 78 columns. Each piece
 * comes with its end ("" or ";"), which counts in its length.
 */
class Folder {
  out: string;
  line: number;
  readonly start: number;

  constructor(name: string) {
    this.out = `${name}:`;
    this.line = this.out.length;
    this.start = this.line;
  }

  put(piece: string, end: string): void {
    const len = piece.length + end.length;
    if (this.line + 1 + len > 78 && this.line > this.start) {
      this.out += `\r\n\t${piece}${end}`;
      this.line = 8 + len; // a tab counts as up to 8 columns
    } else {
      this.out += ` ${piece}${end}`;
      this.line += 1 + len;
    }
  }

  /**
   * words(text) as a comment, "(" before the first word, ")" and `end` after the last, each word a
   * piece. Text with single spaces only goes a line's worth of words at a time: words that fit on
   * the line one by one fit there joined by their spaces (0.3 us of the bench's three comments).
   */
  comment(text: string, end: string): void {
    const n = text.length;
    if (n === 0 || text.charCodeAt(0) === 0x20 || text.charCodeAt(n - 1) === 0x20 || text.includes("  ")) {
      const words = text.split(" ").filter((w) => w !== "");
      if (words.length === 0) return this.put("()", end);
      for (let j = 0; j < words.length; j++) {
        const w = j === 0 ? `(${words[j]}` : words[j]!;
        if (j === words.length - 1) this.put(`${w})`, end);
        else this.put(w, "");
      }
      return;
    }
    const close = 1 + end.length; // ")" and end after the last word
    let at = 0;
    while (at < n) {
      // The longest run of words from `at` that fits on the line (a run of one word always goes).
      const room = 78 - this.line - 1 - (at === 0 ? 1 : 0);
      let stop = text.indexOf(" ", at);
      if (stop < 0) stop = n;
      while (stop < n) {
        let next = text.indexOf(" ", stop + 1);
        if (next < 0) next = n;
        if (next - at + (next === n ? close : 0) > room) break;
        stop = next;
      }
      const run = at === 0 && stop === n ? text : text.slice(at, stop);
      if (stop === n) this.put(at === 0 ? `(${run})` : `${run})`, end);
      else this.put(at === 0 ? `(${run}` : run, "");
      at = stop + 1;
    }
  }
}

/**
 * A character that is not printable ASCII (stripControls might drop or change it), or one a
 * quoted-string escapes ('"', "\\"): text without any is written in quotes as it is.
 */
const NOT_PLAIN_QUOTED = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
/** The same for a comment, which escapes "(", ")" and "\\". */
const NOT_PLAIN_COMMENT = /[^\x20-\x27\x2a-\x5b\x5d-\x7e]/;

/** Free text cut at MAX_AUTHRES_TEXT, as bounded() cuts it (its controls already dropped). */
function cut(clean: string): string {
  return clean.length > MAX_AUTHRES_TEXT ? `${clean.slice(0, MAX_AUTHRES_TEXT)}...` : clean;
}
