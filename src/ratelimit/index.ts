export { RateLimiter, type RateLimiterOptions, type RateLimitFaultEvent, rateLimitReply } from "./limiter.js";
export { MemoryStore, type MemoryStoreOptions } from "./memory.js";
export { ioredisOptions, type RedisEval, RedisStore, type RedisStoreOptions } from "./redis.js";
export {
  RATE_LIMIT_BOUNDS,
  type RateLimitFault,
  RateLimitFaultError,
  type RateLimitStore,
  type TakeResult,
} from "./store.js";
