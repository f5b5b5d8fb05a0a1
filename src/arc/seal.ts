import type { KeyObject } from "node:crypto";
import { z } from "zod";
import { isAbortSignal } from "../abort.js";
import { BodyHashes } from "../dkim/body-hash.js";
import { canonicalizeHeader, canonicalizeSignatureField, selectHeaders } from "../dkim/canonicalize.js";
import { signHeaderData } from "../dkim/crypto.js";
import { loadPrivateKey, type PrivateKeyInput } from "../dkim/private-key.js";
import { DEFAULT_OVERSIGNED_HEADERS, DEFAULT_SIGNED_HEADERS, signedHeaderList, signingNames } from "../dkim/sign.js";
import type { Resolver } from "../dns/types.js";
import { ArgumentError, describeError, OptionsError } from "../errors.js";
import { abortableStream } from "../message/abortable.js";
import { stripControls } from "../message/fold.js";
import { fieldValue, getFields, type HeaderField, unfold } from "../message/header.js";
import { isMessageInput, type MessageInput, openMessage, toBytes } from "../message/input.js";
import { parseHeaderBlock } from "../message/split.js";
import { anyObject, fn, nonNegativeInt, type OptionsShape, optionsChecker, resolverSchema } from "../options.js";
import { MAX_ARC_INSTANCES } from "./parse.js";
import { type ArcResult, ArcVerifier } from "./verify.js";

export interface ArcSealOptions {
  /**
   * d= and s= of the seal and the message signature; the key is at <selector>._domainkey.<domain>.
   * An IDN is written in A-labels (RFC 6376 3.5, which ARC inherits).
   */
  domain: string;
  selector: string;
  /** PEM (string or bytes), DER bytes or a KeyObject: RSA of 1024 bits or more, or Ed25519 (see loadPrivateKey). */
  privateKey: PrivateKeyInput;
  /** This hop's authserv-id. */
  authservId: string;
  /**
   * The Authentication-Results payload for this hop's AAR ("authserv-id; spf=pass ..."). Default: the
   * message's own Authentication-Results fields with authservId, merged (RFC 8617 4.1.1).
   */
  authResults?: string;
  /** The chain as this hop received it. Default: validated here, which needs `resolver`. */
  chain?: ArcResult;
  resolver?: Resolver;
  /** Field names the ARC-Message-Signature covers. Default: the DKIM default list plus DKIM-Signature. */
  headers?: readonly string[];
  /** t=, seconds; false to leave it out. Default now. */
  timestamp?: number | false;
  now?: () => number;
  /**
   * Stops the work when it aborts: a message stream is no longer read and chain validation's DNS
   * queries are abandoned; the result is then `sealed: false` (a message not read whole is never sealed).
   */
  signal?: AbortSignal;
}

export type ArcSealResult =
  | {
      sealed: true;
      instance: number;
      cv: "none" | "pass" | "fail" /** ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, each ending in CRLF */;
      headers: string;
    }
  | { sealed: false; reason: string; chain: ArcResult };

export const arcSealShape = {
  domain: z.string(),
  selector: z.string(),
  privateKey: z.custom<PrivateKeyInput>((v) => v !== undefined && v !== null, { message: "a private key is required" }),
  authservId: z.string().min(1),
  authResults: z.string().optional(),
  chain: anyObject.optional(),
  resolver: resolverSchema.optional(),
  headers: z.array(z.string()).optional(),
  timestamp: z.union([nonNegativeInt, z.literal(false)]).optional(),
  now: fn<() => number>("now").optional(),
  signal: z.custom<AbortSignal>((v) => isAbortSignal(v), { message: "signal must be an AbortSignal" }).optional(),
} satisfies OptionsShape<ArcSealOptions>;
const checkSealOptions = optionsChecker<ArcSealOptions>("options", arcSealShape);

const collapse = (s: string) =>
  unfold(s)
    .replace(/[ \t]+/g, " ")
    .trim();

/** Merges the results of every Authentication-Results field of `authservId` into one payload. */
export function mergeAuthResults(headers: readonly HeaderField[], authservId: string): string {
  const results: string[] = [];
  for (const f of getFields(headers, "authentication-results")) {
    const value = collapse(fieldValue(f));
    const semi = value.indexOf(";");
    const id = (semi < 0 ? value : value.slice(0, semi)).trim().split(" ")[0] ?? "";
    if (id.toLowerCase() !== authservId.toLowerCase() || semi < 0) continue;
    const rest = value
      .slice(semi + 1)
      .trim()
      .replace(/;\s*$/, "");
    if (rest !== "" && rest.toLowerCase() !== "none") results.push(rest);
  }
  return results.length > 0 ? `${authservId}; ${results.join("; ")}` : `${authservId}; none`;
}

