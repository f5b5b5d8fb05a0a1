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
  /** Made when the first chunk is hashed as it comes (or at once for an algorithm other than sha256 and sha1). */
  hash: Hash | undefined;
  algorithm: string;
  limit: number | undefined;
  count: number;
  result?: BodyHashResult;
}

interface CanonState {
  canon: BodyCanonicalizer;
  sinks: Sink[];
  total: number;
  /**
   * The canonical body while it is one chunk (up to MAX_HELD bytes), not yet given to the sinks: a
   * view of `held` while `heldBy` is this state, else a copy of its own. Undefined once the sinks
   * have it.
   */
  first: Uint8Array | undefined;
  /** Whether a chunk came: only the first is held. */
  started: boolean;
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

/**
 * A canonical body that comes as one chunk (a small body given whole) is hashed at end() in one
 * crypto.hash call per sink instead of createHash, update and digest (about 0.4 us less). Until a
 * second chunk or end() comes, that chunk (valid only during the sink call) waits in `held`, one
 * module buffer: copying into it costs no allocation, where a copy of its own churned Buffer's pool.
 * A state holding it while another state needs it gets a copy of its own (states of messages read
 * side by side): bounded, one buffer of MAX_HELD bytes.
 */
const MAX_HELD = 16 * 1024;
let held = new Uint8Array(0);
let heldBy: CanonState | undefined;

function hold(state: CanonState, chunk: Uint8Array): void {
  if (heldBy !== undefined && heldBy !== state && heldBy.first !== undefined) heldBy.first = heldBy.first.slice();
  if (held.length < chunk.length) held = new Uint8Array(Math.min(MAX_HELD, Math.max(chunk.length, 2 * held.length, 1024)));
  held.set(chunk);
  heldBy = state;
  state.first = held.subarray(0, chunk.length);
}

/** The held chunk, out of `held`: `held` is free for another state. */
function release(state: CanonState): void {
  state.first = undefined;
  if (heldBy === state) heldBy = undefined;
}

/** Hashes canonical body bytes into the state's sinks (within l=), creating their hashes as needed. */
function feed(state: CanonState, chunk: Uint8Array): void {
  for (const sink of state.sinks) {
    if (sink.limit === undefined) {
      (sink.hash ??= createHash(sink.algorithm)).update(chunk);
      sink.count += chunk.length;
    } else if (sink.count < sink.limit) {
      const take = Math.min(chunk.length, sink.limit - sink.count);
      (sink.hash ??= createHash(sink.algorithm)).update(take === chunk.length ? chunk : chunk.subarray(0, take));
      sink.count += take;
    }
  }
}

/** The digest of a sink whose state's body is the one chunk `first` (never fed). */
function digestOf(sink: Sink, first: Uint8Array): Buffer {
  const bytes = sink.limit === undefined || sink.limit >= first.length ? first : first.subarray(0, sink.limit);
  sink.count = bytes.length;
  return sink.hash !== undefined ? sink.hash.update(bytes).digest() : oneShotHash(sink.algorithm, bytes, "buffer");
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
      sink = { hash: deferred ? undefined : createHash(spec.hash), algorithm: spec.hash, limit: spec.limit, count: 0 };
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
      const st: CanonState = { canon: undefined as unknown as BodyCanonicalizer, sinks: [], total: 0, first: undefined, started: false };
      st.canon = new BodyCanonicalizer(mode, (chunk) => {
        st.total += chunk.length;
        if (!st.started) {
          st.started = true;
          if (chunk.length <= MAX_HELD) return hold(st, chunk);
        } else if (st.first !== undefined) {
          feed(st, st.first);
          release(st);
        }
        feed(st, chunk);
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
      const first = state.started ? state.first : EMPTY;
      for (const sink of state.sinks) {
        // (A sink never fed, l=0, has no hash yet: the digest of nothing.)
        const digest =
          first !== undefined
            ? digestOf(sink, first)
            : sink.hash !== undefined
              ? sink.hash.digest()
              : oneShotHash(sink.algorithm, EMPTY, "buffer");
        sink.result = { digest: new Uint8Array(digest), canonicalLength: state.total, hashedLength: sink.count };
      }
      release(state);
    }
  }
}
