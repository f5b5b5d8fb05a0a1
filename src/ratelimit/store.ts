import { ArgumentError, OptionsError } from "../errors.js";

/**
 * What every bucket store shares: the result of a take, the store interface, the bounds on every
 * number that reaches a store, and the errors for a wrong call and for a store fault.
 */

/** Why a take could not ask the store: the result carries it, and `onFault` is called with it. */
export type RateLimitFault =
  /** The store did not answer within the limiter's `timeoutMs` (a stopped or overloaded Redis). */
  | "timeout"
  /** The store could not be asked: connection refused or lost, too many calls in flight, Redis busy or loading. */
  | "unavailable"
  /** The store answered with an error or with something that is not a result (the Lua script failed). */
  | "script-error";

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take (0 when the store could not be asked). */
  remaining: number;
  /** When refused by the bucket: milliseconds until enough tokens are back (0 after a fault). */
  retryAfterMs: number;
  /** Set when the store could not decide: `allowed` is then the configured fail-open or fail-closed answer. */
  fault?: RateLimitFault;
  /** With `fault`: what went wrong, in words. */
  error?: string;
}

/** Where buckets live: memory for one process, Redis for a fleet. */
export interface RateLimitStore {
  /**
   * Takes `tokens` from the bucket `key` atomically; `nowMs` undefined means the store's own clock.
   * The limiter calls it with arguments inside {@link RATE_LIMIT_BOUNDS} only, and never waits for it
   * longer than its `timeoutMs`. To report a fault of a known kind, reject with a {@link RateLimitFaultError};
   * any other rejection counts as `"unavailable"`.
   */
  take(key: string, capacity: number, refillPerMs: number, tokens: number, nowMs: number | undefined): Promise<TakeResult>;
}

/**
 * The ranges msgauth accepts (past them: an OptionsError for an option, an ArgumentError for an argument), so that every figure stays exact in a double (and in Redis's Lua) and
 * every expiry fits Redis: a bucket must refill from empty to full within `maxFillSeconds`.
 */
export const RATE_LIMIT_BOUNDS = Object.freeze({
  /** capacity: an integer from 1 to this. */
  maxCapacity: 1_000_000_000,
  /** refillPerSecond: above 0, at most this. */
  maxRefillPerSecond: 1_000_000_000,
  /** capacity / refillPerSecond: at most one year, so a bucket's Redis expiry stays far inside range. */
  maxFillSeconds: 365 * 24 * 3600,
  /** Keys longer than this (in UTF-16 units) are stored under their SHA-256 instead. */
  maxKeyLength: 256,
  /** timeoutMs: an integer from 1 to this. */
  maxTimeoutMs: 60_000,
  /** An injected clock must read between 0 and this (milliseconds; year 2286). */
  maxNowMs: 10_000_000_000_000,
});

/** Throws the OptionsError for a bad option (`path` "options.capacity") or ArgumentError for a bad argument ("tokens"). */
export function refuse(path: string, message: string): never {
  if (path.startsWith("options")) throw new OptionsError("ERR_MSGAUTH_INVALID_OPTION", path, `${path}: ${message}`);
  throw new ArgumentError(`${path}: ${message}`);
}

/** A store reports a fault of a known kind by rejecting with this. */
export class RateLimitFaultError extends Error {
  readonly fault: RateLimitFault;
  constructor(fault: RateLimitFault, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RateLimitFaultError";
    this.fault = fault;
  }
}

/** Refuses an options object with keys other than `known` (a misspelt option is never ignored). */
export function checkKnownOptions(options: object, known: readonly string[], path: string): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new OptionsError(
        "ERR_MSGAUTH_UNKNOWN_OPTION",
        `${path}.${name}`,
        `${path}.${name}: unknown option (known: ${known.join(", ")})`,
      );
    }
  }
}

/** An integer from `min` to `max`, or an OptionsError / ArgumentError naming `path`. */
export function checkInteger(value: unknown, min: number, max: number, path: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    refuse(path, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Checks capacity and refill rate together (each in range, and the bucket refills within a year). */
export function checkBucket(capacity: unknown, refillPerSecond: unknown, path: string): void {
  checkInteger(capacity, 1, RATE_LIMIT_BOUNDS.maxCapacity, `${path}capacity`);
  if (typeof refillPerSecond !== "number" || !(refillPerSecond > 0) || !(refillPerSecond <= RATE_LIMIT_BOUNDS.maxRefillPerSecond)) {
    refuse(
      `${path}refillPerSecond`,
      `must be a number above 0 and at most ${RATE_LIMIT_BOUNDS.maxRefillPerSecond}, got ${describe(refillPerSecond)}`,
    );
  }
  const fillSeconds = (capacity as number) / refillPerSecond;
  if (!(fillSeconds <= RATE_LIMIT_BOUNDS.maxFillSeconds)) {
    refuse(
      `${path}refillPerSecond`,
      `a bucket of ${capacity} refilling at ${refillPerSecond}/s takes ${fillSeconds} s to refill; the most is ${RATE_LIMIT_BOUNDS.maxFillSeconds} s (one year)`,
    );
  }
}

/**
 * Checks what a store is asked (stores are public, so they check too): a key of at most
 * `maxKeyLength`, a bucket in range, 1 to capacity tokens, and a clock in range.
 */
export function checkTake(key: unknown, capacity: unknown, refillPerMs: unknown, tokens: unknown, nowMs: unknown): void {
  if (typeof key !== "string") refuse("key", `must be a string, got ${describe(key)}`);
  if (key.length > RATE_LIMIT_BOUNDS.maxKeyLength) {
    refuse("key", `is ${key.length} long; a store takes at most ${RATE_LIMIT_BOUNDS.maxKeyLength} (RateLimiter hashes longer keys)`);
  }
  checkBucket(capacity, typeof refillPerMs === "number" ? refillPerMs * 1000 : refillPerMs, "");
  checkInteger(tokens, 1, capacity as number, "tokens");
  if (nowMs !== undefined) checkInteger(nowMs, 0, RATE_LIMIT_BOUNDS.maxNowMs, "nowMs");
}

export function describe(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return value === null ? "null" : typeof value;
}
