export { MemoryStateStore } from "./memory.js";
export { openRedisStore, type RedisCommander, RedisStateStore, type RedisStoreOptions } from "./redis.js";
export { openSqliteStore, SqliteStateStore, type SqliteStoreOptions, sqliteSupported } from "./sqlite.js";
export { type CounterChange, type SetOptions, type Store, StoreError, type StoreErrorCode } from "./types.js";
