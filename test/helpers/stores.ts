import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStateStore, openRedisStore, openSqliteStore, type Store, sqliteSupported } from "../../src/store/index.js";
import { hasRedisServer, startRedisServer } from "./redis-server.js";

export const HAS_SQLITE = sqliteSupported();
export const HAS_REDIS = hasRedisServer();
if (!HAS_SQLITE)
  console.warn(
    `SQLITE ABSENT: node:sqlite needs Node 22.13+ (this is ${process.versions.node}); the SQLite store tests are skipped (.ci/run also runs the suite under Node 24)`,
  );
if (!HAS_REDIS) console.warn("REDIS ABSENT: the Redis store tests are skipped (.ci/run installs redis-server from Debian)");

export interface StoreKind {
  kind: "memory" | "sqlite" | "redis";
  available: boolean;
  /** A fresh, empty store; the second call of the same test run may share the backend (file, server). */
  open: () => Promise<Store>;
  /** Stops servers, removes nothing the OS does not clean. */
  teardown: () => Promise<void>;
}

let redis: { url: string; stop: () => void } | undefined;
let redisDb = 0;

/** The three store kinds, each opening fresh, isolated stores. */
export function storeKinds(): StoreKind[] {
  return [
    { kind: "memory", available: true, open: async () => new MemoryStateStore(), teardown: async () => {} },
    {
      kind: "sqlite",
      available: HAS_SQLITE,
      open: async () => openSqliteStore(join(mkdtempSync(join(tmpdir(), "msgauth-store-")), "state.db")),
      teardown: async () => {},
    },
    {
      kind: "redis",
      available: HAS_REDIS,
      open: async () => {
        redis ??= await startRedisServer();
        return openRedisStore({ url: redis.url, prefix: `t${redisDb++}:` });
      },
      teardown: async () => {
        redis?.stop();
        redis = undefined;
      },
    },
  ];
}
