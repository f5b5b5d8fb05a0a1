import { ArgumentError } from "../errors.js";
import { checkOptionKeys, checkTimerMs, invalidOption } from "../options.js";
import { type CounterChange, checkChanges, checkName, checkSet, type SetOptions, type Store, StoreError } from "./types.js";

// The part of node:sqlite used here (Node 22.13+; @types/node 20 does not describe it).
interface Statement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Array<Record<string, unknown>>;
}
interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}
interface SqliteModule {
  DatabaseSync: new (path: string, options?: Record<string, unknown>) => Database;
}

export interface SqliteStoreOptions {
  /** "normal" (default): what a call acknowledged survives the process dying; "full" also survives
   * power loss (an fsync each commit, much slower). */
  durability?: "normal" | "full";
  /** Milliseconds to wait for another process's write lock before failing (0: fail at once). Default 5000; at most 2^31-1. */
  busyTimeoutMs?: number;
  /** Rows read per page by entries(). Default 1000. */
  pageSize?: number;
  /** Milliseconds clock for value expiry. */
  now?: () => number;
}

const OPTIONS = new Set(["durability", "busyTimeoutMs", "pageSize", "now"]);

/** True when this Node has node:sqlite without a flag (22.13 or later). */
export function sqliteSupported(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 13);
}

const UNSUPPORTED = (cause?: unknown) =>
  new StoreError(
    "unsupported-runtime",
    `the SQLite store needs node:sqlite, built into Node.js 22.13 or later (this is ${process.versions.node}); ` +
      "use the memory store or the Redis store instead",
    cause === undefined ? undefined : { cause },
  );

