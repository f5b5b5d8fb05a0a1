import { checkOptionKeys, checkTimerMs, invalidOption } from "../options.js";
import { type CounterChange, checkChanges, checkName, checkSet, type SetOptions, type Store, StoreError } from "./types.js";

/** The part of a Redis client the store uses: ioredis's `call` (any client can be wrapped to fit). */
export interface RedisCommander {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  /** Called by close() when the store opened the connection itself. */
  disconnect?(): void;
}

export interface RedisStoreOptions {
  /** A connected client (ioredis); or give `url` and the store connects with ioredis, loaded on demand. */
  client?: RedisCommander;
  url?: string;
  /** Prepended to every Redis key. Default "msgauth:". */
  prefix?: string;
  /** Milliseconds each call may take before it fails with StoreError "timeout". Default 2000; at most 2^31-1. */
  timeoutMs?: number;
  /** Fields read per HSCAN page by entries(). Default 1000. */
  pageSize?: number;
}

const OPTIONS = new Set(["client", "url", "prefix", "timeoutMs", "pageSize"]);

// KEYS: the hashes, then the index set; ARGV: field, by, map name for each hash.
const INCREMENT = `
local idx = KEYS[#KEYS]
for i = 1, #KEYS - 1 do
  redis.call('HINCRBY', KEYS[i], ARGV[3 * i - 2], ARGV[3 * i - 1])
  redis.call('SADD', idx, ARGV[3 * i])
end
return 1`;

// KEYS: from, to, index; ARGV: from name, to name.
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1`;

// UNLINK: a map of a million fields is freed in the background, not while every client waits.
const DELETE = `
redis.call('UNLINK', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1`;

/**
 * Opens a Store on Redis, shared by a fleet: increments are Lua scripts (atomic across all clients),
 * take() is an atomic RENAME so exactly one host gets a closed period. Every call has a deadline.
 * ioredis is an optional peer dependency, imported only when `url` is given.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStateStore> {
  checkOptionKeys(options, OPTIONS, "options", (k) => `unknown Redis store option ${k}`);
  checkTimerMs(options.timeoutMs, "options.timeoutMs");
  if (options.client) {
    if (typeof options.client.call !== "function") throw invalidOption("options.client", "client must have call() (an ioredis client)");
    return new RedisStateStore(options.client, options, false);
  }
  if (typeof options.url !== "string") throw invalidOption("options.url", "give a Redis client or a url");
  let Redis: new (url: string, o: Record<string, unknown>) => RedisCommander & { on(e: string, f: () => void): void };
  try {
    const specifier = "ioredis";
    const mod = (await import(/* @vite-ignore */ specifier)) as { default: typeof Redis };
    Redis = mod.default;
  } catch (err) {
    throw new StoreError("unsupported-runtime", "the Redis store needs the optional peer dependency ioredis: npm install ioredis", {
      cause: err,
    });
  }
  const client = new Redis(options.url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
  client.on("error", () => {}); // failures surface through each call's result
  return new RedisStateStore(client, options, true);
}

export class RedisStateStore implements Store {
  readonly kind = "redis";
  readonly #client: RedisCommander;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #pageSize: number;
  readonly #owned: boolean;
  #closed = false;

  /** Use openRedisStore(). */
  constructor(client: RedisCommander, options: RedisStoreOptions, owned: boolean) {
    checkOptionKeys(options, OPTIONS, "options", (k) => `unknown Redis store option ${k}`);
    checkTimerMs(options.timeoutMs, "options.timeoutMs");
    this.#client = client;
    this.#prefix = options.prefix ?? "msgauth:";
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#pageSize = options.pageSize ?? 1000;
    this.#owned = owned;
  }

  #map(name: string): string {
    return `${this.#prefix}m:${name}`;
  }
  get #index(): string {
    return `${this.#prefix}maps`;
  }

  async #call(command: string, ...args: Array<string | number>): Promise<unknown> {
    if (this.#closed) throw new StoreError("closed", "the store is closed");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreError("timeout", `Redis ${command} did not answer within ${this.#timeoutMs} ms (a write may have happened)`)),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#client.call(command, ...args), deadline]);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError("unavailable", `Redis ${command} failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async increment(changes: readonly CounterChange[]): Promise<void> {
    checkChanges(changes);
    if (changes.length === 0) return;
    const keys = changes.map((c) => this.#map(c.map));
    const argv = changes.flatMap((c) => [c.field, c.by, c.map]);
    await this.#call("EVAL", INCREMENT, keys.length + 1, ...keys, this.#index, ...argv);
  }

  async *entries(map: string): AsyncIterable<[string, number]> {
    checkName("map", map);
    // HSCAN may return a field twice when the hash is rehashed during the scan: keep the first.
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const [next, flat] = (await this.#call("HSCAN", this.#map(map), cursor, "COUNT", this.#pageSize)) as [string, string[]];
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i]!;
        if (seen.has(field)) continue;
        seen.add(field);
        yield [field, Number(flat[i + 1])];
      }
    } while (cursor !== "0");
  }

  async maps(prefix: string): Promise<string[]> {
    const names = (await this.#call("SMEMBERS", this.#index)) as string[];
    return names.filter((n) => n.startsWith(prefix)).sort();
  }

  async take(from: string, to: string): Promise<boolean> {
    checkName("map", from);
    checkName("map", to);
    return Number(await this.#call("EVAL", TAKE, 3, this.#map(from), this.#map(to), this.#index, from, to)) === 1;
  }

  async deleteMap(map: string): Promise<void> {
    checkName("map", map);
    await this.#call("EVAL", DELETE, 2, this.#map(map), this.#index, map);
  }

  async get(key: string): Promise<string | undefined> {
    checkName("key", key);
    const v = await this.#call("GET", `${this.#prefix}v:${key}`);
    return v === null || v === undefined ? undefined : String(v);
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    checkSet(key, value, options);
    const args: Array<string | number> = [`${this.#prefix}v:${key}`, value];
    if (options?.ttlMs !== undefined) args.push("PX", options.ttlMs);
    if (options?.ifAbsent) args.push("NX");
    return (await this.#call("SET", ...args)) === "OK";
  }

  async delete(key: string): Promise<void> {
    checkName("key", key);
    await this.#call("DEL", `${this.#prefix}v:${key}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) this.#client.disconnect?.();
  }
}
