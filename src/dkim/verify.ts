import { isAbortSignal } from "../abort.js";
import { guardResolver } from "../dns/guard.js";
import type { DnsAnswer, Resolver } from "../dns/types.js";
import { ArgumentError, describeError } from "../errors.js";
import { abortableStream } from "../message/abortable.js";
import type { HeaderField } from "../message/header.js";
import { isMessageInput, type MessageInput, openMessage, openWhole } from "../message/input.js";
import type { ParsedMessage, SplitLimits } from "../message/split.js";
import { checkDkimVerifyOptions, isPlainObject, isResolver, isVouched } from "../options.js";
import { BodyHashes, type BodyHashResult, type BodyHashSpec } from "./body-hash.js";
import { headerHashBytes, selectHeaders } from "./canonicalize.js";
import { verifyHeaderData } from "./crypto.js";
import { type DkimKey, type KeyParse, parseKeyRecord } from "./key.js";
import { type DkimSignature, parseSignature } from "./signature.js";

/** Per-signature results, with RFC 8601 2.7.1's words. */
export type DkimResultWord = "pass" | "fail" | "neutral" | "policy" | "temperror" | "permerror";

export interface DkimResult {
  result: DkimResultWord;
  /** Why, in words. */
  reason: string;
  /** For fail: which check failed. */
  failure?: "body-hash" | "signature" | "body-length";
  /**
   * d= (lower case), s=, i=, a=; "" where the signature could not be read, and in the one temperror
   * result verifyDkim gives for a message stream that failed before its header ended (its `field`
   * is then an empty placeholder: name "", no bytes).
   */
  domain: string;
  selector: string;
  identity?: string;
  algorithm?: string;
  canonicalization?: string;
  /** RSA modulus bits, or 256 for Ed25519, once the key was read. */
  keyBits?: number;
  /** The key record says t=y (the domain is testing). */
  testing: boolean;
  /** l= when present, and the canonical body length seen: content past l= was not signed. */
  bodyLength?: number;
  canonicalBodyLength?: number;
  /**
   * Canonical body bytes after the first l= bytes: content no signature covers (RFC 6376 8.2), which
   * anyone may have added. Set only when l= is shorter than the body. A pass with this set
   * authenticates the start of the body only.
   */
  unsignedBodyBytes?: number;
  signedHeaders: string[];
  timestamp?: number;
  expiration?: number;
  /** b= without white space (A-R header.b uses its start). */
  signature: string;
  /** The DKIM-Signature field this result is for. */
  field: HeaderField;
}

export interface DkimVerifyOptions {
  resolver: Resolver;
  /** Milliseconds since the epoch, for x= and t=. */
  now?: () => number;
  /** Accept rsa-sha1 (RFC 8301 forbids it; off by default). */
  allowSha1?: boolean;
  /** Smallest RSA key accepted, bits. Default 1024 (RFC 8301 3.2); lower values are ignored. */
  minRsaBits?: number;
  /** Most signatures verified per message; the rest are reported neutral, unchecked. Default 10. */
  maxSignatures?: number;
  /** Seconds a t= may lie in the future (clock skew). Default 300. */
  clockSkewSeconds?: number;
  /** Header limits when reading the message. */
  limits?: SplitLimits;
  /**
   * Stops the verification: pending key lookups are abandoned (temperror) and, in verifyDkim, a
   * message stream still being read is abandoned (see verifyDkim).
   */
  signal?: AbortSignal;
  /**
   * Body hashing shared with other verifiers (ARC): the verifier registers its hashes in it and
   * reads them at finish(), and its update() does nothing: the caller feeds the shared hashes.
   */
  bodyHashes?: BodyHashes;
}

const optionalPositiveInt = (v: unknown) => v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v > 0);

/**
 * Whether the schema (checkDkimVerifyOptions) would accept these options, decided by hand for the
 * usual keys (resolver, now, allowSha1, minRsaBits, maxSignatures, signal): false leaves the decision,
 * and any refusal with its message, to the schema. Never true where the schema refuses
 * (test/dkim/options-check.test.ts compares the two). Zod was about 1.5% of a small message's time.
 */
