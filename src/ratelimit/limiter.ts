import type { Reply } from "../smtp/reply.js";

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take. */
  remaining: number;
  /** When refused: milliseconds until enough tokens are back. */
  retryAfterMs: number;
}

/** Where buckets live: memory for one process, Redis for a fleet. */
export interface RateLimitStore {
  /** Takes `tokens` from the bucket `key` atomically; `nowMs` undefined means the store's own clock. */
  take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult>;
}

interface Bucket {
  tokens: number;
  ts: number;
}

/** Buckets in this process's memory, at most `maxKeys` (least recently used dropped first). */
export class MemoryStore implements RateLimitStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #maxKeys: number;

  constructor(options: { maxKeys?: number } = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.#buckets.size;
  }

  async take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult> {
    const now = nowMs ?? Date.now();
    let b = this.#buckets.get(key);
    if (b) this.#buckets.delete(key);
    else b = { tokens: capacity, ts: now };
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
    while (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
    return result;
  }
}

/** The part of a Redis client the store needs: EVAL (ioredis and node-redis v4 `eval` fit with a wrapper). */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * The token bucket as one Lua script: Redis runs it atomically, so any number of servers sharing the
 * Redis see one bucket per key. Without an injected time the script reads Redis's own clock, so server
 * clocks need not agree.
 */
const SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = capacity; ts = now end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
local retry = 0
if tokens >= want then
  tokens = tokens - want
  allowed = 1
else
  retry = math.ceil((want - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, tostring(tokens), retry}
`;

export class RedisStore implements RateLimitStore {
  readonly #client: RedisEval;
  readonly #prefix: string;

  constructor(client: RedisEval, options: { prefix?: string } = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? "msgauth:rl:";
  }

  async take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult> {
    const r = (await this.#client.eval(SCRIPT, 1, this.#prefix + key, capacity, refillPerMs, tokens, nowMs ?? -1)) as [
      number,
      string,
      number,
    ];
    return { allowed: Number(r[0]) === 1, remaining: Number(r[1]), retryAfterMs: Number(r[2]) };
  }
}

export interface RateLimiterOptions {
  /** Bucket size: how many may come at once. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  /** Default: a MemoryStore. */
  store?: RateLimitStore;
  /** Milliseconds clock; default: the store's (Redis: the server's time). */
  now?: () => number;
}

/**
 * A token-bucket limiter keyed by whatever you choose: "ip:192.0.2.1", "user:alice",
 * "domain:example.com". take() never throws for a store failure; it allows and says why, so a Redis
 * outage does not stop mail (fail open) unless you choose otherwise with `failClosed`.
 */
export class RateLimiter {
  readonly #o: RateLimiterOptions & { store: RateLimitStore };
  readonly #failClosed: boolean;

  constructor(options: RateLimiterOptions & { failClosed?: boolean }) {
    if (!(options.capacity > 0) || !(options.refillPerSecond > 0)) throw new RangeError("capacity and refillPerSecond must be positive");
    this.#o = { ...options, store: options.store ?? new MemoryStore() };
    this.#failClosed = options.failClosed ?? false;
  }

  async take(key: string, tokens = 1): Promise<TakeResult & { error?: string }> {
    try {
      return await this.#o.store.take(key, this.#o.capacity, this.#o.refillPerSecond / 1000, tokens, this.#o.now?.());
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { allowed: !this.#failClosed, remaining: 0, retryAfterMs: 0, error };
    }
  }
}

/** The SMTP reply for a refused take: 421 to end the session, or 450 for one command. */
export function rateLimitReply(result: TakeResult, scope: "session" | "command" = "command"): Reply {
  const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  return scope === "session"
    ? { code: 421, enhanced: "4.7.0", lines: [`Too many connections, try again in ${seconds} s`] }
    : { code: 450, enhanced: "4.7.1", lines: [`Rate limit exceeded, try again in ${seconds} s`] };
}
