export {
  MemoryStore,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitStore,
  type RedisEval,
  RedisStore,
  rateLimitReply,
  type TakeResult,
} from "./limiter.js";
