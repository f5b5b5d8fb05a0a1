import { readQuotedString, skipComment } from "../message/comment.js";
import { fieldValue, getFields, type HeaderField, unfold } from "../message/header.js";
import { foldName, uts46Ascii } from "../message/idna.js";
import { lenientFieldName, scanHeaderFields } from "../message/scan.js";
import { findHeaderEnd } from "../message/split.js";

export interface ParsedAuthResEntry {
  method: string;
  version?: number;
  result: string;
  reason?: string;
  props: Array<{ ptype: string; property: string; value: string }>;
}

export interface ParsedAuthResults {
  authservId: string;
  version?: number;
  /** Empty for "none". */
  results: ParsedAuthResEntry[];
}

export type AuthResParse = { ok: true; value: ParsedAuthResults } | { ok: false; reason: string; position: number };

/** RFC 2045 token. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

type Tok = { t: "word" | "quoted"; v: string; pos: number } | { t: "sep"; v: ";" | "="; pos: number };

/** Tokens of an A-R value: comments (nested) and white space skipped, quoted-strings unescaped. */
function lex(text: string): Tok[] | { reason: string; position: number } {
  const toks: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
    } else if (c === "(") {
      const end = skipComment(text, i);
      if (end < 0) return { reason: "unbalanced comment", position: i };
      i = end;
    } else if (c === '"') {
      const q = readQuotedString(text, i, false);
      if (!q) return { reason: "unterminated quoted-string", position: i };
      toks.push({ t: "quoted", v: q.value, pos: i });
      i = q.end;
    } else if (c === ")") {
      return { reason: "')' without '('", position: i };
    } else if (c === ";" || c === "=") {
      toks.push({ t: "sep", v: c, pos: i });
      i++;
    } else {
      const start = i;
      while (i < n && !' \t\r\n();="'.includes(text[i]!)) i++;
      toks.push({ t: "word", v: text.slice(start, i), pos: start });
    }
  }
  return toks;
}

/**
 * Parses an Authentication-Results value (RFC 8601 2.2): authserv-id, optional version, then
 * "none" or results with reason and properties. Comments anywhere are ignored.
 */
export function parseAuthResults(value: string): AuthResParse {
  const toks = lex(unfold(value));
  if (!Array.isArray(toks)) return { ok: false, ...toks };
  let i = 0;
  const fail = (reason: string): AuthResParse => ({ ok: false, reason, position: toks[i]?.pos ?? value.length });
  const word = (): string | undefined => {
    const t = toks[i];
    if (t && (t.t === "word" || t.t === "quoted")) {
      i++;
      return t.v;
    }
    return undefined;
  };
  const isSep = (v: ";" | "=") => toks[i]?.t === "sep" && toks[i]!.v === v;
  const idTok = toks[i];
  const authservId = word();
  if (authservId === undefined || authservId === "") return fail("missing authserv-id");
  // RFC 8601 2.2: authserv-id = value = token / quoted-string (RFC 2045 token: no tspecials, no
  // controls, ASCII only). "mx.example\u00a0" or "mx.example/x" is not one.
  if (idTok?.t === "word" && !TOKEN.test(authservId)) return { ok: false, reason: "authserv-id is not a token", position: idTok.pos };
  const out: ParsedAuthResults = { authservId, results: [] };
  if (toks[i]?.t === "word" && /^[0-9]+$/.test(toks[i]!.v)) out.version = Number(word());
  if (i >= toks.length) return { ok: true, value: out }; // RFC 7601 allowed an empty result list
  if (!isSep(";")) return fail("expected ';' after authserv-id");
  while (i < toks.length) {
    if (!isSep(";")) return fail("expected ';'");
    i++;
    if (i >= toks.length) break; // a trailing ';'
    const methodWord = word();
    if (methodWord === undefined) return fail("expected a method");
    if (methodWord.toLowerCase() === "none" && i >= toks.length && out.results.length === 0) return { ok: true, value: out };
    // methodspec = method [ "/" version ]
    const slash = methodWord.indexOf("/");
    const method = slash >= 0 ? methodWord.slice(0, slash) : methodWord;
    const entry: ParsedAuthResEntry = { method: method.toLowerCase(), result: "", props: [] };
    if (slash >= 0) {
      const v = methodWord.slice(slash + 1);
      if (!/^[0-9]+$/.test(v)) return fail("expected a method version");
      entry.version = Number(v);
    }
    if (!isSep("=")) return fail(`expected '=' after ${method}`);
    i++;
    const result = word();
    if (result === undefined) return fail(`expected a result for ${method}`);
    entry.result = result.toLowerCase();
    while (i < toks.length && !isSep(";")) {
      const key = word();
      if (key === undefined) return fail("expected a property");
      if (!isSep("=")) return fail(`expected '=' after ${key}`);
      i++;
      const v = word();
      if (v === undefined) return fail(`expected a value for ${key}`);
      if (key.toLowerCase() === "reason") {
        entry.reason = v;
        continue;
      }
      const dot = key.indexOf(".");
      if (dot <= 0 || dot === key.length - 1) return fail(`expected ptype.property, got ${key}`);
      entry.props.push({ ptype: key.slice(0, dot).toLowerCase(), property: key.slice(dot + 1).toLowerCase(), value: v });
    }
    out.results.push(entry);
  }
  return { ok: true, value: out };
}

