import { createHash } from "node:crypto";
import { describeError } from "../errors.js";
import type { Reply } from "../smtp/reply.js";
import { MemoryStore } from "./memory.js";
import {
  checkBucket,
  checkInteger,
  checkKnownOptions,
  describe,
  RATE_LIMIT_BOUNDS,
  type RateLimitFault,
  RateLimitFaultError,
  type RateLimitStore,
  refuse,
  type TakeResult,
} from "./store.js";

/** What `onFault` is told about a take the store could not decide. */
export interface RateLimitFaultEvent {
  fault: RateLimitFault;
  /** The key as stored: as given to take(), or "sha256:<hex of the key>" when longer than 256 characters or starting "sha256:". */
  key: string;
  error: string;
  /** The answer given instead: true when failing open. */
  allowed: boolean;
  /** How long the take waited for the store. */
  durationMs: number;
}

export interface RateLimiterOptions {
  /** Bucket size: how many may come at once (an integer, 1 to 1,000,000,000). */
  capacity: number;
  /** Tokens added per second (above 0; the bucket must refill from empty within a year). */
  refillPerSecond: number;
  /** Default: a MemoryStore. */
  store?: RateLimitStore;
  /** Milliseconds clock; default: the store's (Redis: the server's time). */
  now?: () => number;
  /** Longest wait for the store, in milliseconds (1 to 60,000; default 250). Past it the take is a "timeout" fault. */
  timeoutMs?: number;
  /** When the store cannot decide: refuse (true) or allow (false, the default). */
  failClosed?: boolean;
  /** Called once for each take that ends in a fault (an exception it throws is ignored). */
  onFault?: (event: RateLimitFaultEvent) => void;
}

const DIGEST_PREFIX = "sha256:";

const KNOWN_OPTIONS = ["capacity", "refillPerSecond", "store", "now", "timeoutMs", "failClosed", "onFault"] as const;

/**
 * A token-bucket limiter keyed by whatever you choose: "ip:192.0.2.1", "user:alice",
 * "domain:example.com".
 *
 * take() answers within `timeoutMs` whatever the store does. When the store cannot decide (it timed
 * out, is unreachable, or its script failed) the answer is `allowed: true` (fail open, the default) or
 * `allowed: false` (`failClosed: true`), with `fault` and `error` set and `onFault` called: a fault is
 * never a silent allow. take() throws only for a wrong call: an ArgumentError for a key that is not a
 * string or tokens not an integer from 1 to capacity, an OptionsError when the injected clock throws
 * or reads outside 0 to 10^13; the constructor throws an OptionsError for a bad or unknown option.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #store: RateLimitStore;
  readonly #now: (() => number) | undefined;
  readonly #timeoutMs: number;
  readonly #failClosed: boolean;
  readonly #onFault: ((event: RateLimitFaultEvent) => void) | undefined;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== "object" || options === null) refuse("options", "must be an object");
    checkKnownOptions(options, KNOWN_OPTIONS, "options");
    checkBucket(options.capacity, options.refillPerSecond, "options.");
    if (options.store !== undefined && typeof options.store?.take !== "function") refuse("options.store", "must have a take() method");
    if (options.now !== undefined && typeof options.now !== "function") refuse("options.now", "must be a function");
    if (options.onFault !== undefined && typeof options.onFault !== "function") refuse("options.onFault", "must be a function");
    if (options.failClosed !== undefined && typeof options.failClosed !== "boolean") refuse("options.failClosed", "must be a boolean");
    this.#timeoutMs =
      options.timeoutMs === undefined ? 250 : checkInteger(options.timeoutMs, 1, RATE_LIMIT_BOUNDS.maxTimeoutMs, "options.timeoutMs");
    this.#capacity = options.capacity;
    this.#refillPerMs = options.refillPerSecond / 1000;
    this.#store = options.store ?? new MemoryStore();
    this.#now = options.now;
    this.#failClosed = options.failClosed ?? false;
    this.#onFault = options.onFault;
  }

  async take(key: string, tokens = 1): Promise<TakeResult> {
    if (typeof key !== "string") refuse("key", `must be a string, got ${describe(key)}`);
    checkInteger(tokens, 1, this.#capacity, "tokens");
    let nowMs: number | undefined;
    if (this.#now) {
      let raw: unknown;
      try {
        raw = this.#now();
      } catch (err) {
        // A broken injected clock is a programming error, reported as such (never the caller's own Error).
        refuse("options.now", `threw: ${faultText(err)}`);
      }
      if (typeof raw !== "number" || !(raw >= 0 && raw <= RATE_LIMIT_BOUNDS.maxNowMs)) {
        refuse("options.now", `must return milliseconds from 0 to ${RATE_LIMIT_BOUNDS.maxNowMs}, returned ${describe(raw)}`);
      }
      nowMs = Math.floor(raw);
    }
    // A long key (a hostile user name, say) is stored under its digest: bounded memory, same bucket.
    // A key that itself starts with "sha256:" is hashed too, so the two namespaces never meet: every
    // stored key starting "sha256:" is a digest, every other one is the key as given.
    const storeKey =
      key.length > RATE_LIMIT_BOUNDS.maxKeyLength || key.startsWith(DIGEST_PREFIX)
        ? `${DIGEST_PREFIX}${createHash("sha256").update(key).digest("hex")}`
        : key;

    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RateLimitFaultError("timeout", `no answer from the store within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    let call: Promise<TakeResult>;
    try {
      call = Promise.resolve(this.#store.take(storeKey, this.#capacity, this.#refillPerMs, tokens, nowMs));
    } catch (err) {
      call = Promise.reject(err);
    }
    call.catch(() => {}); // it may fail after the deadline answered: not an unhandled rejection
    try {
      const result = await Promise.race([call, deadline]);
      if (!isResult(result)) throw new RateLimitFaultError("script-error", "the store answered something that is not a rate-limit result");
      return { allowed: result.allowed, remaining: result.remaining, retryAfterMs: result.retryAfterMs };
    } catch (err) {
      const fault = err instanceof RateLimitFaultError ? err.fault : "unavailable";
      const error = faultText(err);
      const allowed = !this.#failClosed;
      if (this.#onFault) {
        try {
          this.#onFault({ fault, key: storeKey, error, allowed, durationMs: performance.now() - started });
        } catch {
          // a hook's own failure must not change the answer
        }
      }
      return { allowed, remaining: 0, retryAfterMs: 0, fault, error };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The error in words (the shared describer never throws), at most 512 characters for log lines. */
function faultText(err: unknown): string {
  const text = describeError(err);
  return text.length > 512 ? `${text.slice(0, 512)}...` : text;
}

function isResult(r: unknown): r is TakeResult {
  if (typeof r !== "object" || r === null) return false;
  const { allowed, remaining, retryAfterMs } = r as Record<string, unknown>;
  return (
    typeof allowed === "boolean" &&
    typeof remaining === "number" &&
    Number.isFinite(remaining) &&
    typeof retryAfterMs === "number" &&
    Number.isFinite(retryAfterMs) &&
    retryAfterMs >= 0
  );
}

/** The SMTP reply for a refused take: 421 to end the session, or 450 for one command. */
export function rateLimitReply(result: TakeResult, scope: "session" | "command" = "command"): Reply {
  const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  return scope === "session"
    ? { code: 421, enhanced: "4.7.0", lines: [`Too many connections, try again in ${seconds} s`] }
    : { code: 450, enhanced: "4.7.1", lines: [`Rate limit exceeded, try again in ${seconds} s`] };
}