export function plainDkimOptions(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  for (const key in v)
    if (key !== "resolver" && key !== "now" && key !== "allowSha1" && key !== "minRsaBits" && key !== "maxSignatures" && key !== "signal")
      return false;
  const { resolver, now, allowSha1, minRsaBits, maxSignatures, signal } = v;
  return (
    isResolver(resolver) &&
    (now === undefined || typeof now === "function") &&
    (allowSha1 === undefined || typeof allowSha1 === "boolean") &&
    optionalPositiveInt(minRsaBits) &&
    optionalPositiveInt(maxSignatures) &&
    (signal === undefined || isAbortSignal(signal))
  );
}

/** Options verifyDkim has just checked, for the verifier it makes next (synchronously) not to check again. */
let justChecked: DkimVerifyOptions | undefined;

function checkOptions(options: DkimVerifyOptions): void {
  // (justChecked is undefined when unset: options must not be undefined to pass as checked.)
  if (options === justChecked && options !== undefined) justChecked = undefined;
  // Vouched options (authenticate()'s) are the checker's own first answer: asked first, they skip
  // plainDkimOptions' walk of their keys, which stops at bodyHashes anyway.
  else if (!isVouched(options) && !plainDkimOptions(options)) checkDkimVerifyOptions(options);
}

const NO_GUARD_OPTIONS = Object.freeze({});

export type KeyLookup = { ok: true; key: DkimKey } | { ok: false; result: "permerror" | "temperror"; reason: string };

export async function fetchKey(resolver: Resolver, name: string): Promise<KeyLookup> {
  return readKey(guardResolver(resolver), name);
}

/**
 * fetchKey through a resolver already guarded (the verifier's). Not an async function: the answer's
 * own then, without an async frame and an await per key (about 0.1 us and 1 KB less a signature); a
 * throw rejects as before.
 */
function readKey(guarded: Resolver, name: string): Promise<KeyLookup> {
  // The guard validates the answer and bounds the wait; it never throws or rejects.
  let asked: Promise<DnsAnswer<string[]>>;
  try {
    asked = Promise.resolve(guarded.txt(name));
  } catch (thrown) {
    return Promise.reject(thrown);
  }
  return asked.then((answer) => keyOfAnswer(name, answer));
}

function keyOfAnswer(name: string, answer: DnsAnswer<string[]>): KeyLookup {
  if (answer.kind === "error") return { ok: false, result: "temperror", reason: `key lookup at ${name} failed: ${answer.reason}` };
  if (answer.kind !== "ok" || answer.records.length === 0)
    return { ok: false, result: "permerror", reason: `no key at ${name} (${answer.kind})` };
  let first: string | undefined;
  for (const record of answer.records) {
    const parsed = keyRecordAt(name, record);
    if (parsed.ok) return { ok: true, key: parsed.key };
    first ??= parsed.reason;
  }
  return { ok: false, result: "permerror", reason: `${name}: ${first}` };
}

/**
 * The last key record read at each name (oldest name first out) with what parseKeyRecord made of
 * it. Resolvers give a new string for every answer, so finding it in parseKeyRecord's cache hashes
 * the whole record (about 0.3 us for an RSA-2048 key); here the short name is hashed and the record
 * compared. The same text always gives parseKeyRecord's own (frozen, cached) result.
 */
const lastRecordAt = new Map<string, { text: string; parsed: KeyParse }>();
/** At most 256 names, records up to 4 KiB (an RSA-4096 key is under 1 KiB): at most about 1 MiB held. */
const MAX_NAMES = 256;
const MAX_KEPT_RECORD = 4096;

function keyRecordAt(name: string, text: string): KeyParse {
  const last = lastRecordAt.get(name);
  if (last !== undefined && last.text === text) return last.parsed;
  const parsed = parseKeyRecord(text);
  if (text.length > MAX_KEPT_RECORD) return parsed;
  if (last === undefined && lastRecordAt.size >= MAX_NAMES) lastRecordAt.delete(lastRecordAt.keys().next().value as string);
  lastRecordAt.set(name, { text, parsed });
  return parsed;
}

