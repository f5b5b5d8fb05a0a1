import { createHash, type Hash, hash as oneShotHash } from "node:crypto";
import { StateError } from "../errors.js";
import { BodyCanonicalizer } from "./canonicalize.js";
import type { Canonicalization } from "./signature.js";

export interface BodyHashSpec {
  canon: Canonicalization;
  hash: "sha256" | "sha1";
  /** l=: hash only this many canonical bytes. */
  limit?: number;
}

export interface BodyHashResult {
  digest: Uint8Array;
  /** Canonical body bytes in the whole message (for l=, to show what was not signed). */
  canonicalLength: number;
  /** Bytes that went into the hash. */
  hashedLength: number;
}

interface Sink {
  /** Made at the second chunk (or at once for an algorithm other than sha256 and sha1). */
  hash: Hash | undefined;
  algorithm: string;
  /** A copy of the only chunk so far, while `hash` is not made. */
  first: Uint8Array | undefined;
  limit: number | undefined;
  count: number;
  result?: BodyHashResult;
}

interface CanonState {
  canon: BodyCanonicalizer;
  sinks: Sink[];
  total: number;
}

/** `${canon}/${hash}/-`, the usual four as constants (no string built and hashed for the lookup). */
function wholeBodyKey(canon: string, hash: string): string {
  if (hash === "sha256") {
    if (canon === "relaxed") return "relaxed/sha256/-";
    if (canon === "simple") return "simple/sha256/-";
  }
  return `${canon}/${hash}/-`;
}

const EMPTY = new Uint8Array(0);
/** The largest first chunk kept (copied) for a one-call hash; a larger one is hashed as it comes. */
const MAX_FIRST = 16 * 1024;

/** Hashes a chunk (valid only during the call): the first, if small, is kept until a second comes. */
function feed(sink: Sink, chunk: Uint8Array): void {
  if (sink.hash === undefined) {
    if (sink.first === undefined && chunk.length <= MAX_FIRST) {
      sink.first = Buffer.from(chunk);
      return;
    }
    sink.hash = createHash(sink.algorithm);
    if (sink.first !== undefined) sink.hash.update(sink.first);
    sink.first = undefined;
  }
  sink.hash.update(chunk);
}

/**
 * Body hashes for several signatures in one pass: each canonicalization runs once, and signatures
 * with the same canonicalization, hash and l= share one hash. DKIM and ARC verifiers can share one
 * (their `bodyHashes` option): then the caller feeds it, once.
 */
export class BodyHashes {
  readonly #canons = new Map<Canonicalization, CanonState>();
  readonly #sinks = new Map<string, Sink>();
  #ended = false;
  #fed = false;

  /** Distinct hashes computed (signatures that agree on canonicalization, hash and l= share one). */
  get size(): number {
    return this.#sinks.size;
  }

  /** Registers a body hash, before the body is fed; returns a function that gives its result after end(). */
  add(spec: BodyHashSpec): () => BodyHashResult {
    if (this.#fed) throw new StateError("BodyHashes.add after the body began");
    const key = spec.limit === undefined ? wholeBodyKey(spec.canon, spec.hash) : `${spec.canon}/${spec.hash}/${spec.limit}`;
    let sink = this.#sinks.get(key);
    if (!sink) {
      // A hash that sees one chunk (a small body given whole) is made at end() in one call
      // (crypto.hash: about 0.4 us less than createHash, update and digest); any other algorithm
      // is made here, so that a name createHash refuses is refused here, as before.
      const deferred = spec.hash === "sha256" || spec.hash === "sha1";
      sink = { hash: deferred ? undefined : createHash(spec.hash), algorithm: spec.hash, first: undefined, limit: spec.limit, count: 0 };
      this.#sinks.set(key, sink);
      this.#state(spec.canon).sinks.push(sink);
    }
    const s = sink;
    return () => {
      if (!s.result) throw new StateError("body hash read before end()");
      return s.result;
    };
  }

  #state(mode: Canonicalization): CanonState {
    let state = this.#canons.get(mode);
    if (!state) {
      const st: CanonState = { canon: undefined as unknown as BodyCanonicalizer, sinks: [], total: 0 };
      st.canon = new BodyCanonicalizer(mode, (chunk) => {
        st.total += chunk.length;
        for (const sink of st.sinks) {
          if (sink.limit === undefined) {
            feed(sink, chunk);
            sink.count += chunk.length;
          } else if (sink.count < sink.limit) {
            const take = Math.min(chunk.length, sink.limit - sink.count);
            feed(sink, take === chunk.length ? chunk : chunk.subarray(0, take));
            sink.count += take;
          }
        }
      });
      this.#canons.set(mode, st);
      state = st;
    }
    return state;
  }

  update(chunk: Uint8Array): void {
    this.#fed = true;
    for (const state of this.#canons.values()) state.canon.update(chunk);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const state of this.#canons.values()) {
      state.canon.end();
      for (const sink of state.sinks) {
        const digest = sink.hash !== undefined ? sink.hash.digest() : oneShotHash(sink.algorithm, sink.first ?? EMPTY, "buffer");
        sink.first = undefined;
        sink.result = { digest: new Uint8Array(digest), canonicalLength: state.total, hashedLength: sink.count };
      }
    }
  }
}
