export { RateLimiter, type RateLimiterOptions, type RateLimitFaultEvent, rateLimitReply } from "./limiter.js";
export { MemoryStore, type RateLimitMemoryStoreOptions } from "./memory.js";
export { ioredisOptions, type RateLimitRedisStoreOptions, type RedisEval, RedisStore } from "./redis.js";
export {
  RATE_LIMIT_BOUNDS,
  type RateLimitFault,
  RateLimitFaultError,
  type RateLimitStore,
  type TakeResult,
} from "./store.js";