/** Writes "Name: tag; tag; ..." folded at 78 columns; the b= value goes in afterwards. */
function foldTags(name: string, pieces: string[]): string {
  let text = `${name}:`;
  let column = text.length;
  for (const piece of pieces) {
    if (column + 1 + piece.length > 78 && column > name.length + 1) {
      text += `\r\n\t${piece}`;
      column = 8 + piece.length;
    } else {
      text += ` ${piece}`;
      column += 1 + piece.length;
    }
  }
  return text;
}

/**
 * Puts the signature after "b=" (the only piece that is exactly "b=;"): 70 characters, then lines of
 * 72. The folds become spaces under relaxed canonicalization and so are part of what the next seal
 * covers; these widths are the ones the ARC test suite's signer used, so its expected seals match.
 */
function insertSignature(text: string, signature: Buffer): string {
  const b64 = signature.toString("base64");
  const chunks: string[] = [b64.slice(0, 70)];
  for (let i = 70; i < b64.length; i += 72) chunks.push(b64.slice(i, i + 72));
  const at = text.search(/(?<=[ \t])b=;/);
  return `${text.slice(0, at + 2)}${chunks.join("\r\n ")}${text.slice(at + 2)}`;
}

function field(name: string, text: string): HeaderField {
  return (
    parseHeaderBlock(toBytes(`${text}\r\n`)).headers[0] ?? {
      name,
      key: name.toLowerCase(),
      raw: toBytes(text),
      colon: name.length,
      malformed: false,
    }
  );
}

/**
 * Adds this hop's ARC set (RFC 8617 5.1): an ARC-Authentication-Results with this hop's results, an
 * ARC-Message-Signature over the message, and an ARC-Seal over the chain with cv= from validating
 * the chain as received. A chain whose latest seal says cv=fail is not sealed again. The options are
 * checked and the key is loaded on every call: to seal many messages, make an {@link ArcSealer} once.
 */
export async function sealArc(message: MessageInput, options: ArcSealOptions): Promise<ArcSealResult> {
  if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
  checkSealOptions(options);
  const signer = signingNames(options, "options");
  const key = loadPrivateKey(options.privateKey);
  return sealWith(message, options, { key, ...signer });
}

/** Seals with a checked identity: the one path of sealArc and ArcSealer.seal. */
async function sealWith(message: MessageInput, options: ArcSealCallOptions, sealer: Sealer): Promise<ArcSealResult> {
  if (!options.chain && !options.resolver)
    throw new OptionsError(
      "ERR_MSGAUTH_INVALID_OPTION",
      "options.resolver",
      "options: sealArc needs either the chain result or a resolver to validate it",
    );
  const stream = !(typeof message === "string" || message instanceof Uint8Array);
  const hashes = new BodyHashes();
  const body = hashes.add({ canon: "relaxed", hash: "sha256" });
  let verifier: ArcVerifier | undefined;
  let headers: readonly HeaderField[];
  try {
    const opened = await openMessage(stream && options.signal ? abortableStream(message, options.signal) : message);
    headers = opened.headers;
    verifier = options.chain
      ? undefined
      : new ArcVerifier(headers, {
          resolver: options.resolver!,
          bodyHashes: hashes,
          ...(options.signal ? { signal: options.signal } : {}),
        });
    for await (const chunk of opened.body) hashes.update(chunk);
    hashes.end();
  } catch (err) {
    // A stream that fails or is abandoned: a body hash over part of the body would be a guess.
    const chain =
      options.chain ?? (verifier ? await verifier.finish() : { result: "none" as const, reason: "not checked", instances: 0, sets: [] });
    return { sealed: false, reason: `the message could not be read whole: ${describeError(err)}`, chain };
  }
  const chain = options.chain ?? (await verifier!.finish());
  return arcSet(headers, body().digest, chain, options, sealer);
}

/** A checked sealing identity: the key loaded, d= and s= in A-labels. */
export interface Sealer {
  key: KeyObject;
  domain: string;
  selector: string;
}

/**
 * authenticate()'s `seal` option: who seals, with which key. The rest of a seal comes from the
 * authentication just done: the AAR is its Authentication-Results, cv= its ARC validation, the
 * authserv-id its own.
 */
