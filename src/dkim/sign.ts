import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { ArgumentError, KeyError, OptionsError } from "../errors.js";
import type { HeaderField } from "../message/header.js";
import { isMessageInput, type MessageInput, openMessage, toBytes } from "../message/input.js";
import { fn, nonNegativeInt, optionsChecker } from "../options.js";
import { BodyHashes, type BodyHashResult } from "./body-hash.js";
import { canonicalizeHeader, canonicalizeSignatureField, selectHeaders } from "./canonicalize.js";
import { signHeaderData } from "./crypto.js";
import { loadPrivateKey, type PrivateKeyInput } from "./private-key.js";
import type { Canonicalization } from "./signature.js";
import { signingName } from "./tag-domain.js";

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
  /** d=: the signing domain; an IDN is written in A-labels (RFC 6376 3.5). */
  domain: string;
  /** s=: the selector; the key is published at <selector>._domainkey.<domain>. A-labels, as d=. */
  selector: string;
  /**
   * PEM (string or bytes), DER bytes (PKCS#8, PKCS#1) or a KeyObject; RSA of 1024 bits or more
   * (2048 recommended) or Ed25519. See loadPrivateKey.
   */
  privateKey: PrivateKeyInput;
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
  /** i=: the agent or user identifier; its domain is the signing domain or under it (IDN in A-labels). */
  identity?: string;
  /** t=: the signing time, seconds; false to leave t= out. Default now. */
  timestamp?: number | false;
  /** x=: seconds after t= that the signature expires. */
  expiresIn?: number;
  /** Milliseconds clock for t=. */
  now?: () => number;
}

const privateKeySchema = z.custom<PrivateKeyInput>((v) => v !== undefined && v !== null, { message: "a private key is required" });

