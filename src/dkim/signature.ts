import type { HeaderField } from "../message/header.js";
import { tagDomain } from "./tag-domain.js";
import { decodeBase64Buffer, decodeBase64Latin1, parseTagList, stripWsp, type Tag } from "./tags.js";

export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256" | "rsa-sha1";
export type Canonicalization = "simple" | "relaxed";

export interface DkimSignature {
  field: HeaderField;
  algorithm: DkimAlgorithm;
  keyType: "rsa" | "ed25519";
  hash: "sha256" | "sha1";
  signature: Uint8Array;
  /** The b= value as written, FWS removed (for header.b). */
  signatureText: string;
  bodyHash: Uint8Array;
  headerCanon: Canonicalization;
  bodyCanon: Canonicalization;
  /** d=, lower case, no trailing dot. */
  domain: string;
  selector: string;
  /** h= names, lower case, in order. */
  signedHeaders: string[];
  /** i=, or "@" + d= when absent. */
  identity: string;
  bodyLength?: number;
  timestamp?: number;
  expiration?: number;
  /** Where the b= value sits in the field's raw bytes, to blank it (RFC 6376 3.7). */
  bValue: { start: number; end: number };
}

/** What could be read of a signature that is not valid, for the result. */
export interface SignatureProblem {
  reason: string;
  domain: string;
  selector: string;
  algorithm?: string;
}

const ALGORITHMS: Record<string, { keyType: "rsa" | "ed25519"; hash: "sha256" | "sha1" }> = {
  "rsa-sha256": { keyType: "rsa", hash: "sha256" },
  "ed25519-sha256": { keyType: "ed25519", hash: "sha256" },
  "rsa-sha1": { keyType: "rsa", hash: "sha1" },
};

/** d= or s= for a problem report: the A-label form when it is a name, else the text (never mojibake). */
function tagText(tag: Tag | undefined, lowerCase: boolean): string {
  if (!tag) return "";
  const name = tagDomain(tag.value, { lowerCase });
  if (name !== undefined) return name;
  const text = Buffer.from(tag.value, "latin1").toString("utf8");
  return lowerCase ? text.toLowerCase() : text;
}

/** What parseSignature reports for a signature it cannot use. */
function problem(reason: string, tags?: Map<string, Tag>): { ok: false } & SignatureProblem {
  const p: { ok: false } & SignatureProblem = {
    ok: false,
    reason,
    domain: tagText(tags?.get("d"), true),
    selector: tagText(tags?.get("s"), false),
  };
  const a = tags?.get("a")?.value;
  if (a !== undefined) p.algorithm = a;
  return p;
}

const REQUIRED = ["v", "a", "b", "bh", "d", "h", "s"];
/** h= after white space is removed: field names (printable ASCII but ':') separated by ':'. */
const FIELD_NAMES = /^[\x21-\x39\x3b-\x7e]+(?::[\x21-\x39\x3b-\x7e]+)*$/;

function isWspCode(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * h= names in lower case, read in one pass where the list is well formed (white space only around
 * the colons); undefined for anything else (white space inside a name, an empty or invalid name),
 * which the general rule in parseSignature then decides. About three times faster than stripping,
 * lower-casing and splitting (test/dkim/signature-fast.test.ts holds the two to the same answers).
 */
export function scanFieldNames(value: string): string[] | undefined {
  const out: string[] = [];
  const n = value.length;
  let i = 0;
  for (;;) {
    while (i < n && isWspCode(value.charCodeAt(i))) i++;
    const start = i;
    let upper = false;
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x21 || c > 0x7e || c === 0x3a) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    if (i === start) return undefined;
    const name = value.slice(start, i);
    out.push(upper ? name.toLowerCase() : name);
    while (i < n && isWspCode(value.charCodeAt(i))) i++;
    if (i === n) return out;
    if (value.charCodeAt(i) !== 0x3a) return undefined;
    i++;
  }
}

/**
 * scanFieldNames of text[start, end), reading the bytes the text was made of (`raw`, whose latin1
 * reading is `text`): a loop over a byte array instead of charCodeAt (about 0.2 us less for the
 * bench's h= of 21 names). test/dkim/signature-fast.test.ts holds it to scanFieldNames.
 */
