import { MsgauthError } from "../errors.js";
import { commentText, foldField, stripControls, words } from "../message/fold.js";

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
const DOMAIN = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
/** RFC 8601 2.2 Keyword (RFC 5321 Ldh-str): method, result, ptype and property. */
const KEYWORD = /^[A-Za-z0-9-]*[A-Za-z0-9]$/;
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
  const clean = stripControls(text);
  return clean.length > MAX_AUTHRES_TEXT ? `${clean.slice(0, MAX_AUTHRES_TEXT)}...` : clean;
}

function keyword(value: unknown, path: string): string {
  if (typeof value !== "string") throw new AuthResError(path, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value.length > MAX_KEYWORD || !KEYWORD.test(value))
    throw new AuthResError(path, `${JSON.stringify(value.slice(0, 80))} is not an RFC 8601 Keyword (letters, digits, inner hyphens)`);
  return value;
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
  const v = stripControls(value);
  if (v !== "" && TOKEN.test(v) && !v.includes("/")) return v;
  const at = v.lastIndexOf("@");
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    // "=" is legal in a local-part but ends a word for A-R readers: such an address is quoted.
    if ((local === "" || (DOT_ATOM.test(local) && !local.includes("="))) && DOMAIN.test(domain)) return v;
  }
  return quoted(v);
}

/**
 * The authserv-id as written: a token, or a quoted-string (RFC 8601 2.2 value). Throws an
 * AuthResError for one that is empty, longer than 255 characters, or holds control characters.
 */
export function authservIdValue(authservId: unknown): string {
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
  const pieces: string[] = [`${id};`];
  entries.forEach((e, i) => {
    const at = `entries[${i}]`;
    if (typeof e !== "object" || e === null) throw new AuthResError(at, "must be an object");
    const method = keyword(e.method, `${at}.method`);
    let version = "";
    if (e.version !== undefined) {
      if (!Number.isSafeInteger(e.version) || e.version < 0) throw new AuthResError(`${at}.version`, "must be a non-negative integer");
      version = `/${e.version}`;
    }
    const result = keyword(e.result, `${at}.result`);
    if (!Array.isArray(e.props)) throw new AuthResError(`${at}.props`, "must be an array");
    const props: string[] = [];
    const omitted: string[] = [];
    (e.props as readonly AuthResProperty[]).forEach((p: AuthResProperty, k: number) => {
      const pat = `${at}.props[${k}]`;
      if (typeof p !== "object" || p === null) throw new AuthResError(pat, "must be an object");
      const name = `${keyword(p.ptype, `${pat}.ptype`)}.${keyword(p.property, `${pat}.property`)}`;
      const value = text(p.value, `${pat}.value`);
      if (value.length > MAX_AUTHRES_VALUE) omitted.push(`${name} omitted: ${value.length} characters`);
      else props.push(`${name}=${pvalue(value)}`);
    });
    const last = i === entries.length - 1;
    const unit: string[] = [`${method}${version}=${result}`];
    const comment = [e.comment === undefined ? "" : bounded(text(e.comment, `${at}.comment`)), ...omitted]
      .filter((c) => c !== "")
      .join("; ");
    if (comment !== "") {
      const w = words(commentText(comment));
      w[0] = `(${w[0] ?? ""}`;
      w[w.length - 1] += ")";
      unit.push(...w);
    }
    if (e.reason !== undefined) unit.push(`reason=${quoted(bounded(text(e.reason, `${at}.reason`)))}`);
    unit.push(...props);
    if (!last) unit[unit.length - 1] += ";";
    pieces.push(...unit);
  });
  return foldField("Authentication-Results", pieces);
}