interface Pending {
  sig: DkimSignature;
  body: () => BodyHashResult;
  /** The key lookup's answer, once it is in. */
  lookup?: KeyLookup;
  /** With a key: why it cannot verify this signature (#keyProblem, decided once when it came in). */
  problem?: { result: "permerror" | "policy"; reason: string } | undefined;
  /**
   * The signature over the header fields, checked as soon as the key is in (it does not need the
   * body); undefined when the key cannot be used (#check reports why).
   */
  valid?: boolean | undefined;
  /** What the check threw, if it threw (finish() rejects with it). */
  error?: { thrown: unknown };
}

/**
 * Verifies the DKIM signatures of a message as it streams: construct with the header fields, feed
 * the body with update(), then finish(). Key lookups start at once and run while the body hashes.
 */
export class DkimVerifier {
  readonly #headers: readonly HeaderField[];
  readonly #options: DkimVerifyOptions;
  readonly #body: BodyHashes;
  readonly #ownBody: boolean;
  readonly #results: Array<DkimResult | Pending> = [];
  /** Key answers still awaited, and who waits for them (finish()). */
  #unsettled = 0;
  #waiting: Array<() => void> = [];

  constructor(headers: readonly HeaderField[], options: DkimVerifyOptions) {
    checkOptions(options);
    this.#headers = headers;
    this.#options = options;
    this.#body = options.bodyHashes ?? new BodyHashes();
    this.#ownBody = options.bodyHashes === undefined;
    const clock = options.now; // called as a function: msgauth's options object is not the caller's `this`
    const now = Math.floor((clock === undefined ? Date.now() : clock()) / 1000);
    const max = options.maxSignatures ?? 10;
    /**
     * The signatures waiting for each key name's answer: one lookup a name. The first name's list is
     * kept aside, so that a message with one key name (the usual one) needs no Map.
     */
    let firstName: string | undefined;
    const firstWaiting: Pending[] = [];
    let keys: Map<string, Pending[]> | undefined;
    // Made when the first key is looked up: a message without a signature to check needs none.
    let resolver: Resolver | undefined;
    let index = 0;
    for (const field of headers) {
      if (field.key !== "dkim-signature") continue;
      if (index++ >= max) {
        this.#results.push({
          testing: false,
          signedHeaders: [],
          signature: "",
          field,
          result: "neutral",
          reason: `not checked: more than ${max} signatures`,
          domain: "",
          selector: "",
        });
        continue;
      }
      const parsed = parseSignature(field);
      if (!parsed.ok) {
        // RFC 8601 2.7.1: neutral is for signatures with syntax errors.
        const r: DkimResult = {
          testing: false,
          signedHeaders: [],
          signature: "",
          field,
          result: "neutral",
          reason: parsed.reason,
          domain: parsed.domain,
          selector: parsed.selector,
        };
        if (parsed.algorithm !== undefined) r.algorithm = parsed.algorithm;
        this.#results.push(r);
        continue;
      }
      const sig = parsed.sig;
      const policy = this.#policyProblem(sig, now);
      if (policy) {
        this.#results.push(verdict(this.#describe(sig), "policy", policy));
        continue;
      }
      const spec: BodyHashSpec = { canon: sig.bodyCanon, hash: sig.hash };
      if (sig.bodyLength !== undefined) spec.limit = sig.bodyLength;
      const body = this.#body.add(spec);
      const name = `${sig.selector}._domainkey.${sig.domain}`.toLowerCase();
      const pending: Pending = { sig, body };
      this.#unsettled++;
      // The header signature does not depend on the body: check it when the key arrives, usually
      // before the body streams (its code and data are then still in cache, not pushed out by a
      // large body). The answer is kept on the pending signature, so that finish() waits for the
      // last key once and then decides every verdict at once (no async step per signature).
      let waiting = name === firstName ? firstWaiting : keys?.get(name);
      if (!waiting) {
        if (firstName === undefined) {
          firstName = name;
          waiting = firstWaiting;
        } else (keys ??= new Map()).set(name, (waiting = []));
        resolver ??= guardResolver(options.resolver, options.signal ? { signal: options.signal } : NO_GUARD_OPTIONS);
        this.#lookUp(resolver, name, waiting);
      }
      waiting.push(pending);
      this.#results.push(pending);
    }
  }

  /**
   * Looks the key at `name` up and hands its answer to every signature in `waiting` (filled before
   * the answer can come). readKey's work in the answer's own then, not in a then of its promise: one
   * promise and one microtask less a key.
   */
  #lookUp(guarded: Resolver, name: string, waiting: readonly Pending[]): void {
    // The guard validates the answer and bounds the wait; it never throws or rejects.
    let asked: Promise<DnsAnswer<string[]>>;
    try {
      asked = Promise.resolve(guarded.txt(name));
    } catch (thrown) {
      asked = Promise.reject(thrown);
    }
    asked.then(
      (answer) => {
        let lookup: KeyLookup;
        try {
          lookup = keyOfAnswer(name, answer);
        } catch (thrown) {
          for (const p of waiting) this.#keyIn(p, undefined, thrown);
          return;
        }
        for (const p of waiting) this.#keyIn(p, lookup);
      },
      // The guard never rejects; if it did, finish() would reject with it, as it did.
      (thrown) => {
        for (const p of waiting) this.#keyIn(p, undefined, thrown);
      },
    );
  }

  #keyIn(p: Pending, lookup: KeyLookup | undefined, rejected?: unknown): void {
    const sig = p.sig;
    try {
      if (lookup === undefined) throw rejected;
      p.lookup = lookup;
      const problem = lookup.ok ? this.#keyProblem(lookup.key, sig) : undefined;
      p.problem = problem;
      p.valid =
        lookup.ok && !problem
          ? verifyHeaderData(
              sig.keyType,
              sig.hash,
              // Written into a reused buffer (crypto reads it now): no allocation per signature.
              headerHashBytes(selectHeaders(this.#headers, sig.signedHeaders, sig.field), sig.field, sig.bValue, sig.headerCanon, true),
              lookup.key.publicKey,
              sig.signature,
            )
          : undefined;
    } catch (thrown) {
      p.error = { thrown }; // surfaces in finish()
    }
    if (--this.#unsettled === 0) {
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const wake of waiting) wake();
    }
  }

  #policyProblem(sig: DkimSignature, now: number): string | undefined {
    if (sig.hash === "sha1" && !this.#options.allowSha1) return "rsa-sha1 is not accepted (RFC 8301 3.1)";
    if (sig.expiration !== undefined && now > sig.expiration)
      return `signature expired at ${new Date(sig.expiration * 1000).toISOString()} (x=)`;
    const skew = this.#options.clockSkewSeconds ?? 300;
    if (sig.timestamp !== undefined && sig.timestamp > now + skew) return "signature timestamp t= is in the future";
    return undefined;
  }

  /**
   * The d= domains of the signatures being verified (A-labels, each once), known from the header
   * fields: what DMARC will align with the From domain, for looking its records up ahead.
   */
  get domains(): string[] {
    if (this.#results.length === 1) {
      // One signature (the usual message): its domain, without a Set.
      const r = this.#results[0]!;
      const d = "sig" in r ? r.sig.domain : r.result === "policy" ? r.domain : "";
      return d === "" ? [] : [d.toLowerCase()];
    }
    const out = new Set<string>();
    for (const r of this.#results) {
      const d = "sig" in r ? r.sig.domain : r.result === "policy" ? r.domain : "";
      if (d !== "") out.add(d.toLowerCase());
    }
    return [...out];
  }

  #describe(sig: DkimSignature): Omit<DkimResult, "result" | "reason"> {
    const r: Omit<DkimResult, "result" | "reason"> = {
      domain: sig.domain,
      selector: sig.selector,
      identity: sig.identity,
      algorithm: sig.algorithm,
      canonicalization: canonicalizationName(sig.headerCanon, sig.bodyCanon),
      testing: false,
      signedHeaders: sig.signedHeaders,
      signature: sig.signatureText,
      field: sig.field,
    };
    if (sig.bodyLength !== undefined) r.bodyLength = sig.bodyLength;
    if (sig.timestamp !== undefined) r.timestamp = sig.timestamp;
    if (sig.expiration !== undefined) r.expiration = sig.expiration;
    return r;
  }

  /** Feeds body bytes (after the blank line), in any chunking. (Not with shared bodyHashes.) */
  update(chunk: Uint8Array): void {
    if (this.#ownBody) this.#body.update(chunk);
  }

  /**
   * Ends the body and returns one result per DKIM-Signature field, top to bottom. Not an async
   * function: the verdicts are decided when the last key is in (at once when all are), and the one
   * promise returned settles with them, or rejects with what was thrown (no async frame, await and
   * wake-up promise: about 0.1 us a call).
   */
  finish(): Promise<DkimResult[]> {
    try {
      this.#body.end();
      if (this.#unsettled === 0) return Promise.resolve(this.#verdicts());
    } catch (thrown) {
      return Promise.reject(thrown);
    }
    return new Promise<DkimResult[]>((resolve, reject) =>
      this.#waiting.push(() => {
        try {
          resolve(this.#verdicts());
        } catch (thrown) {
          reject(thrown);
        }
      }),
    );
  }

  /** Every result, once every key answer is in. */
  #verdicts(): DkimResult[] {
    const out: DkimResult[] = [];
    for (const r of this.#results) out.push("sig" in r ? this.#check(r) : r);
    return out;
  }

  /** Why this key cannot verify this signature, if it cannot. */
  #keyProblem(key: DkimKey, sig: DkimSignature): { result: "permerror" | "policy"; reason: string } | undefined {
    if (key.keyType !== sig.keyType) return { result: "permerror", reason: `key type ${key.keyType} does not match a=${sig.algorithm}` };
    if (key.hashes && !key.hashes.includes(sig.hash)) return { result: "permerror", reason: `key h= does not allow ${sig.hash}` };
    if (key.strict) {
      const idDomain = sig.identity
        .slice(sig.identity.lastIndexOf("@") + 1)
        .toLowerCase()
        .replace(/\.$/, "");
      if (idDomain !== sig.domain) return { result: "permerror", reason: "key t=s requires i= to use exactly d=" };
    }
    const minBits = Math.max(this.#options.minRsaBits ?? 1024, 1024);
    if (key.keyType === "rsa" && key.bits < minBits) {
      return { result: "policy", reason: `RSA key of ${key.bits} bits is under ${minBits} (RFC 8301 3.2)` };
    }
    return undefined;
  }

  /** The verdict of a signature whose key answer is in (finish() waited for it). */
  #check(p: Pending): DkimResult {
    const { sig } = p;
    if (p.error) throw p.error.thrown;
    // The verdict is written into this object (verdict()), not spread into a copy of it.
    const base = this.#describe(sig);
    const body = p.body();
    base.canonicalBodyLength = body.canonicalLength;
    if (sig.bodyLength !== undefined && sig.bodyLength < body.canonicalLength)
      base.unsignedBodyBytes = body.canonicalLength - sig.bodyLength;
    const lookup = p.lookup!;
    if (!lookup.ok) return verdict(base, lookup.result, lookup.reason);
    const key = lookup.key;
    base.keyBits = key.bits;
    base.testing = key.testing;
    const problem = p.problem;
    if (problem) return verdict(base, problem.result, problem.reason);
    if (sig.bodyLength !== undefined && sig.bodyLength > body.canonicalLength) {
      return verdict(base, "fail", `l=${sig.bodyLength} is longer than the body (${body.canonicalLength} bytes)`, "body-length");
    }
    if (!equalBytes(body.digest, sig.bodyHash)) return verdict(base, "fail", "body hash did not verify", "body-hash");
    if (!p.valid) return verdict(base, "fail", "signature did not verify", "signature");
    let reason = "signature verified";
    if (sig.bodyLength !== undefined && sig.bodyLength < body.canonicalLength) {
      reason += `; l= covers ${sig.bodyLength} of ${body.canonicalLength} body bytes: the rest is unsigned`;
    }
    return verdict(base, "pass", reason);
  }
}

