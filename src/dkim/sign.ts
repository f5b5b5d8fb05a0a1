import type { KeyObject } from "node:crypto";
import type { HeaderField } from "../message/header.js";
import { type MessageInput, openMessage, toBytes } from "../message/input.js";
import { BodyHashes, type BodyHashResult } from "./body-hash.js";
import { canonicalizeHeader, canonicalizeSignatureField, selectHeaders } from "./canonicalize.js";
import { privateKeyOf, signHeaderData } from "./crypto.js";
import type { Canonicalization } from "./signature.js";

/**
 * Fields signed by default when present (RFC 6376 5.4.1: the fields that carry what a reader sees
 * and what makes the message what it is).
 */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  "from",
  "sender",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "to",
  "cc",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-id",
  "content-description",
  "resent-date",
  "resent-from",
  "resent-sender",
  "resent-to",
  "resent-cc",
  "resent-message-id",
  "in-reply-to",
  "references",
  "list-id",
  "list-help",
  "list-unsubscribe",
  "list-unsubscribe-post",
  "list-subscribe",
  "list-post",
  "list-owner",
  "list-archive",
];

/**
 * Fields listed once more than they occur (RFC 6376 8.15), so that nobody can add another instance
 * (a second From above the signed one) without breaking the signature.
 */
export const DEFAULT_OVERSIGNED_HEADERS: readonly string[] = [
  "from",
  "sender",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "to",
  "cc",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "in-reply-to",
  "references",
];

export interface DkimSignOptions {
  /** d=: the signing domain. */
  domain: string;
  /** s=: the selector; the key is published at <selector>._domainkey.<domain>. */
  selector: string;
  /** PEM text, DER bytes (PKCS#8) or a KeyObject; RSA (2048 bits or more advised) or Ed25519. */
  privateKey: string | Uint8Array | KeyObject;
  /** Defaults to the key's type: rsa-sha256 or ed25519-sha256. */
  algorithm?: "rsa-sha256" | "ed25519-sha256";
  /** header/body canonicalization. Default "relaxed/relaxed". */
  canonicalization?: `${Canonicalization}/${Canonicalization}`;
  /** Field names to sign when present. Default DEFAULT_SIGNED_HEADERS; From is always signed. */
  headers?: readonly string[];
  /** Names to list one extra time. true (default) means DEFAULT_OVERSIGNED_HEADERS; false none. */
  oversign?: boolean | readonly string[];
  /** Add l= with the body length (lets anyone append content: off by default). */
  bodyLength?: boolean;
  /** i=: the agent or user identifier, under domain. */
  identity?: string;
  /** t=: the signing time, seconds; false to leave t= out. Default now. */
  timestamp?: number | false;
  /** x=: seconds after t= that the signature expires. */
  expiresIn?: number;
  /** Milliseconds clock for t=. */
  now?: () => number;
}

/** The h= list: present fields of the chosen names, bottom-up order kept by repetition, plus oversigning. */
export function signedHeaderList(headers: readonly HeaderField[], names: readonly string[], oversign: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const h of headers) if (!h.malformed) counts.set(h.key, (counts.get(h.key) ?? 0) + 1);
  const wanted = [...new Set(["from", ...names.map((n) => n.toLowerCase())])];
  const list: string[] = [];
  for (const name of wanted) {
    const n = counts.get(name) ?? 0;
    const extra = oversign.includes(name) ? 1 : 0;
    for (let i = 0; i < n + extra; i++) list.push(name);
  }
  return list;
}

/** Folds tag pieces at 78 columns, CRLF + TAB between lines; returns the text and the last line's length. */
function foldTags(prefix: string, pieces: string[], eol: string): { text: string; column: number } {
  let text = prefix;
  let column = prefix.length;
  for (const piece of pieces) {
    if (column + 1 + piece.length > 78 && column > prefix.length) {
      text += `${eol}\t${piece}`;
      column = 8 + piece.length;
    } else {
      text += ` ${piece}`;
      column += 1 + piece.length;
    }
  }
  return { text, column };
}

interface Prepared {
  options: DkimSignOptions;
  key: KeyObject;
  algorithm: "rsa-sha256" | "ed25519-sha256";
  headerCanon: Canonicalization;
  bodyCanon: Canonicalization;
  body: () => BodyHashResult;
}