/**
 * Opens (creating if needed) a SQLite database file as a Store: the embedded default, one host, any
 * number of processes on it (WAL mode). Each increment() is one transaction, committed before it
 * resolves. Rejects with StoreError "unsupported-runtime" before Node 22.13; node:sqlite is imported
 * only here, so the package still loads on Node 20.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStateStore> {
  if (typeof path !== "string" || path === "") throw new ArgumentError("path must be a file path (or :memory:)");
  checkOptionKeys(options, OPTIONS, "options", (k) => `unknown SQLite store option ${k}`);
  if (options.durability !== undefined && options.durability !== "normal" && options.durability !== "full")
    throw invalidOption("options.durability", 'durability must be "normal" or "full"');
  // SQLite's busy_timeout is a C int, and 0 is its "fail at once on a lock".
  checkTimerMs(options.busyTimeoutMs, "options.busyTimeoutMs", 0);
  if (!sqliteSupported()) throw UNSUPPORTED();
  let mod: SqliteModule;
  try {
    const specifier = "node:sqlite";
    mod = (await import(/* @vite-ignore */ specifier)) as SqliteModule;
  } catch (err) {
    throw UNSUPPORTED(err);
  }
  let db: Database;
  try {
    db = new mod.DatabaseSync(path);
    db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
    db.exec(`CREATE TABLE IF NOT EXISTS counters (map TEXT NOT NULL, field TEXT NOT NULL, value INTEGER NOT NULL,
      PRIMARY KEY (map, field)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER) WITHOUT ROWID;`);
  } catch (err) {
    throw new StoreError("unavailable", `cannot open SQLite database ${path}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteStateStore(db, options);
}

export class SqliteStateStore implements Store {
  readonly kind = "sqlite";
  #db: Database | undefined;
  readonly #pageSize: number;
  readonly #now: () => number;
  readonly #s: Record<string, Statement>;
  #sets = 0;

  /** @internal Use openSqliteStore(). */
  constructor(db: Database, options: SqliteStoreOptions) {
    checkOptionKeys(options, OPTIONS, "options", (k) => `unknown SQLite store option ${k}`);
    this.#db = db;
    this.#pageSize = options.pageSize ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#s = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      incr: db.prepare(
        "INSERT INTO counters (map, field, value) VALUES (?, ?, ?) ON CONFLICT (map, field) DO UPDATE SET value = value + excluded.value",
      ),
      page: db.prepare("SELECT field, value FROM counters WHERE map = ? AND field > ? ORDER BY field LIMIT ?"),
      first: db.prepare("SELECT field, value FROM counters WHERE map = ? ORDER BY field LIMIT ?"),
      // One index seek per map name (not a scan of every row: a period can hold a million).
      firstMap: db.prepare("SELECT map FROM counters WHERE map >= ? ORDER BY map LIMIT 1"),
      nextMap: db.prepare("SELECT map FROM counters WHERE map > ? ORDER BY map LIMIT 1"),
      exists: db.prepare("SELECT 1 AS x FROM counters WHERE map = ? LIMIT 1"),
      move: db.prepare("UPDATE counters SET map = ? WHERE map = ?"),
      drop: db.prepare("DELETE FROM counters WHERE map = ?"),
      get: db.prepare("SELECT value, expires FROM kv WHERE key = ?"),
      put: db.prepare("INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)"),
      del: db.prepare("DELETE FROM kv WHERE key = ?"),
      purge: db.prepare("DELETE FROM kv WHERE expires IS NOT NULL AND expires <= ?"),
    };
  }

  #run<T>(what: string, fn: () => T): T {
    if (!this.#db) throw new StoreError("closed", "the store is closed");
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError("unavailable", `SQLite ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs fn in one write transaction (BEGIN IMMEDIATE takes the write lock first: no upgrade deadlock). */
  #tx<T>(what: string, fn: () => T): T {
    return this.#run(what, () => {
      this.#s.begin!.run();
      try {
        const r = fn();
        this.#s.commit!.run();
        return r;
      } catch (err) {
        this.#s.rollback!.run();
        throw err;
      }
    });
  }

  async increment(changes: readonly CounterChange[]): Promise<void> {
    checkChanges(changes);
    if (changes.length === 0) return;
    this.#tx("increment", () => {
      for (const c of changes) this.#s.incr!.run(c.map, c.field, c.by);
    });
  }

  async *entries(map: string): AsyncIterable<[string, number]> {
    checkName("map", map);
    let after: string | undefined;
    for (;;) {
      const rows = this.#run("read", () =>
        after === undefined ? this.#s.first!.all(map, this.#pageSize) : this.#s.page!.all(map, after, this.#pageSize),
      );
      for (const r of rows) yield [r.field as string, Number(r.value)];
      if (rows.length < this.#pageSize) return;
      after = rows[rows.length - 1]!.field as string;
    }
  }

  async maps(prefix: string): Promise<string[]> {
    return this.#run("read", () => {
      const out: string[] = [];
      let row = this.#s.firstMap!.get(prefix);
      while (row && (row.map as string).startsWith(prefix)) {
        out.push(row.map as string);
        row = this.#s.nextMap!.get(row.map);
      }
      return out;
    });
  }

  async take(from: string, to: string): Promise<boolean> {
    checkName("map", from);
    checkName("map", to);
    return this.#tx("take", () => {
      if (this.#s.exists!.get(to)) return false;
      return Number(this.#s.move!.run(to, from).changes) > 0;
    });
  }

  async deleteMap(map: string): Promise<void> {
    checkName("map", map);
    this.#run("delete", () => this.#s.drop!.run(map));
  }

  async get(key: string): Promise<string | undefined> {
    checkName("key", key);
    const row = this.#run("read", () => this.#s.get!.get(key));
    if (!row) return undefined;
    if (row.expires !== null && Number(row.expires) <= this.#now()) return undefined;
    return row.value as string;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    checkSet(key, value, options);
    // Expired values are invisible at once and removed every 1,000 sets (the file does not grow forever).
    if (++this.#sets % 1000 === 0) this.#run("purge", () => this.#s.purge!.run(this.#now()));
    const expires = options?.ttlMs !== undefined ? this.#now() + options.ttlMs : null;
    return this.#tx("set", () => {
      if (options?.ifAbsent) {
        const row = this.#s.get!.get(key);
        if (row && (row.expires === null || Number(row.expires) > this.#now())) return false;
      }
      this.#s.put!.run(key, value, expires);
      return true;
    });
  }

  async delete(key: string): Promise<void> {
    checkName("key", key);
    this.#run("delete", () => this.#s.del!.run(key));
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    db?.close();
  }
}