export function scanFieldNameBytes(raw: Uint8Array, text: string, start: number, end: number): string[] | undefined {
  const out: string[] = [];
  let i = start;
  for (;;) {
    while (i < end && isWspCode(raw[i]!)) i++;
    const nameStart = i;
    let upper = false;
    for (; i < end; i++) {
      const c = raw[i]!;
      if (c < 0x21 || c > 0x7e || c === 0x3a) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    if (i === nameStart) return undefined;
    const name = text.slice(nameStart, i);
    out.push(upper ? name.toLowerCase() : name);
    while (i < end && isWspCode(raw[i]!)) i++;
    if (i === end) return out;
    if (raw[i] !== 0x3a) return undefined;
    i++;
  }
}

/**
 * Parses a DKIM-Signature field strictly (RFC 6376 3.5): required tags, v=1, known algorithm and
 * canonicalization, base64, h= holding From, i= under d=, x= after t=.
 */
export function parseSignature(field: HeaderField): { ok: true; sig: DkimSignature } | ({ ok: false } & SignatureProblem) {
  return parseUsualSignature(field) ?? parseSignatureGeneral(field);
}

const T_V = 1;
const T_A = 2;
const T_B = 4;
const T_BH = 8;
const T_D = 16;
const T_H = 32;
const T_S = 64;
const T_C = 128;
const T_I = 256;
const T_L = 512;
const T_Q = 1024;
const T_T = 2048;
const T_X = 4096;
const REQUIRED_BITS = T_V | T_A | T_B | T_BH | T_D | T_H | T_S;

/** The bit of a tag name parseSignature reads (text[s, e)), 0 for any other name. */
function tagBit(text: string, s: number, e: number): number {
  if (e - s === 2) return text.charCodeAt(s) === 0x62 && text.charCodeAt(s + 1) === 0x68 ? T_BH : 0;
  if (e - s !== 1) return 0;
  switch (text.charCodeAt(s)) {
    case 0x76:
      return T_V;
    case 0x61:
      return T_A;
    case 0x62:
      return T_B;
    case 0x64:
      return T_D;
    case 0x68:
      return T_H;
    case 0x73:
      return T_S;
    case 0x63:
      return T_C;
    case 0x69:
      return T_I;
    case 0x6c:
      return T_L;
    case 0x71:
      return T_Q;
    case 0x74:
      return T_T;
    case 0x78:
      return T_X;
    default:
      return 0;
  }
}

function isTagNameCode(c: number, first: boolean): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (!first && ((c >= 0x30 && c <= 0x39) || c === 0x5f));
}

/**
 * parseSignature for a usual, valid signature, read in one pass over the field's text into locals
 * (no tag list, Map or Tag objects): undefined for anything else (a tag it does not read, any
 * syntax error or invalid value), which parseSignatureGeneral then decides, so every malformed
 * signature gets the general path's answer. Where it answers, it answers as the general path does
 * (test/dkim/signature-fast.test.ts, on generated and mutated signatures).
 */
