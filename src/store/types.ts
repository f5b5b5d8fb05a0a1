import { ArgumentError } from "../errors.js";
import { checkOptionKeys, invalidOption } from "../options.js";
/**
 * One small interface for all persistent state (report counters, caches, leases), with three kinds
 * behind it: memory (tests, one process), SQLite through node:sqlite (one host, survives restarts) and
 * Redis (a fleet of hosts). Two primitives cover what reporting needs:
 *
 * - counter maps: named maps of field -> integer, incremented atomically (several changes in one call
 *   land together or not at all), read back in pages, and handed over whole with take();
 * - values: a string under a key, with an optional expiry and an optional only-if-absent (a lease).
 */
export interface Store {
  readonly kind: "memory" | "sqlite" | "redis";
  /** Adds each change's `by` to field `field` of map `map`, all in one atomic step; resolves once stored. */
  increment(changes: readonly CounterChange[]): Promise<void>;
  /** The fields of a map with their counts, read in pages; no order promised. Each field once. */
  entries(map: string): AsyncIterable<[field: string, count: number]>;
  /** Names of the non-empty maps that start with `prefix`, sorted. */
  maps(prefix: string): Promise<string[]>;
  /**
   * Renames map `from` to `to` in one atomic step. Resolves true for exactly one caller: false when
   * `from` does not exist (someone else took it) or `to` already exists.
   */
  take(from: string, to: string): Promise<boolean>;
  deleteMap(map: string): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Stores a value; with `ifAbsent`, only when the key is absent (resolves false if it was present). */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Releases the connection or file; later calls reject with StoreError "closed". */
  close(): Promise<void>;
}

export interface CounterChange {
  map: string;
  field: string;
  by: number;
}

export interface SetOptions {
  /** Expire after this many milliseconds. */
  ttlMs?: number;
  /** Only set when the key is absent. */
  ifAbsent?: boolean;
}

export type StoreErrorCode = "unsupported-runtime" | "unavailable" | "timeout" | "closed";

/**
 * A store could not do what was asked: the runtime lacks it (node:sqlite before Node 22.13), the
 * backend failed or did not answer in time, or the store was closed. A "timeout" on a write means the
 * write may or may not have happened.
 */
export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const MAX_NAME_LENGTH = 1024;
export const MAX_FIELD_LENGTH = 65_536;

/** Programmer errors: names, fields and amounts the store refuses (ArgumentError or OptionsError naming the problem). */
export function checkName(what: string, name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME_LENGTH)
    throw new ArgumentError(`${what} must be a string of 1-${MAX_NAME_LENGTH} characters`);
}

export function checkChanges(changes: readonly CounterChange[]): void {
  if (!Array.isArray(changes)) throw new ArgumentError("changes must be an array");
  for (const c of changes) {
    checkName("map", c.map);
    if (typeof c.field !== "string" || c.field.length > MAX_FIELD_LENGTH)
      throw new ArgumentError(`field must be a string of at most ${MAX_FIELD_LENGTH} characters`);
    if (!Number.isSafeInteger(c.by)) throw new ArgumentError("by must be a safe integer");
  }
}

export function checkSet(key: string, value: string, options: SetOptions | undefined): void {
  checkName("key", key);
  if (typeof value !== "string") throw new ArgumentError("value must be a string");
  if (options) {
    checkOptionKeys(options, ["ttlMs", "ifAbsent"], "options", (k) => `unknown set option ${k}`);
    if (options.ttlMs !== undefined && !(Number.isSafeInteger(options.ttlMs) && options.ttlMs > 0))
      throw invalidOption("options.ttlMs", "ttlMs must be a positive integer");
  }
}