export interface TrustedAuthResults extends ParsedAuthResults {
  field: HeaderField;
}

/**
 * The Authentication-Results fields whose authserv-id you trust (RFC 8601 5: fields from anyone
 * else may be forged and must be ignored). Unparseable fields are left out.
 */
export function trustedAuthResults(headers: readonly HeaderField[], trustedIds: readonly string[]): TrustedAuthResults[] {
  // None trusted (authenticate()'s default): no field can be kept, so none is parsed.
  if (Array.isArray(trustedIds) && trustedIds.length === 0) return [];
  const trusted = new Set(trustedIds.map((t) => t.toLowerCase()));
  const out: TrustedAuthResults[] = [];
  for (const field of getFields(headers, "authentication-results")) {
    const parsed = parseAuthResults(fieldValue(field));
    if (parsed.ok && trusted.has(parsed.value.authservId.toLowerCase())) out.push({ ...parsed.value, field });
  }
  return out;
}

/**
 * Removes Authentication-Results fields claiming one of `authservIds` (RFC 8601 5): at your border,
 * any such field in incoming mail was written by someone else and must not survive to be trusted later.
 * A-R fields that do not parse strictly are removed too (an authserv-id that is not an RFC 2045 token
 * or quoted-string, such as "mx.example\u00a0" or "mx.example/x", among them). Returns a new message
 * (or the input itself when nothing is removed); the input is not changed.
 *
 * The scan (src/message/scan.ts, shared with the author-domain search) sees the whole header, however
 * large and however many fields (linear time, no limit that could hide a field), follows folding, and
 * matches field names as a lenient reader does, as the From search does: case-insensitively, with
 * white space, controls or non-ASCII bytes before the colon ("Authentication-Results\0:"). An
 * authserv-id is compared as a lenient reader could read it: NFKC, without white space, controls or
 * invisible characters, case-insensitively, without trailing dots. Every other byte is kept as it
 * was: fields, line ends and body. A bare CR counts as a line end here, as some readers take it: an
 * A-R field hidden behind one ("Subject: x\rAuthentication-Results: ...") is removed together with
 * the CR before it.
 */
export function removeAuthResults(message: Uint8Array, authservIds: readonly string[]): Uint8Array {
  const ids = new Set(authservIds.flatMap(lenientIds));
  const end = findHeaderEnd(message);
  const headerLen = end < 0 ? message.length : end;
  const keep: Array<[number, number]> = [];
  let from = 0; // start of the bytes not yet decided
  let removed = false;
  scanHeaderFields(message, headerLen, (field) => {
    if (!isForeignAuthResults(message, field.start, field.contentEnd, ids)) return;
    removed = true;
    // A CR already removed with an earlier field: this one then starts a line after all.
    let [start, resume] =
      field.cut.mode === "cr" && field.cut.pos >= from ? [field.cut.pos, field.contentEnd] : [Math.max(field.cut.pos, from), field.next];
    // A last line ended by a bare CR and then CRLF (" x\r\r\n"): to the header reader the field ends
    // at that LF. Left behind, the CRLF would become a blank line and push the fields below into the body.
    if (resume === field.next && message[resume - 1] === CR && message[resume] === CR && message[resume + 1] === LF) resume += 2;
    if (start > from) keep.push([from, start]);
    from = resume;
  });
  if (!removed) return message;
  if (from < message.length) keep.push([from, message.length]);
  return Buffer.concat(keep.map(([x, y]) => message.subarray(x, y)));
}

const LF = 0x0a;
const CR = 0x0d;
const NAME = "authentication-results";
const decoder = new TextDecoder();
/**
 * An authserv-id as a lenient reader could compare it, in each reading: NFKC, lower case, without
 * any character a reader does not draw (white space, controls, format characters, every
 * default-ignorable code point, variation selectors, Hangul fillers: the set of
 * src/message/idna.ts, shared with the author-domain recovery), without trailing dots; and that
 * text's UTS 46 reading (node:url domainToASCII) where it has one.
 */
function lenientIds(id: string): string[] {
  const folded = foldName(id).replace(/\.+$/, "");
  const platform = uts46Ascii(folded);
  return platform === undefined || platform === folded ? [folded] : [folded, platform];
}

/**
 * Whether message[start, end) is an A-R field (its name read as a lenient reader reads it, as for
 * From: see lenientFieldName) that does not parse strictly or whose authserv-id could be read as one
 * of `ids`.
 */
function isForeignAuthResults(message: Uint8Array, start: number, end: number, ids: ReadonlySet<string>): boolean {
  const colon = lenientFieldName(message, start, end, NAME);
  if (colon < 0) return false;
  const parsed = parseAuthResults(decoder.decode(message.subarray(colon, end)));
  return !parsed.ok || lenientIds(parsed.value.authservId).some((id) => ids.has(id));
}