function prepare(options: DkimSignOptions, hashes: BodyHashes): Prepared {
  const key = privateKeyOf(options.privateKey);
  const type = key.asymmetricKeyType;
  if (type !== "rsa" && type !== "ed25519") throw new TypeError(`DKIM signing needs an RSA or Ed25519 key, not ${type}`);
  const algorithm = options.algorithm ?? (type === "rsa" ? "rsa-sha256" : "ed25519-sha256");
  if ((algorithm === "rsa-sha256") !== (type === "rsa")) throw new TypeError(`algorithm ${algorithm} does not fit a ${type} key`);
  const [headerCanon = "relaxed", bodyCanon = "relaxed"] = (options.canonicalization ?? "relaxed/relaxed").split("/") as Canonicalization[];
  for (const c of [headerCanon, bodyCanon]) if (c !== "simple" && c !== "relaxed") throw new TypeError(`unknown canonicalization ${c}`);
  const body = hashes.add({ canon: bodyCanon, hash: "sha256" });
  return { options, key, algorithm, headerCanon, bodyCanon, body };
}

function makeSignature(p: Prepared, headers: readonly HeaderField[], eol: string): string {
  const o = p.options;
  const body = p.body();
  const domain = o.domain.toLowerCase().replace(/\.$/, "");
  const oversign = o.oversign === false ? [] : o.oversign === true || o.oversign === undefined ? DEFAULT_OVERSIGNED_HEADERS : o.oversign;
  const hList = signedHeaderList(
    headers,
    o.headers ?? DEFAULT_SIGNED_HEADERS,
    oversign.map((n) => n.toLowerCase()),
  );
  const timestamp = o.timestamp === false ? undefined : (o.timestamp ?? Math.floor((o.now?.() ?? Date.now()) / 1000));
  const pieces = [`v=1;`, `a=${p.algorithm};`, `c=${p.headerCanon}/${p.bodyCanon};`, `d=${domain};`, `s=${o.selector};`];
  if (o.identity !== undefined) pieces.push(`i=${o.identity};`);
  if (timestamp !== undefined) pieces.push(`t=${timestamp};`);
  if (o.expiresIn !== undefined) pieces.push(`x=${(timestamp ?? Math.floor(Date.now() / 1000)) + o.expiresIn};`);
  if (o.bodyLength) pieces.push(`l=${body.canonicalLength};`);
  const h = hList.map((n, i) => (i < hList.length - 1 ? `${n}:` : `${n};`));
  h[0] = `h=${h[0]}`;
  pieces.push(...h, `bh=${Buffer.from(body.digest).toString("base64")};`, "b=");
  const { text: unsigned, column } = foldTags("DKIM-Signature:", pieces, eol);
  const raw = toBytes(unsigned.replaceAll(eol, "\r\n"));
  const field: HeaderField = { name: "DKIM-Signature", key: "dkim-signature", raw, colon: 14, malformed: false };
  const data = Buffer.concat([
    ...selectHeaders(headers, hList).map((f) => canonicalizeHeader(f, p.headerCanon)),
    canonicalizeSignatureField(field, { start: raw.length, end: raw.length }, p.headerCanon),
  ]);
  const signature = signHeaderData(p.key, data);
  const b64 = signature.toString("base64");
  // b= continues on the same line as far as it fits, then in 72-column lines.
  let out = unsigned;
  let pos = Math.max(0, Math.min(b64.length, 78 - column));
  out += b64.slice(0, pos);
  while (pos < b64.length) {
    out += `${eol}\t${b64.slice(pos, pos + 70)}`;
    pos += 70;
  }
  return out + eol;
}

function detectEol(first: Uint8Array): string {
  const lf = first.indexOf(0x0a);
  return lf > 0 && first[lf - 1] !== 0x0d ? "\n" : "\r\n";
}

/**
 * Signs a message: returns the DKIM-Signature field(s) to put at the top of it, each ending with
 * the message's own line ending. Several option sets sign in one pass over the body (for example
 * RSA and Ed25519). Throws only for a wrong call (a key that cannot sign).
 */
export async function signDkim(message: MessageInput, options: DkimSignOptions | readonly DkimSignOptions[]): Promise<string> {
  const list = Array.isArray(options) ? options : [options as DkimSignOptions];
  const hashes = new BodyHashes();
  const prepared = list.map((o) => prepare(o, hashes));
  let eol = typeof message === "string" || message instanceof Uint8Array ? detectEol(toBytes(message).subarray(0, 4096)) : "\r\n";
  const opened = await openMessage(message);
  if (opened.headers[0] && !(typeof message === "string" || message instanceof Uint8Array)) eol = "\r\n";
  for await (const chunk of opened.body) hashes.update(chunk);
  hashes.end();
  return prepared.map((p) => makeSignature(p, opened.headers, eol)).join("");
}

/** Signs and returns the whole signed message: the new DKIM-Signature field(s), then the message. */
export async function signMessage(message: Uint8Array | string, options: DkimSignOptions | readonly DkimSignOptions[]): Promise<Buffer> {
  const bytes = toBytes(message);
  const fields = await signDkim(bytes, options);
  return Buffer.concat([Buffer.from(fields), bytes]);
}
