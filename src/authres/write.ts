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

/**
 * A property value: a token, or [local-part] "@" domain-name as RFC 8601 2.2 allows, written bare;
 * anything else as a quoted-string. Controls are dropped, so no value can break the field.
 */
export function pvalue(value: string): string {
  if (isToken(value)) return value; // the usual domain, selector or algorithm: one pass, no regex
  const plain = !NOT_PLAIN_QUOTED.test(value); // nothing to drop or escape
  const v = plain ? value : stripControls(value);
  if (v !== value && v !== "" && TOKEN.test(v) && !v.includes("/")) return v; // (v === value: not a token, seen above)
  const at = v.lastIndexOf("@");
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    // "=" is legal in a local-part but ends a word for A-R readers: such an address is quoted.
    if ((local === "" || isLocalPart(local)) && isDomain(domain)) return v;
  }
  // Nothing to drop or escape: quoted as it is (what quoted() makes of it).
  return plain ? `"${v}"` : quoted(v);
}

/** RFC 5322 atext characters but "=" (by character code). */
const LOCAL_CHARS = (() => {
  const t = new Uint8Array(128);
  for (const ch of "!#$%&'*+-/?^_`{|}~") t[ch.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

/**
 * A dot-atom local part without "=" (/^[atext]+(?:\.[atext]+)*$/, "=" excluded: legal in a local
 * part, it ends a word for A-R readers), by character code.
 */
function isLocalPart(local: string): boolean {
  const n = local.length;
  if (n === 0) return false;
  let prevDot = true; // no dot first, none doubled, none last
  for (let i = 0; i < n; i++) {
    const c = local.charCodeAt(i);
    if (c === 0x2e) {
      if (prevDot) return false;
      prevDot = true;
    } else if (c < 128 && LOCAL_CHARS[c] === 1) prevDot = false;
    else return false;
  }
  return !prevDot;
}

/** A domain as A-R values take it bare. */
const DOMAIN = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
function isDomain(domain: string): boolean {
  return DOMAIN.test(domain);
}

/** TOKEN.test(value) (a regular expression beat a character loop here: 25 ns against 45). */
function isToken(value: string): boolean {
  return TOKEN.test(value);
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
  // when thrown, free text tested once for anything to drop or escape: 2.9 us of CPU became 1.05
  // for the bench's spf and dkim entries (test/authres/format.test.ts holds it to the
  // pieces-and-regexes writer it replaced).
  const fold = new Folder("Authentication-Results");
  fold.add(`${id};`);
  const n = entries.length;
  for (let i = 0; i < n; i++) {
    if (!(i in entries)) continue; // a hole, skipped (as forEach did)
    const e = entries[i];
    if (typeof e !== "object" || e === null) throw new AuthResError(`entries[${i}]`, "must be an object");
    const method = keyword(e.method, "method", i);
    let version = "";
    if (e.version !== undefined) {
      if (!Number.isSafeInteger(e.version) || e.version < 0)
        throw new AuthResError(`entries[${i}].version`, "must be a non-negative integer");
      version = `/${e.version}`;
    }
    const result = keyword(e.result, "result", i);
    const eprops = e.props as readonly AuthResProperty[];
    if (!Array.isArray(eprops)) throw new AuthResError(`entries[${i}].props`, "must be an array");
    const props: string[] = [];
    let omitted: string[] | undefined;
    for (let k = 0; k < eprops.length; k++) {
      if (!(k in eprops)) continue;
      const p = eprops[k];
      if (typeof p !== "object" || p === null) throw new AuthResError(`entries[${i}].props[${k}]`, "must be an object");
      const name = `${keyword(p.ptype, "ptype", i, k)}.${keyword(p.property, "property", i, k)}`;
      const value = p.value;
      if (typeof value !== "string") throw notString(`entries[${i}].props[${k}].value`, value);
      if (value.length > MAX_AUTHRES_VALUE) (omitted ??= []).push(`${name} omitted: ${value.length} characters`);
      else props.push(`${name}=${pvalue(value)}`);
    }
    fold.add(`${method}${version}=${result}`);
    let comment = "";
    let plain = true; // the comment is printable ASCII with no "(", ")" or "\\": commentText leaves it as it is
    if (e.comment !== undefined) {
      if (typeof e.comment !== "string") throw notString(`entries[${i}].comment`, e.comment);
      plain = !NOT_PLAIN_COMMENT.test(e.comment);
      comment = plain ? cut(e.comment) : bounded(e.comment);
    }
    if (omitted) comment = [comment, ...omitted].filter((c) => c !== "").join("; ");
    if (comment !== "") addWords(fold, plain ? comment : commentText(comment));
    if (e.reason !== undefined) {
      if (typeof e.reason !== "string") throw notString(`entries[${i}].reason`, e.reason);
      // Nothing to drop or escape: quoted as it is (else quoted() escapes, as it always did).
      fold.add(`reason=${NOT_PLAIN_QUOTED.test(e.reason) ? quoted(bounded(e.reason)) : `"${cut(e.reason)}"`}`);
    }
    for (const piece of props) fold.add(piece);
    if (i !== n - 1) fold.semicolon();
  }
  return fold.end();
}

/**
 * foldField, a piece at a time: the last piece waits, so that a ";" can still be put after it, and a
 * line breaks before a piece that would pass 78 columns.
 */
class Folder {
  #out: string;
  #lineLen: number;
  readonly #nameLen: number;
  #last = "";

  constructor(name: string) {
    this.#out = `${name}:`;
    this.#lineLen = this.#out.length;
    this.#nameLen = name.length;
  }

  add(piece: string): void {
    this.#flush();
    this.#last = piece;
  }

  /** Ends the piece last added with ";". */
  semicolon(): void {
    this.#last += ";";
  }

  end(): string {
    this.#flush();
    return this.#out;
  }

  #flush(): void {
    const piece = this.#last;
    this.#last = "";
    if (piece === "") return;
    if (this.#lineLen + 1 + piece.length > 78 && this.#lineLen > this.#nameLen + 1) {
      this.#out += `\r\n\t${piece}`;
      this.#lineLen = 8 + piece.length; // a tab counts as up to 8 columns
    } else {
      this.#out += ` ${piece}`;
      this.#lineLen += 1 + piece.length;
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

/** words(text) as a comment: "(" before the first word, ")" after the last, each word a piece. */
function addWords(fold: Folder, text: string): void {
  let prev: string | undefined;
  let first = true;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf(" ", start);
    if (end < 0) end = text.length;
    if (end > start) {
      if (prev !== undefined) {
        fold.add(first ? `(${prev}` : prev);
        first = false;
      }
      prev = text.slice(start, end);
    }
    start = end + 1;
  }
  if (prev === undefined) fold.add("()");
  else fold.add(first ? `(${prev})` : `${prev})`);
}