export function parseUsualSignature(field: HeaderField): { ok: true; sig: DkimSignature } | undefined {
  const text = latin1Text(field.raw);
  // Scanned as bytes (raw[i] is text.charCodeAt(i)), faster than charCodeAt; text gives the values.
  const raw = field.raw;
  const n = text.length;
  let seen = 0;
  let v = "";
  let a = "";
  let b = "";
  let bh = "";
  let d = "";
  let hStart = 0;
  let hEnd = 0;
  let s = "";
  let c: string | undefined;
  let iValue: string | undefined;
  let l: string | undefined;
  let q: string | undefined;
  let t: string | undefined;
  let x: string | undefined;
  let bStart = 0;
  let bEnd = 0;
  let i = field.colon + 1;
  for (;;) {
    while (i < n && isWspCode(raw[i]!)) i++;
    if (i >= n) break;
    const nameStart = i;
    if (!isTagNameCode(raw[i]!, true)) return undefined;
    i++;
    while (i < n && isTagNameCode(raw[i]!, false)) i++;
    const bit = tagBit(text, nameStart, i);
    if (bit === 0 || (seen & bit) !== 0) return undefined;
    seen |= bit;
    while (i < n && isWspCode(raw[i]!)) i++;
    if (raw[i]! !== 0x3d) return undefined;
    i++;
    const rawStart = i;
    while (i < n && isWspCode(raw[i]!)) i++;
    const valueStart = i;
    let valueEnd = i;
    if (bit === T_B || bit === T_BH || bit === T_H) {
      // Not checked here: the base64 check of b= and bh= and scanFieldNames of h= below refuse
      // every character parseTagList refuses (they allow only their own and white space). The
      // scan of these long values was about half a microsecond.
      i = text.indexOf(";", i);
      if (i < 0) i = n;
      valueEnd = i;
      while (valueEnd > valueStart && isWspCode(raw[valueEnd - 1]!)) valueEnd--;
    } else {
      // To the ';' or the end: VALCHAR, 8-bit bytes (RFC 8616) and white space, as parseTagList allows.
      for (; i < n; i++) {
        const ch = raw[i]!;
        if (ch === 0x3b) break;
        if (ch > 0x20) {
          if (ch === 0x7f) return undefined;
          valueEnd = i + 1;
        } else if (!isWspCode(ch)) return undefined;
      }
    }
    const value = text.slice(valueStart, valueEnd);
    if (bit === T_V) v = value;
    else if (bit === T_A) a = value;
    else if (bit === T_B) {
      b = value;
      bStart = rawStart;
      bEnd = i;
    } else if (bit === T_BH) bh = value;
    else if (bit === T_D) d = value;
    else if (bit === T_H) {
      hStart = valueStart;
      hEnd = valueEnd;
    } else if (bit === T_S) s = value;
    else if (bit === T_C) c = value;
    else if (bit === T_I) iValue = value;
    else if (bit === T_L) l = value;
    else if (bit === T_Q) q = value;
    else if (bit === T_T) t = value;
    else x = value;
    if (i < n) i++; // the ';'
  }
  if ((seen & REQUIRED_BITS) !== REQUIRED_BITS || v !== "1") return undefined;
  const algorithm = a.toLowerCase();
  // The entry by comparison, not by a property lookup with a string made from the field.
  const alg =
    algorithm === "rsa-sha256"
      ? ALGORITHMS["rsa-sha256"]!
      : algorithm === "ed25519-sha256"
        ? ALGORITHMS["ed25519-sha256"]!
        : algorithm === "rsa-sha1"
          ? ALGORITHMS["rsa-sha1"]!
          : undefined;
  if (alg === undefined) return undefined;
  // b= and bh= without white space: where the only folding is the usual CRLF TAB, removed by a
  // native replace, the decoder takes the text (it refuses any white space left) and no regular
  // expression runs (about 0.4 us less for a folded 2048-bit b=); else stripWsp, as the general path.
  let signatureText = unfoldUsual(b);
  let signature = decodeBase64Latin1(signatureText);
  if (signature === undefined && signatureText !== b) signature = decodeBase64Latin1((signatureText = stripWsp(b)));
  if (!signature || signature.length === 0) return undefined;
  const bhText = unfoldUsual(bh);
  let bodyHash = decodeBase64Latin1(bhText);
  if (bodyHash === undefined && bhText !== bh) bodyHash = decodeBase64Latin1(stripWsp(bh));
  if (!bodyHash || bodyHash.length !== (alg.hash === "sha256" ? 32 : 20)) return undefined;
  let hc: Canonicalization = "relaxed";
  let bc: Canonicalization = "relaxed";
  // The usual c=relaxed/relaxed is taken as it is, without lower-casing and slicing it.
  if (c !== "relaxed/relaxed") {
    const canon = (c ?? "simple/simple").toLowerCase();
    const slash = canon.indexOf("/");
    const h = slash < 0 ? canon : canon.slice(0, slash);
    const bo = slash < 0 ? "simple" : canon.slice(slash + 1);
    if ((h !== "simple" && h !== "relaxed") || (bo !== "simple" && bo !== "relaxed")) return undefined;
    hc = h;
    bc = bo;
  }
  const domain = tagDomain(d, { lowerCase: true });
  if (domain === undefined) return undefined;
  const selector = tagDomain(s, { lowerCase: false });
  if (selector === undefined) return undefined;
  const signedHeaders = scanFieldNameBytes(raw, text, hStart, hEnd);
  if (!signedHeaders?.includes("from")) return undefined;
  if (q !== undefined && !isDnsTxt(q)) return undefined;
  let identity = `@${domain}`;
  if (iValue !== undefined) {
    identity = Buffer.from(iValue, "latin1").toString("utf8");
    if (identity.lastIndexOf("@") < 0) return undefined;
    const idDomain = tagDomain(iValue.slice(iValue.lastIndexOf("@") + 1), { lowerCase: true });
    if (idDomain === undefined || (idDomain !== domain && !idDomain.endsWith(`.${domain}`))) return undefined;
  }
  const bodyLength = digitsOf(l, 76);
  const timestamp = digitsOf(t, 12);
  const expiration = digitsOf(x, 12);
  if (bodyLength === "bad" || timestamp === "bad" || expiration === "bad") return undefined;
  if (timestamp !== undefined && expiration !== undefined && expiration <= timestamp) return undefined;
  const sig: DkimSignature = {
    field,
    algorithm: algorithm as DkimAlgorithm,
    keyType: alg.keyType,
    hash: alg.hash,
    signature,
    signatureText,
    bodyHash,
    headerCanon: hc,
    bodyCanon: bc,
    domain,
    selector,
    signedHeaders,
    identity,
    bValue: { start: bStart, end: bEnd },
  };
  if (bodyLength !== undefined) sig.bodyLength = bodyLength;
  if (timestamp !== undefined) sig.timestamp = timestamp;
  if (expiration !== undefined) sig.expiration = expiration;
  return { ok: true, sig };
}

