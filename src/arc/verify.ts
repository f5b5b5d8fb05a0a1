import type { KeyObject } from "node:crypto";
import { BodyHashes, type BodyHashResult } from "../dkim/body-hash.js";
import { canonicalizeHeader, canonicalizeSignatureField, selectHeaders } from "../dkim/canonicalize.js";
import { verifyHeaderData } from "../dkim/crypto.js";
import { fetchKey, type KeyLookup } from "../dkim/verify.js";
import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { ArgumentError, describeError } from "../errors.js";
import { abortableStream } from "../message/abortable.js";
import type { HeaderField } from "../message/header.js";
import { isMessageInput, type MessageInput, openMessage } from "../message/input.js";
import { checkArcVerifyOptions } from "../options.js";
import { type ArcMessageSignature, type ArcSeal, type ArcSet, type ArcSetsParse, parseArcSets } from "./parse.js";

export interface ArcSetSummary {
  instance: number;
  /** d= of the ARC-Seal: who vouches for this hop. */
  sealer: string;
  cv: "none" | "pass" | "fail";
  /** The Authentication-Results this hop recorded (authserv-id and results). */
  authResults: string;
}

export interface ArcResult {
  /** RFC 8617 result: none (no ARC sets), pass, or fail. */
  result: "none" | "pass" | "fail";
  reason: string;
  /** The instance where validation failed. */
  failedInstance?: number;
  /** Number of ARC sets. */
  instances: number;
  /** The oldest instance whose ARC-Message-Signature still validates, 0 when all do (RFC 8617 5.2). */
  oldestPass?: number;
  /** The chain, oldest first. */
  sets: ArcSetSummary[];
}

export interface ArcVerifyOptions {
  resolver: Resolver;
  /** Smallest RSA key accepted, bits (never below 1024). */
  minRsaBits?: number;
  /** Body hashing shared with the DKIM verifier; the caller feeds it (see DkimVerifyOptions). */
  bodyHashes?: BodyHashes;
  /**
   * Stops the validation: pending key lookups are abandoned (the chain fails) and, in verifyArc, a
   * message stream still being read is abandoned (no pass).
   */
  signal?: AbortSignal;
}

const NO_ARC: ArcSetsParse = { kind: "none" };
const NO_SETS: readonly ArcSet[] = Object.freeze([]);

function hasArcField(headers: readonly HeaderField[]): boolean {
  for (const h of headers) {
    const k = h.key;
    if (k === "arc-seal" || k === "arc-message-signature" || k === "arc-authentication-results") return true;
  }
  return false;
}

/** ARC fields of instances above `instance`: they did not exist when that instance was made. */
function headersAt(headers: readonly HeaderField[], sets: readonly ArcSet[], instance: number): HeaderField[] {
  const later = new Set<HeaderField>();
  for (const s of sets) if (s.instance > instance) later.add(s.aar.field).add(s.ams.field).add(s.seal.field);
  return headers.filter((h) => !later.has(h));
}

/**
 * Validates an ARC chain as the message streams (RFC 8617 5.2): construct with the header fields,
 * feed the body, finish(). Key lookups start at once.
 */
export class ArcVerifier {
  readonly #headers: readonly HeaderField[];
  readonly #options: ArcVerifyOptions;
  readonly #body: BodyHashes;
  readonly #ownBody: boolean;
  readonly #early: ArcResult | undefined;
  readonly #sets: readonly ArcSet[] = NO_SETS; // the chain's, when there is one (most messages have none)
  // Made when there is a chain to check (most messages have none: no two Maps per message).
  #bodies: Map<number, () => BodyHashResult> | undefined;
  #keys: Map<string, Promise<KeyLookup>> | undefined;

