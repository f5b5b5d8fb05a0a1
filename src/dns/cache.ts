import { checkCacheOptions } from "../options.js";
import { optionless, reasonText, validateAnswer } from "./guard.js";
import type { DnsAnswer, MxRecord, RecordType, Resolver } from "./types.js";
import { normalizeName } from "./types.js";

export interface CacheOptions {
  /** Most answers kept; the least recently used go first. Default 10,000. */
  maxEntries?: number;
  /** Seconds to keep an answer that carries no TTL. Default 300. */
  defaultTtl?: number;
  /** Seconds to keep NXDOMAIN/NODATA without a TTL (RFC 2308). Default 60. */
  negativeTtl?: number;
  /** Upper bound on any TTL, seconds. Default 86,400. */
  maxTtl?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** Milliseconds a pending lookup is shared before a new query replaces it. */
const PENDING_MS = 30_000;

interface Slot {
  expires: number;
  answer: Promise<DnsAnswer<unknown>>;
}

/**
 * A TTL-aware, size-bounded cache in front of any resolver. Concurrent identical queries share one
 * lookup. Failures (timeouts, SERVFAIL) are never cached.
 */
export class CachingResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #slots = new Map<string, Slot>();
  readonly #max: number;
  readonly #defaultTtl: number;
  readonly #negativeTtl: number;
  readonly #maxTtl: number;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(inner: Resolver, options: CacheOptions = {}) {
    checkCacheOptions(options);
    this.#inner = inner;
    this.#max = options.maxEntries ?? 10_000;
    this.#defaultTtl = options.defaultTtl ?? 300;
    this.#negativeTtl = options.negativeTtl ?? 60;
    this.#maxTtl = options.maxTtl ?? 86_400;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#slots.size;
  }

  clear(): void {
    this.#slots.clear();
  }

  #get<T>(type: RecordType, name: string, fetch: () => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    const key = `${type} ${normalizeName(name)}`;
    const now = this.#now();
    const slot = this.#slots.get(key);
    if (slot && slot.expires > now) {
      this.hits++;
      this.#slots.delete(key);
      this.#slots.set(key, slot);
      return slot.answer as Promise<DnsAnswer<T>>;
    }
    this.misses++;
    // The inner resolver is not trusted: a throw, a rejection or a malformed answer becomes an error
    // answer (never cached) before anything here reads it.
    let raw: Promise<unknown>;
    try {
      raw = Promise.resolve(fetch());
    } catch (err) {
      raw = Promise.reject(err);
    }
    const answer = raw.then(
      (a) => validateAnswer(type, a) as DnsAnswer<T>,
      (err: unknown): DnsAnswer<T> => ({ kind: "error", reason: reasonText(err, "the resolver failed") }),
    );
    // A lookup still pending after PENDING_MS is asked again: one that never settles must not answer
    // for its name for ever.
    const fresh: Slot = { expires: now + PENDING_MS, answer };
    this.#slots.set(key, fresh);
    while (this.#slots.size > this.#max) {
      this.#slots.delete(this.#slots.keys().next().value as string);
    }
    answer.then(
      (ans) => {
        if (this.#slots.get(key) !== fresh) return;
        if (ans.kind === "error") {
          this.#slots.delete(key);
          return;
        }
        const fallback = ans.kind === "ok" ? this.#defaultTtl : this.#negativeTtl;
        const ttl = Math.min(ans.ttl ?? fallback, this.#maxTtl);
        fresh.expires = this.#now() + ttl * 1000;
        if (ttl <= 0) this.#slots.delete(key);
      },
      () => this.#slots.delete(key),
    );
    return answer;
  }

  txt(name: string): Promise<DnsAnswer<string[]>> {
    return this.#get("TXT", name, () => this.#inner.txt(name));
  }
  a(name: string): Promise<DnsAnswer<string[]>> {
    return this.#get("A", name, () => this.#inner.a(name));
  }
  aaaa(name: string): Promise<DnsAnswer<string[]>> {
    return this.#get("AAAA", name, () => this.#inner.aaaa(name));
  }
  mx(name: string): Promise<DnsAnswer<MxRecord[]>> {
    return this.#get("MX", name, () => this.#inner.mx(name));
  }
  ptr(ip: string): Promise<DnsAnswer<string[]>> {
    return this.#get("PTR", ip, () => this.#inner.ptr(ip));
  }
}

// Its methods never read a query's options: the guard calls them without (see optionless).
optionless(...(["txt", "a", "aaaa", "mx", "ptr"] as const).map((m) => CachingResolver.prototype[m]));