export interface AuthenticateSealOptions {
  /** d= and s= of the ARC-Seal and ARC-Message-Signature (A-labels are written for an IDN). */
  domain: string;
  selector: string;
  /** PEM (string or bytes), DER bytes or a KeyObject (see loadPrivateKey). */
  privateKey: PrivateKeyInput;
  /** Field names the ARC-Message-Signature covers. Default: the DKIM default list plus DKIM-Signature. */
  headers?: readonly string[];
  /** t=, seconds; false to leave it out. Default: now (authenticate's clock). */
  timestamp?: number | false;
}

const sealHints = {
  authservId: "options.authservId (one id for A-R and the AAR)",
  authResults: "nothing: the AAR is the Authentication-Results authenticate() writes",
  chain: "nothing: the chain is the one authenticate() validates",
  resolver: "options.resolver",
};

const checkAuthenticateSeal = optionsChecker<AuthenticateSealOptions>(
  "options.seal",
  {
    domain: arcSealShape.domain,
    selector: arcSealShape.selector,
    privateKey: arcSealShape.privateKey,
    headers: arcSealShape.headers,
    timestamp: arcSealShape.timestamp,
  },
  sealHints,
);

/** createArcSealer's options: the keys of authenticate()'s `seal` option, checked and loaded once. */
export type ArcSealerOptions = AuthenticateSealOptions;

/**
 * {@link ArcSealer.seal}'s options: sealArc's without the identity the sealer holds (domain,
 * selector, privateKey). `headers` and `timestamp` default to the ones the sealer was made with.
 */
export type ArcSealCallOptions = Omit<ArcSealOptions, "domain" | "selector" | "privateKey">;

/** authenticate()'s `seal` option with a sealer made once; `headers` and `timestamp` default to the sealer's. */
export interface AuthenticateSealerOptions {
  sealer: ArcSealer;
  headers?: readonly string[];
  timestamp?: number | false;
}

const identityHints = {
  domain: "nothing: the sealer's own (given to createArcSealer)",
  selector: "nothing: the sealer's own (given to createArcSealer)",
  privateKey: "nothing: the sealer's own (given to createArcSealer)",
};

const checkSealerOptions = optionsChecker<ArcSealerOptions>("options", {
  domain: arcSealShape.domain,
  selector: arcSealShape.selector,
  privateKey: arcSealShape.privateKey,
  headers: arcSealShape.headers,
  timestamp: arcSealShape.timestamp,
});

const { domain: _domain, selector: _selector, privateKey: _privateKey, ...callShape } = arcSealShape;
const checkCallOptions = optionsChecker<ArcSealCallOptions>("options", callShape, identityHints);

const checkAuthenticateSealer = optionsChecker<AuthenticateSealerOptions>(
  "options.seal",
  {
    sealer: z.custom<ArcSealer>((v) => v instanceof ArcSealer, { message: "expected an ArcSealer (made by createArcSealer)" }),
    headers: arcSealShape.headers,
    timestamp: arcSealShape.timestamp,
  },
  { ...sealHints, ...identityHints },
);

/** What a sealer holds, for prepareSealer (set in ArcSealer's static block: the fields stay private). */
let sealerParts: (s: ArcSealer) => { identity: Sealer; defaults: Pick<ArcSealerOptions, "headers" | "timestamp"> };

/**
 * Seals message after message with one identity: the options are checked and the key is loaded (PEM
 * or DER parsed into a KeyObject) once, when the sealer is made, instead of on every call as
 * {@link sealArc} and authenticate()'s `seal: { domain, selector, privateKey }` do. Parsing a PEM
 * RSA key costs more than the RSA signatures of a seal, so a forwarder should hold one sealer per key.
 *
 * The sealer keeps the loaded private key (a KeyObject; not the PEM text or bytes it was given) for
 * as long as it is referenced: drop the sealer to let the key go. Make it with {@link createArcSealer};
 * pass it to authenticate() as `seal: { sealer }`.
 */
export class ArcSealer {
  readonly #identity: Sealer;
  readonly #defaults: Readonly<Pick<ArcSealerOptions, "headers" | "timestamp">>;