/**
 * The field's bytes as latin1 text (one character a byte): Buffer's own toString where the field is
 * a Buffer (about 60 ns less than making a Buffer view of it first).
 */
function latin1Text(raw: Uint8Array): string {
  return raw instanceof Buffer ? raw.toString("latin1") : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
}

/**
 * A b= or bh= value with its CRLF TAB folds removed where it has any (white space may be left: the
 * caller's decoder then refuses it), else stripWsp of it.
 */
function unfoldUsual(value: string): string {
  return value.indexOf("\r\n\t") >= 0 ? value.replaceAll("\r\n\t", "") : stripWsp(value);
}

/** q= names dns/txt among its methods (the general path's rule). */
function isDnsTxt(q: string): boolean {
  return stripWsp(q)
    .split(":")
    .some((m) => m.toLowerCase() === "dns/txt");
}

/**
 * A tag value of 1 to `max` ASCII digits as a number; undefined when the tag is absent, "bad"
 * otherwise. Both parsers read l=, t= and x= with it.
 */
function digitsOf(v: string | undefined, max: number): number | undefined | "bad" {
  if (v === undefined) return undefined;
  if (v.length === 0 || v.length > max) return "bad";
  for (let k = 0; k < v.length; k++) {
    const ch = v.charCodeAt(k);
    if (ch < 0x30 || ch > 0x39) return "bad";
  }
  return Number(v);
}

/**
 * parseSignature by the general path: the tag list parsed (parseTagList), then each check in turn;
 * every signature parseUsualSignature does not answer for, and every problem report, comes from here.
 */
