import { checkOptionKeys } from "../options.js";
import { type CounterChange, checkChanges, checkName, checkSet, type SetOptions, type Store, StoreError } from "./types.js";

/** Everything in this process's memory: for tests and single-process tools. Lost on exit. */
export class MemoryStateStore implements Store {
  readonly kind = "memory";
  readonly #maps = new Map<string, Map<string, number>>();
  readonly #values = new Map<string, { value: string; expires: number | undefined }>();
  readonly #now: () => number;
  #closed = false;
  #sets = 0;

  constructor(options: { now?: () => number } = {}) {
    checkOptionKeys(options, ["now"], "options", (k) => `unknown MemoryStateStore option ${k}`);
    this.#now = options.now ?? Date.now;
  }

  /** Values held, expired ones not yet swept included (for tests and metrics). */
  get valueCount(): number {
    return this.#values.size;
  }

  #open(): void {
    if (this.#closed) throw new StoreError("closed", "the store is closed");
  }

  async increment(changes: readonly CounterChange[]): Promise<void> {
    checkChanges(changes);
    this.#open();
    for (const c of changes) {
      let m = this.#maps.get(c.map);
      if (!m) this.#maps.set(c.map, (m = new Map()));
      m.set(c.field, (m.get(c.field) ?? 0) + c.by);
    }
  }

  async *entries(map: string): AsyncIterable<[string, number]> {
    checkName("map", map);
    this.#open();
    const m = this.#maps.get(map);
    if (m) yield* m.entries(); // no copy: a million rows stay a million rows
  }

  async maps(prefix: string): Promise<string[]> {
    this.#open();
    return [...this.#maps.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async take(from: string, to: string): Promise<boolean> {
    checkName("map", from);
    checkName("map", to);
    this.#open();
    const m = this.#maps.get(from);
    if (!m || this.#maps.has(to)) return false;
    this.#maps.delete(from);
    this.#maps.set(to, m);
    return true;
  }

  async deleteMap(map: string): Promise<void> {
    checkName("map", map);
    this.#open();
    this.#maps.delete(map);
  }

  async get(key: string): Promise<string | undefined> {
    checkName("key", key);
    this.#open();
    const v = this.#values.get(key);
    if (v?.expires !== undefined && v.expires <= this.#now()) {
      this.#values.delete(key);
      return undefined;
    }
    return v?.value;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    checkSet(key, value, options);
    // Expired values are invisible at once and removed every 1,000 sets.
    if (++this.#sets % 1000 === 0) {
      const now = this.#now();
      for (const [k, v] of this.#values) if (v.expires !== undefined && v.expires <= now) this.#values.delete(k);
    }
    if (options?.ifAbsent && (await this.get(key)) !== undefined) return false;
    this.#open();
    this.#values.set(key, { value, expires: options?.ttlMs !== undefined ? this.#now() + options.ttlMs : undefined });
    return true;
  }

  async delete(key: string): Promise<void> {
    checkName("key", key);
    this.#open();
    this.#values.delete(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
