import { describeError } from "../errors.js";
import { checkInteger, checkKnownOptions, checkTake, RateLimitFaultError, type RateLimitStore, refuse, type TakeResult } from "./store.js";

/** The part of a Redis client the store needs: EVAL (ioredis and node-redis v4 `eval` fit with a wrapper). */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface RateLimitRedisStoreOptions {
  /** Prefix of every bucket's Redis key (default "msgauth:rl:"). */
  prefix?: string;
  /**
   * Most EVAL calls waiting for Redis at once (1 to 1,000,000; default 1,000). Past it a take is a
   * fault ("unavailable") at once, without sending: a stopped Redis cannot make calls pile up.
   */
  maxInFlight?: number;
}

/**
 * The token bucket as one Lua script: Redis runs it atomically, so any number of servers sharing the
 * Redis see one bucket per key. Without an injected time (ARGV[4] = -1) the script reads Redis's own
 * clock, so server clocks need not agree. Every number arrives as a decimal string in range (the
 * limiter checks), the expiry is computed by the caller as an integer, and state is written back with
 * %.17g so a double survives the round trip; state that is not a pair of numbers in range (written by
 * something else) starts a full bucket.
 */
const SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if capacity == nil or rate == nil or want == nil or now == nil or not (rate > 0) then
  return redis.error_reply('ERR msgauth rate limit: bad arguments')
end
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil or not (tokens >= 0) or not (ts >= 0 and ts <= 1e16) then
  tokens = capacity
  ts = now
end
if tokens > capacity then tokens = capacity end
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
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, string.format('%.17g', tokens), retry}
`;

/** Redis error replies that say the server cannot serve now, rather than that the script failed. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|OOM|NOREPLICAS|MISCONF)\b/;

/**
 * Buckets in Redis, shared by every server that uses the same Redis and prefix.
 *
 * A call that fails rejects with a {@link RateLimitFaultError}: `"script-error"` for an error reply
 * or a reply that is not a result, `"timeout"` for the client's own command timeout, `"unavailable"`
 * for everything else (connection refused or lost, offline, too many calls in flight, Redis loading
 * or busy). The {@link RateLimiter} turns these into a fail-open or fail-closed answer, within its deadline.
 */
export class RedisStore implements RateLimitStore {
  readonly #client: RedisEval;
  readonly #prefix: string;
  readonly #maxInFlight: number;
  #inFlight = 0;

  constructor(client: RedisEval, options: RateLimitRedisStoreOptions = {}) {
    if (typeof client?.eval !== "function") refuse("client", "must have an eval(script, numKeys, ...args) method");
    checkKnownOptions(options, ["prefix", "maxInFlight"], "options");
    if (options.prefix !== undefined && (typeof options.prefix !== "string" || options.prefix.length > 256)) {
      refuse("options.prefix", "must be a string of at most 256 characters");
    }
    this.#client = client;
    this.#prefix = options.prefix ?? "msgauth:rl:";
    this.#maxInFlight = options.maxInFlight === undefined ? 1000 : checkInteger(options.maxInFlight, 1, 1_000_000, "options.maxInFlight");
  }

  /** EVAL calls sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  async take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult> {
    checkTake(key, capacity, refillPerMs, tokens, nowMs);
    if (this.#inFlight >= this.#maxInFlight) {
      throw new RateLimitFaultError("unavailable", `${this.#inFlight} Redis calls are waiting for an answer (maxInFlight)`);
    }
    // The expiry: time to refill from empty, plus a second; at most a year and a second (checkTake).
    const ttlMs = Math.ceil(capacity / refillPerMs) + 1000;
    let reply: unknown;
    this.#inFlight++;
    try {
      reply = await this.#client.eval(
        SCRIPT,
        1,
        this.#prefix + key,
        String(capacity),
        String(refillPerMs),
        String(tokens),
        String(nowMs ?? -1),
        String(ttlMs),
      );
    } catch (err) {
      throw classify(err);
    } finally {
      this.#inFlight--;
    }
    return parseReply(reply);
  }
}

function classify(err: unknown): RateLimitFaultError {
  const message = describeError(err);
  let name = "";
  try {
    if (err instanceof Error && typeof err.name === "string") name = err.name;
  } catch {
    // a Proxy that throws: no name
  }
  // ioredis names a Redis error reply ReplyError; node-redis v4 ErrorReply.
  if (
    name === "ReplyError" ||
    name === "ErrorReply" ||
    /^(ERR|WRONGTYPE|NOSCRIPT|EXECABORT)\b/.test(message) ||
    UNAVAILABLE_REPLY.test(message)
  ) {
    return new RateLimitFaultError(UNAVAILABLE_REPLY.test(message) ? "unavailable" : "script-error", message, { cause: err });
  }
  if (/timed? ?out/i.test(message)) return new RateLimitFaultError("timeout", message, { cause: err });
  return new RateLimitFaultError("unavailable", message, { cause: err });
}

function parseReply(reply: unknown): TakeResult {
  if (Array.isArray(reply) && reply.length === 3) {
    const allowed = Number(reply[0]);
    const remaining = Number(reply[1]);
    const retryAfterMs = Number(reply[2]);
    if (
      (allowed === 0 || allowed === 1) &&
      Number.isFinite(remaining) &&
      remaining >= 0 &&
      Number.isInteger(retryAfterMs) &&
      retryAfterMs >= 0
    ) {
      return { allowed: allowed === 1, remaining, retryAfterMs };
    }
  }
  throw new RateLimitFaultError("script-error", "Redis answered something that is not a rate-limit result");
}

/**
 * ioredis options for a client that backs a RedisStore: commands fail at once while disconnected
 * instead of queueing, a lost command is not resent after a reconnect (the take was already answered),
 * a silent socket is dropped after `socketTimeoutMs`, and reconnects back off up to 2 s.
 * `new Redis({ host, port, ...ioredisOptions() })`. Wait for the client's "ready" event before the
 * first take, or that take is a fault ("unavailable").
 */
export function ioredisOptions(options: { socketTimeoutMs?: number } = {}): {
  enableOfflineQueue: false;
  autoResendUnfulfilledCommands: false;
  maxRetriesPerRequest: number;
  connectTimeout: number;
  socketTimeout: number;
  retryStrategy: (times: number) => number;
} {
  checkKnownOptions(options, ["socketTimeoutMs"], "options");
  const socketTimeout =
    options.socketTimeoutMs === undefined ? 5000 : checkInteger(options.socketTimeoutMs, 100, 600_000, "options.socketTimeoutMs");
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    socketTimeout,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
}