/**
 * Completes a described signature with its verdict, in place: the same properties, in the same
 * order, as spreading it into `{ ...described, result, failure, reason }`, without the copy.
 */
function verdict(
  described: Omit<DkimResult, "result" | "reason">,
  result: DkimResultWord,
  reason: string,
  failure?: DkimResult["failure"],
): DkimResult {
  const r = described as DkimResult;
  r.result = result;
  if (failure !== undefined) r.failure = failure;
  r.reason = reason;
  return r;
}

/** `${header}/${body}`, the usual four as constants (no string built a signature). */
function canonicalizationName(header: string, body: string): string {
  if (header === "relaxed") {
    if (body === "relaxed") return "relaxed/relaxed";
    if (body === "simple") return "relaxed/simple";
  } else if (header === "simple") {
    if (body === "relaxed") return "simple/relaxed";
    if (body === "simple") return "simple/simple";
  }
  return `${header}/${body}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The bytes a DKIM signature covers: the selected fields, then the signature field with b= empty. */
export function headerHashInput(
  headers: readonly HeaderField[],
  sig: Pick<DkimSignature, "signedHeaders" | "headerCanon" | "field" | "bValue">,
): Uint8Array {
  return headerHashBytes(selectHeaders(headers, sig.signedHeaders, sig.field), sig.field, sig.bValue, sig.headerCanon);
}

/**
 * Verifies every DKIM signature of a message (bytes, text or a stream). One result per
 * DKIM-Signature field; an empty list when there is none. Never throws for message or DNS content.
 * A stream whose body fails, or is abandoned when `signal` aborts, gives temperror for every
 * signature that needed the body; a stream whose header cannot be read rejects with its error.
 */
export function verifyDkim(message: MessageInput, options: DkimVerifyOptions): Promise<DkimResult[]> {
  // Not an async function: a message given whole gets finish()'s own promise (no async frame and
  // no adopting of that promise: about 0.1 us); every throw still becomes a rejection.
  try {
    checkOptions(options);
    if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
    if (typeof message === "string" || message instanceof Uint8Array) {
      // Given whole: read synchronously and fed as one chunk (no async iteration for one chunk).
      let whole: ParsedMessage;
      try {
        whole = openWhole(message, options.limits);
      } catch (err) {
        return Promise.resolve([unreadableMessage(`the message could not be read: ${describeError(err)}`)]);
      }
      justChecked = options; // nothing ran since the check: the verifier need not check again
      const verifier = new DkimVerifier(whole.headers, options);
      if (whole.body.length > 0) verifier.update(whole.body);
      return verifier.finish();
    }
  } catch (thrown) {
    return Promise.reject(thrown);
  }
  return verifyDkimStream(message, options);
}

/** verifyDkim of a message stream (options checked). */
async function verifyDkimStream(message: Exclude<MessageInput, string | Uint8Array>, options: DkimVerifyOptions): Promise<DkimResult[]> {
  let opened: Awaited<ReturnType<typeof openMessage>>;
  try {
    opened = await openMessage(options.signal ? abortableStream(message, options.signal) : message, options.limits);
  } catch (err) {
    // The stream failed (or was aborted) before the header ended: no signature could be read, and
    // "no signatures" would be a lie. One temperror result says so (domain and selector "").
    return [unreadableMessage(`the message could not be read: ${describeError(err)}`)];
  }
  const verifier = new DkimVerifier(opened.headers, options); // checked again: the caller ran while the stream was read
  try {
    for await (const chunk of opened.body) verifier.update(chunk);
  } catch (err) {
    // The body stream failed or was abandoned: a verdict over part of the body is no verdict.
    const reason = `the message body could not be read: ${describeError(err)}`;
    return (await verifier.finish()).map((r) => {
      if (r.result !== "pass" && r.result !== "fail") return r;
      const out: DkimResult = { ...r, result: "temperror", reason };
      delete out.failure;
      return out;
    });
  }
  return verifier.finish();
}

/** The placeholder `field` of a result for a message whose header could not be read. */
const NO_FIELD: HeaderField = { name: "", key: "", raw: new Uint8Array(0), colon: -1, malformed: true };

function unreadableMessage(reason: string): DkimResult {
  return { result: "temperror", reason, domain: "", selector: "", testing: false, signedHeaders: [], signature: "", field: NO_FIELD };
}
