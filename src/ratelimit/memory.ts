import { checkInteger, checkKnownOptions, checkTake, type RateLimitStore, type TakeResult } from "./store.js";

interface Bucket {
  tokens: number;
  ts: number;
}

export interface RateLimitMemoryStoreOptions {
  /** Most buckets kept (1 to 10,000,000; default 100,000): past it the least recently used is dropped. */
  maxKeys?: number;
}

/**
 * Buckets in this process's memory, at most `maxKeys` of them, each key at most
 * `RATE_LIMIT_BOUNDS.maxKeyLength` long: memory stays bounded whatever keys the traffic makes up.
 * Past `maxKeys` the least recently used bucket is dropped; a dropped bucket comes back full, so size
 * `maxKeys` above the number of keys active within one refill period.
 */
export class MemoryStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;
  #evicted = 0;

  constructor(options: RateLimitMemoryStoreOptions = {}) {
    checkKnownOptions(options, ["maxKeys"], "options");
    this.#maxKeys = options.maxKeys === undefined ? 100_000 : checkInteger(options.maxKeys, 1, 10_000_000, "options.maxKeys");
  }

  /** Buckets held now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Buckets dropped to stay within `maxKeys` since this store was made. */
  get evicted(): number {
    return this.#evicted;
  }

  async take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult> {
    checkTake(key, capacity, refillPerMs, tokens, nowMs);
    const now = nowMs ?? Date.now();
    let b = this.#buckets.get(key);
    if (b)
      this.#buckets.delete(key); // re-inserted below: the Map's order is least recently used first
    else b = { tokens: capacity, ts: now };
    // A bucket made under a larger capacity keeps at most the current one.
    if (b.tokens > capacity) b.tokens = capacity;
    if (now > b.ts) {
      b.tokens = Math.min(capacity, b.tokens + (now - b.ts) * refillPerMs);
      b.ts = now;
    }
    let result: TakeResult;
    if (b.tokens >= tokens) {
      b.tokens -= tokens;
      result = { allowed: true, remaining: b.tokens, retryAfterMs: 0 };
    } else {
      result = { allowed: false, remaining: b.tokens, retryAfterMs: Math.ceil((tokens - b.tokens) / refillPerMs) };
    }
    this.#buckets.set(key, b);
    while (this.#buckets.size > this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value as string);
      this.#evicted++;
    }
    return result;
  }
}
