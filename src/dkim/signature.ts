import type { HeaderField } from "../message/header.js";
import { tagDomain } from "./tag-domain.js";
import { decodeBase64Buffer, parseTagList, stripWsp, type Tag } from "./tags.js";

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

function digits(tag: Tag | undefined, max: number): number | undefined | "bad" {
  if (!tag) return undefined;
  const v = tag.value;
  if (v.length === 0 || v.length > max || !/^[0-9]+$/.test(v)) return "bad";
  return Number(v);
}

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
 * Parses a DKIM-Signature field strictly (RFC 6376 3.5): required tags, v=1, known algorithm and
 * canonicalization, base64, h= holding From, i= under d=, x= after t=.
 */
export function parseSignature(field: HeaderField): { ok: true; sig: DkimSignature } | ({ ok: false } & SignatureProblem) {
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
  const alg = ALGORITHMS[algorithm];
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
  const bodyLength = digits(tags.get("l"), 76);
  const timestamp = digits(tags.get("t"), 12);
  const expiration = digits(tags.get("x"), 12);
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