  constructor(headers: readonly HeaderField[], options: ArcVerifyOptions) {
    checkArcVerifyOptions(options);
    this.#headers = headers;
    this.#options = options;
    this.#body = options.bodyHashes ?? new BodyHashes();
    this.#ownBody = options.bodyHashes === undefined;
    // Most messages have no ARC field: one pass over the keys answers "none" (parseArcSets gathers
    // each of the three names into its own list first).
    const parsed = hasArcField(headers) ? parseArcSets(headers) : NO_ARC;
    if (parsed.kind === "none") {
      this.#early = { result: "none", reason: "no ARC sets", instances: 0, sets: [] };
      return;
    }
    if (parsed.kind === "fail") {
      this.#early = {
        result: "fail",
        reason: parsed.reason,
        instances: 0,
        sets: [],
        ...(parsed.instance ? { failedInstance: parsed.instance } : {}),
      };
      return;
    }
    const sets = parsed.sets;
    this.#sets = sets;
    const n = sets.length;
    const last = sets[n - 1]!;
    const fail = (reason: string, instance: number): ArcResult => ({
      result: "fail",
      reason,
      failedInstance: instance,
      instances: n,
      sets: this.#summaries(),
    });
    // RFC 8617 5.2 step 2: a chain that already failed stays failed; cv must be none at 1, pass after.
    if (last.seal.cv === "fail") {
      this.#early = fail(`ARC-Seal ${n} says the chain had already failed (cv=fail)`, n);
      return;
    }
    for (const s of sets) {
      const want = s.instance === 1 ? "none" : "pass";
      if (s.seal.cv !== want) {
        this.#early = fail(`ARC-Seal ${s.instance} has cv=${s.seal.cv}, expected cv=${want} (RFC 8617 5.2)`, s.instance);
        return;
      }
    }
    this.#bodies = new Map();
    for (const s of sets) {
      this.#bodies.set(s.instance, this.#body.add({ canon: s.ams.bodyCanon, hash: "sha256" }));
      this.#key(s.ams.domain, s.ams.selector);
      this.#key(s.seal.domain, s.seal.selector);
    }
  }

  #summaries(): ArcSetSummary[] {
    return this.#sets.map((s) => ({ instance: s.instance, sealer: s.seal.domain, cv: s.seal.cv, authResults: s.aar.payload }));
  }

  #key(domain: string, selector: string): Promise<KeyLookup> {
    const name = `${selector}._domainkey.${domain}`.toLowerCase();
    this.#keys ??= new Map();
    let k = this.#keys.get(name);
    if (!k) {
      const { resolver, signal } = this.#options;
      k = fetchKey(signal ? guardResolver(resolver, { signal }) : resolver, name);
      this.#keys.set(name, k);
    }
    return k;
  }

  /** Feeds body bytes, in any chunking. (Not with shared bodyHashes.) */
  update(chunk: Uint8Array): void {
    if (!this.#early && this.#ownBody) this.#body.update(chunk);
  }

  async #checkKey(sig: ArcMessageSignature | ArcSeal): Promise<{ key: KeyObject } | { problem: string }> {
    const lookup = await this.#key(sig.domain, sig.selector);
    if (!lookup.ok) return { problem: lookup.reason };
    const key = lookup.key;
    if (key.keyType !== sig.keyType) return { problem: `key type ${key.keyType} does not match a=${sig.algorithm}` };
    if (key.hashes && !key.hashes.includes("sha256")) return { problem: "key h= does not allow sha256" };
    const min = Math.max(this.#options.minRsaBits ?? 1024, 1024);
    if (key.keyType === "rsa" && key.bits < min) return { problem: `RSA key of ${key.bits} bits is under ${min} (RFC 8301)` };
    return { key: key.publicKey };
  }

  async #amsValid(set: ArcSet): Promise<string | undefined> {
    const ams = set.ams;
    const body = this.#bodies!.get(set.instance)!();
    if (Buffer.compare(Buffer.from(body.digest), Buffer.from(ams.bodyHash)) !== 0) return "body hash did not verify";
    const k = await this.#checkKey(ams);
    if ("problem" in k) return k.problem;
    const visible = headersAt(this.#headers, this.#sets, set.instance);
    const data = Buffer.concat([
      ...selectHeaders(visible, ams.signedHeaders, ams.field).map((f) => canonicalizeHeader(f, ams.headerCanon)),
      canonicalizeSignatureField(ams.field, ams.bValue, ams.headerCanon),
    ]);
    return verifyHeaderData(ams.keyType, "sha256", data, k.key, ams.signature) ? undefined : "signature did not verify";
  }

  async #sealValid(set: ArcSet): Promise<string | undefined> {
    const k = await this.#checkKey(set.seal);
    if ("problem" in k) return k.problem;
    // RFC 8617 5.1.1: every set up to this one, AAR, AMS, AS, relaxed; this seal with b= empty.
    const parts: Uint8Array[] = [];
    for (const s of this.#sets) {
      if (s.instance > set.instance) break;
      parts.push(canonicalizeHeader(s.aar.field, "relaxed"), canonicalizeHeader(s.ams.field, "relaxed"));
      parts.push(
        s.instance === set.instance
          ? canonicalizeSignatureField(s.seal.field, s.seal.bValue, "relaxed")
          : canonicalizeHeader(s.seal.field, "relaxed"),
      );
    }
    return verifyHeaderData(set.seal.keyType, "sha256", Buffer.concat(parts), k.key, set.seal.signature)
      ? undefined
      : "seal signature did not verify";
  }

  /**
   * Checks one ARC-Seal's signature alone, whatever the chain's cv= values say: undefined when it
   * verifies, otherwise why not. For diagnosis; finish() gives the chain's verdict.
   */
  async checkSeal(instance: number): Promise<string | undefined> {
    const set = this.#sets[instance - 1];
    if (!set) return `no ARC set ${instance}`;
    return this.#sealValid(set);
  }

  /**
   * finish()'s result when it is known without a wait (no ARC set, the usual message, or a chain
   * that failed on its face), with the body ended as finish() ends it; undefined otherwise (then
   * await finish()). Spares authenticate() a promise and its turn per message.
   */
  finishNow(): ArcResult | undefined {
    if (this.#early === undefined) return undefined;
    this.#body.end();
    return this.#early;
  }

  async finish(): Promise<ArcResult> {
    this.#body.end();
    if (this.#early) return this.#early;
    const sets = this.#sets;
    const n = sets.length;
    const summaries = this.#summaries();
    const fail = (reason: string, instance: number): ArcResult => ({
      result: "fail",
      reason,
      failedInstance: instance,
      instances: n,
      sets: summaries,
    });
    // Step 3: the most recent AMS must validate.
    const latest = await this.#amsValid(sets[n - 1]!);
    if (latest) return fail(`ARC-Message-Signature ${n}: ${latest}`, n);
    // Step 4: oldest-pass, from the older AMSs.
    let oldestPass = 0;
    for (let i = n - 1; i >= 1; i--) {
      if (await this.#amsValid(sets[i - 1]!)) {
        oldestPass = i + 1;
        break;
      }
    }
    // Step 5: every seal, newest first.
    for (let i = n; i >= 1; i--) {
      const problem = await this.#sealValid(sets[i - 1]!);
      if (problem) return fail(`ARC-Seal ${i}: ${problem}`, i);
    }
    return { result: "pass", reason: `${n} ARC set${n === 1 ? "" : "s"} validate`, instances: n, oldestPass, sets: summaries };
  }
}

/**
 * Validates the ARC chain of a message. Never throws for message or DNS content. A stream whose body
 * fails gives no pass (a body hash over part of the body is no verdict); a stream whose header
 * cannot be read rejects with its error.
 */
export async function verifyArc(message: MessageInput, options: ArcVerifyOptions): Promise<ArcResult> {
  checkArcVerifyOptions(options);
  if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
  const stream = !(typeof message === "string" || message instanceof Uint8Array);
  let opened: Awaited<ReturnType<typeof openMessage>>;
  try {
    opened = await openMessage(stream && options.signal ? abortableStream(message, options.signal) : message);
  } catch (err) {
    // The stream failed (or was aborted) before the header ended: whether there is a chain is not
    // known, so never "none" (and never pass): the chain fails, with no sets read.
    return { result: "fail", reason: `the message could not be read: ${describeError(err)}`, instances: 0, sets: [] };
  }
  const verifier = new ArcVerifier(opened.headers, options);
  try {
    for await (const chunk of opened.body) verifier.update(chunk);
  } catch (err) {
    const result = await verifier.finish();
    const reason = `the message body could not be read: ${describeError(err)}`;
    return result.result === "none" ? result : { ...result, result: "fail", reason };
  }
  return verifier.finish();
}