export function parseSignatureGeneral(field: HeaderField): { ok: true; sig: DkimSignature } | ({ ok: false } & SignatureProblem) {
  const text = Buffer.from(field.raw.buffer, field.raw.byteOffset, field.raw.byteLength).toString("latin1");
  const start = field.colon + 1;
  const parsed = parseTagList(text, 0, start);
  if (!parsed.ok) return problem(parsed.reason);
  const tags = parsed.tags;
  for (const required of REQUIRED) {
    if (!tags.has(required)) return problem(`missing required tag ${required}= (RFC 6376 3.5)`, tags);
  }
  if (tags.get("v")!.value !== "1") return problem(`unsupported version v=${tags.get("v")!.value}`, tags);
  const algorithm = tags.get("a")!.value.toLowerCase();
  // Own keys only: a=constructor or a=__proto__ must not find Object.prototype's (red team).
  const alg = Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm] : undefined;
  if (!alg) return problem(`unknown algorithm a=${algorithm}`, tags);
  const bTag = tags.get("b")!;
  const signatureText = stripWsp(bTag.value);
  const signature = decodeBase64Buffer(signatureText);
  if (!signature || signature.length === 0) return problem("b= is not valid base64", tags);
  const bodyHash = decodeBase64Buffer(stripWsp(tags.get("bh")!.value));
  if (!bodyHash || bodyHash.length === 0) return problem("bh= is not valid base64", tags);
  const expectedLength = alg.hash === "sha256" ? 32 : 20;
  if (bodyHash.length !== expectedLength) return problem(`bh= is ${bodyHash.length} bytes, not ${expectedLength}`, tags);
  const c = (tags.get("c")?.value ?? "simple/simple").toLowerCase();
  const slash = c.indexOf("/");
  const hc = slash < 0 ? c : c.slice(0, slash);
  const bc = slash < 0 ? "simple" : c.slice(slash + 1);
  if ((hc !== "simple" && hc !== "relaxed") || (bc !== "simple" && bc !== "relaxed")) {
    return problem(`unknown canonicalization c=${c}`, tags);
  }
  // U-labels (RFC 8616 4) become A-labels: the key lookup and DMARC alignment use those.
  const domain = tagDomain(tags.get("d")!.value, { lowerCase: true });
  if (domain === undefined) return problem(`d= is not a valid domain: ${tags.get("d")!.value}`, tags);
  const selector = tagDomain(tags.get("s")!.value, { lowerCase: false });
  if (selector === undefined) return problem(`s= is not a valid selector: ${tags.get("s")!.value}`, tags);
  const hValue = tags.get("h")!.value;
  let signedHeaders = scanFieldNames(hValue);
  if (!signedHeaders) {
    // The general rule (what scanFieldNames gives where it answers): all white space removed, then
    // non-empty names of printable ASCII but ':', in lower case.
    const hList = stripWsp(hValue).toLowerCase();
    if (!FIELD_NAMES.test(hList)) return problem("h= holds an invalid field name", tags);
    signedHeaders = hList.split(":");
  }
  if (!signedHeaders.includes("from")) return problem("h= does not include From (RFC 6376 5.4)", tags);
  const q = tags.get("q");
  if (
    q &&
    !stripWsp(q.value)
      .split(":")
      .some((m) => m.toLowerCase() === "dns/txt")
  )
    return problem(`unsupported query method q=${q.value}`, tags);
  let identity = `@${domain}`;
  const iTag = tags.get("i");
  if (iTag) {
    identity = Buffer.from(iTag.value, "latin1").toString("utf8");
    const at = identity.lastIndexOf("@");
    if (at < 0) return problem("i= has no '@'", tags);
    const idDomain = tagDomain(iTag.value.slice(iTag.value.lastIndexOf("@") + 1), { lowerCase: true });
    if (idDomain === undefined) return problem(`i= domain is not a valid domain: ${identity.slice(at + 1)}`, tags);
    // 3.5: the domain of i= MUST be the same as, or a subdomain of, d=.
    if (idDomain !== domain && !idDomain.endsWith(`.${domain}`)) return problem(`i= domain ${idDomain} is not under d=${domain}`, tags);
  }
  const bodyLength = digitsOf(tags.get("l")?.value, 76);
  const timestamp = digitsOf(tags.get("t")?.value, 12);
  const expiration = digitsOf(tags.get("x")?.value, 12);
  if (bodyLength === "bad") return problem("l= is not a number", tags);
  if (timestamp === "bad") return problem("t= is not a number", tags);
  if (expiration === "bad") return problem("x= is not a number", tags);
  // 3.5: "the value of the "x=" tag MUST be greater than the value of the "t=" tag".
  if (timestamp !== undefined && expiration !== undefined && expiration <= timestamp) return problem("x= is not after t=", tags);
  const sig: DkimSignature = {
    field,
    algorithm: algorithm as DkimAlgorithm,
    keyType: alg.keyType,
    hash: alg.hash,
    signature,
    signatureText,
    bodyHash,
    headerCanon: hc,
    bodyCanon: bc,
    domain,
    selector,
    signedHeaders,
    identity,
    bValue: { start: bTag.rawStart, end: bTag.rawEnd },
  };
  if (bodyLength !== undefined) sig.bodyLength = bodyLength;
  if (timestamp !== undefined) sig.timestamp = timestamp;
  if (expiration !== undefined) sig.expiration = expiration;
  return { ok: true, sig };
}