const checkSignOptions = optionsChecker<DkimSignOptions>("options", {
  domain: z.string(),
  selector: z.string(),
  privateKey: privateKeySchema,
  algorithm: z.enum(["rsa-sha256", "ed25519-sha256"]).optional(),
  canonicalization: z.enum(["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]).optional(),
  headers: z.array(z.string()).optional(),
  oversign: z.union([z.boolean(), z.array(z.string())]).optional(),
  bodyLength: z.boolean().optional(),
  identity: z.string().optional(),
  timestamp: z.union([nonNegativeInt, z.literal(false)]).optional(),
  expiresIn: nonNegativeInt.optional(),
  now: fn<() => number>("now").optional(),
});

/** Checks signing options (one set or several) and the key of each; throws OptionsError or KeyError. */
export function checkDkimSignOptions(options: DkimSignOptions | readonly DkimSignOptions[]): DkimSignOptions[] {
  const list = Array.isArray(options) ? options : [options];
  if (list.length === 0) throw new OptionsError("ERR_MSGAUTH_INVALID_OPTION", "options", "options: an empty list signs nothing");
  return list.map((o, i) => checkSignOptions(o, list.length > 1 ? `options[${i}]` : "options"));
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

/** One signature's settings, checked and with its key loaded: what a DkimSigner keeps. */
interface SignatureSpec {
  /** The options without the key (the loaded KeyObject is `key`). */
  options: Omit<DkimSignOptions, "privateKey">;
  /** d=, s= and i= as written (A-labels). */
  names: SigningNames;
  key: KeyObject;
  algorithm: "rsa-sha256" | "ed25519-sha256";
  headerCanon: Canonicalization;
  bodyCanon: Canonicalization;
}

interface Prepared extends SignatureSpec {
  body: () => BodyHashResult;
}

export interface SigningNames {
  domain: string;
  selector: string;
  identity?: string;
}

/**
 * d=, s= and the domain of i= in A-labels (RFC 6376 3.5: "Internationalized domain names MUST be
 * encoded as A-labels"; the same for selectors), with i= under d= (3.5). `where` names the option
 * object in errors ("options", "options.seal").
 */
export function signingNames(o: { domain: string; selector: string; identity?: string | undefined }, where: string): SigningNames {
  const domain = signingName(o.domain);
  if (domain === undefined)
    throw new OptionsError(
      "ERR_MSGAUTH_INVALID_OPTION",
      `${where}.domain`,
      `${where}.domain: ${JSON.stringify(o.domain)} is not a domain name`,
    );
  const selector = signingName(o.selector);
  if (selector === undefined)
    throw new OptionsError(
      "ERR_MSGAUTH_INVALID_OPTION",
      `${where}.selector`,
      `${where}.selector: ${JSON.stringify(o.selector)} is not a selector (dot-separated DNS labels)`,
    );
  const names: SigningNames = { domain, selector };
  if (o.identity !== undefined) {
    const at = o.identity.lastIndexOf("@");
    const idDomain = at < 0 ? undefined : signingName(o.identity.slice(at + 1));
    if (idDomain === undefined)
      throw new OptionsError(
        "ERR_MSGAUTH_INVALID_OPTION",
        `${where}.identity`,
        `${where}.identity: ${JSON.stringify(o.identity)} is not [local-part]@domain`,
      );
    if (idDomain !== domain && !idDomain.endsWith(`.${domain}`))
      throw new OptionsError(
        "ERR_MSGAUTH_INVALID_OPTION",
        `${where}.identity`,
        `${where}.identity: the domain of i= (${idDomain}) must be ${domain} or under it (RFC 6376 3.5)`,
      );
    names.identity = `${o.identity.slice(0, at + 1)}${idDomain}`;
  }
  return names;
}

function specOf(options: DkimSignOptions, where: string): SignatureSpec {
  const names = signingNames(options, where);
  const { privateKey, ...rest } = options;
  const key = loadPrivateKey(privateKey);
  const type = key.asymmetricKeyType as "rsa" | "ed25519";
  const algorithm = options.algorithm ?? (type === "rsa" ? "rsa-sha256" : "ed25519-sha256");
  if ((algorithm === "rsa-sha256") !== (type === "rsa"))
    throw new KeyError("ERR_MSGAUTH_KEY_ALGORITHM", `${where}.algorithm: ${algorithm} does not fit a ${type} key`);
  const [headerCanon = "relaxed", bodyCanon = "relaxed"] = (options.canonicalization ?? "relaxed/relaxed").split("/") as Canonicalization[];
  // A copy of the lists: a signer signs with what it was made with, whatever the caller changes later.
  if (rest.headers) rest.headers = [...rest.headers];
  if (Array.isArray(rest.oversign)) rest.oversign = [...rest.oversign];
  return { options: rest, names, key, algorithm, headerCanon, bodyCanon };
}

function specsOf(options: DkimSignOptions | readonly DkimSignOptions[]): SignatureSpec[] {
  const list = checkDkimSignOptions(options);
  return list.map((o, i) => specOf(o, list.length > 1 ? `options[${i}]` : "options"));
}

function makeSignature(p: Prepared, headers: readonly HeaderField[], eol: string): string {
  const o = p.options;
  const body = p.body();
  const oversign = o.oversign === false ? [] : o.oversign === true || o.oversign === undefined ? DEFAULT_OVERSIGNED_HEADERS : o.oversign;
  const hList = signedHeaderList(
    headers,
    o.headers ?? DEFAULT_SIGNED_HEADERS,
    oversign.map((n) => n.toLowerCase()),
  );
  const timestamp = o.timestamp === false ? undefined : (o.timestamp ?? Math.floor((o.now?.() ?? Date.now()) / 1000));
  const pieces = [`v=1;`, `a=${p.algorithm};`, `c=${p.headerCanon}/${p.bodyCanon};`, `d=${p.names.domain};`, `s=${p.names.selector};`];
  if (p.names.identity !== undefined) pieces.push(`i=${p.names.identity};`);
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
  if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
  return signWith(message, specsOf(options));
}

async function signWith(message: MessageInput, specs: readonly SignatureSpec[]): Promise<string> {
  const hashes = new BodyHashes();
  const prepared: Prepared[] = specs.map((s) => ({ ...s, body: hashes.add({ canon: s.bodyCanon, hash: "sha256" }) }));
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

/**
 * Signs message after message with the same settings: the options are checked and the key is loaded
 * (PEM or DER parsed into a KeyObject) once, when the signer is made, instead of on every call as
 * {@link signDkim} does. Parsing a PEM RSA key costs about as much as the RSA signature itself, so a
 * server that signs many messages should hold one signer per key (as it would hold one transport).
 *
 * The signer keeps the loaded private key (a KeyObject; not the PEM text or bytes it was given) for
 * as long as it is referenced: drop the signer to let the key go. Make it with
 * {@link createDkimSigner}.
 */
export class DkimSigner {
  readonly #specs: readonly SignatureSpec[];

  /** Throws OptionsError or KeyError, as signDkim would, now rather than at the first message. */
  constructor(options: DkimSignOptions | readonly DkimSignOptions[]) {
    this.#specs = Object.freeze(specsOf(options));
  }

  /** The DKIM-Signature field(s) to put at the top of the message, as {@link signDkim} returns them. */
  async sign(message: MessageInput): Promise<string> {
    if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
    return signWith(message, this.#specs);
  }

  /** The whole signed message, as {@link signMessage} returns it. */
  async signMessage(message: Uint8Array | string): Promise<Buffer> {
    if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array or a string");
    const bytes = toBytes(message);
    return Buffer.concat([Buffer.from(await signWith(bytes, this.#specs)), bytes]);
  }
}

/**
 * A {@link DkimSigner} for these options (one set, or several to sign with each, for example RSA and
 * Ed25519): checks them and loads the key(s) once.
 *
 * ```ts
 * const signer = createDkimSigner({ domain: "example.com", selector: "s1", privateKey: readFileSync("s1.pem") });
 * const fields = await signer.sign(message); // per message: no PEM parsing
 * ```
 */
export function createDkimSigner(options: DkimSignOptions | readonly DkimSignOptions[]): DkimSigner {
  return new DkimSigner(options);
}