  static {
    sealerParts = (s) => ({ identity: s.#identity, defaults: s.#defaults });
  }

  /** Throws OptionsError or KeyError, as sealArc would, now rather than at the first message. */
  constructor(options: ArcSealerOptions) {
    const o = checkSealerOptions(options);
    const names = signingNames(o, "options");
    this.#identity = Object.freeze({ key: loadPrivateKey(o.privateKey), domain: names.domain, selector: names.selector });
    // A copy of the list: a sealer seals with what it was made with, whatever the caller changes later.
    const defaults: Pick<ArcSealerOptions, "headers" | "timestamp"> = {};
    if (o.headers) defaults.headers = Object.freeze([...o.headers]);
    if (o.timestamp !== undefined) defaults.timestamp = o.timestamp;
    this.#defaults = Object.freeze(defaults);
  }

  /**
   * This hop's ARC set, as {@link sealArc} returns it for the same message and options plus the
   * sealer's domain, selector and key (and its headers and timestamp, unless given here).
   */
  async seal(message: MessageInput, options: ArcSealCallOptions): Promise<ArcSealResult> {
    if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
    const o = checkCallOptions(options);
    const merged: ArcSealCallOptions = { ...o };
    if (o.headers === undefined && this.#defaults.headers) merged.headers = this.#defaults.headers;
    if (o.timestamp === undefined && this.#defaults.timestamp !== undefined) merged.timestamp = this.#defaults.timestamp;
    return sealWith(message, merged, this.#identity);
  }
}

/**
 * An {@link ArcSealer} for this identity: checks the options and loads the key once.
 *
 * ```ts
 * const sealer = createArcSealer({ domain: "lists.example.net", selector: "arc2026", privateKey: readFileSync("arc.pem") });
 * const set = await sealer.seal(message, { authservId: "lists.example.net", authResults, chain }); // no PEM parsing
 * await authenticate(message, envelope, { authservId: "lists.example.net", seal: { sealer } }); // likewise
 * ```
 */
export function createArcSealer(options: ArcSealerOptions): ArcSealer {
  return new ArcSealer(options);
}

/**
 * Checks authenticate()'s `seal` option and loads its key (or takes the sealer's, loaded when it was
 * made); throws OptionsError or KeyError.
 */
export function prepareSealer(options: unknown): { sealer: Sealer; options: Pick<AuthenticateSealOptions, "headers" | "timestamp"> } {
  if (typeof options === "object" && options !== null && "sealer" in options) {
    const o = checkAuthenticateSealer(options);
    const { identity, defaults } = sealerParts(o.sealer);
    const headers = o.headers ?? defaults.headers;
    const timestamp = o.timestamp ?? defaults.timestamp;
    return {
      sealer: identity,
      options: { ...(headers ? { headers } : {}), ...(timestamp !== undefined ? { timestamp } : {}) },
    };
  }
  const o = checkAuthenticateSeal(options);
  const names = signingNames(o, "options.seal");
  return { sealer: { key: loadPrivateKey(o.privateKey), domain: names.domain, selector: names.selector }, options: o };
}

/**
 * The ARC set for a message whose header fields, relaxed SHA-256 body hash and received chain are
 * known (sealArc reads them from the message; authenticate() has them already).
 */
export function arcSet(
  headers: readonly HeaderField[],
  bodyDigest: Uint8Array,
  chain: ArcResult,
  options: Pick<ArcSealOptions, "authservId" | "authResults" | "headers" | "timestamp" | "now">,
  sealer: Sealer,
): ArcSealResult {
  const { key, domain, selector } = sealer;
  const algorithm = key.asymmetricKeyType === "rsa" ? "rsa-sha256" : "ed25519-sha256";
  const newest = newestSeal(getFields(headers, "arc-seal"));
  if (newest && /(?:^|;)\s*cv\s*=\s*fail\s*(?:;|$)/i.test(unfold(fieldValue(newest)))) {
    return { sealed: false, reason: "the chain had already failed (cv=fail): no further set is added (RFC 8617 5.1.2)", chain };
  }
  const highest = Math.max(
    chain.instances,
    ...[...getFields(headers, "arc-seal"), ...getFields(headers, "arc-message-signature")].map(instanceTag),
  );
  const instance = highest + 1;
  if (instance > MAX_ARC_INSTANCES) return { sealed: false, reason: `the chain already has ${MAX_ARC_INSTANCES} sets`, chain };
  const cv = chain.result;
  const timestamp = options.timestamp === false ? undefined : (options.timestamp ?? Math.floor((options.now?.() ?? Date.now()) / 1000));

  // 1. ARC-Authentication-Results.
  const given = options.authResults?.replace(/^\s*Authentication-Results\s*:/i, "");
  // The one escaping rule for written fields (src/message/fold.ts): a given or merged A-R payload can
  // hold a bare CR, LF, U+2028 or a bidi control from mail; none reaches the AAR.
  const payload = collapse(stripControls(given ?? mergeAuthResults(headers, options.authservId)));
  const aarText = foldTags("ARC-Authentication-Results", `i=${instance}; ${payload}`.split(" "));
  const aar = field("ARC-Authentication-Results", aarText);

  // 2. ARC-Message-Signature (tags in alphabetical order, as the ARC test suite signs them).
  // RFC 8617 4.1.2: Authentication-Results and ARC fields are never covered by an AMS.
  const names = (options.headers ?? [...DEFAULT_SIGNED_HEADERS, "dkim-signature"])
    .map((n) => n.toLowerCase())
    .filter((n) => !n.startsWith("arc-") && n !== "authentication-results");
  // Oversigned as signDkim does (RFC 6376 8.15): one more From (Subject, Date...) than present, so a
  // From prepended above the sealed message breaks the AMS instead of hiding behind it.
  const hList = options.headers ? names : signedHeaderList(headers, names, DEFAULT_OVERSIGNED_HEADERS);
  const visible = [aar, ...headers];
  const amsPieces = [
    `a=${algorithm};`,
    "b=;",
    `bh=${Buffer.from(bodyDigest).toString("base64")};`,
    "c=relaxed/relaxed;",
    `d=${domain};`,
    `h=${hList.join(":")};`,
    `i=${instance};`,
    `s=${selector};`,
  ];
  if (timestamp !== undefined) amsPieces.push(`t=${timestamp}`);
  else amsPieces[amsPieces.length - 1] = amsPieces[amsPieces.length - 1]!.replace(/;$/, "");
  const amsUnsigned = foldTags("ARC-Message-Signature", amsPieces);
  const amsField = field("ARC-Message-Signature", amsUnsigned);
  const amsData = Buffer.concat([
    ...selectHeaders(visible, hList).map((f) => canonicalizeHeader(f, "relaxed")),
    canonicalizeSignatureField(amsField, { start: amsField.raw.length, end: amsField.raw.length }, "relaxed"),
  ]);
  const amsText = insertSignature(amsUnsigned, signHeaderData(key, amsData));
  const ams = field("ARC-Message-Signature", amsText);

  // 3. ARC-Seal over every set, this one included, with its own b= empty.
  const sealPieces = [
    `a=${algorithm};`,
    "b=;",
    `cv=${cv};`,
    `d=${domain};`,
    `i=${instance};`,
    `s=${selector}${timestamp !== undefined ? ";" : ""}`,
  ];
  if (timestamp !== undefined) sealPieces.push(`t=${timestamp}`);
  const sealUnsigned = foldTags("ARC-Seal", sealPieces);
  const sealField = field("ARC-Seal", sealUnsigned);
  const previous = chainFields(headers, instance - 1);
  const sealData = Buffer.concat([
    ...previous.map((f) => canonicalizeHeader(f, "relaxed")),
    canonicalizeHeader(aar, "relaxed"),
    canonicalizeHeader(ams, "relaxed"),
    canonicalizeSignatureField(sealField, { start: sealField.raw.length, end: sealField.raw.length }, "relaxed"),
  ]);
  const sealText = insertSignature(sealUnsigned, signHeaderData(key, sealData));
  return { sealed: true, instance, cv, headers: `${sealText}\r\n${amsText}\r\n${aarText}\r\n` };
}

function instanceTag(f: HeaderField): number {
  const m = /(?:^|;)\s*i\s*=\s*([0-9]+)/.exec(unfold(fieldValue(f)));
  return m ? Number(m[1]) : 0;
}

function newestSeal(seals: HeaderField[]): HeaderField | undefined {
  return seals.reduce<HeaderField | undefined>(
    (best, f) => (best === undefined || instanceTag(f) > instanceTag(best) ? f : best),
    undefined,
  );
}

/** The AAR, AMS and AS fields of instances 1..n, in that order (what a seal covers). */
function chainFields(headers: readonly HeaderField[], n: number): HeaderField[] {
  const out: HeaderField[] = [];
  const aarInstance = (f: HeaderField) => {
    const m = /^\s*i\s*=\s*([0-9]+)\s*;/.exec(unfold(fieldValue(f)));
    return m ? Number(m[1]) : 0;
  };
  for (let i = 1; i <= n; i++) {
    const aar = getFields(headers, "arc-authentication-results").find((f) => aarInstance(f) === i);
    const ams = getFields(headers, "arc-message-signature").find((f) => instanceTag(f) === i);
    const seal = getFields(headers, "arc-seal").find((f) => instanceTag(f) === i);
    for (const f of [aar, ams, seal]) if (f) out.push(f);
  }
  return out;
}
