import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError } from "../../src/errors.js";
import { ioredisOptions, MemoryStore, RateLimiter, RedisStore, rateLimitReply } from "../../src/ratelimit/index.js";
import { HAS_REDIS, RedisProcess } from "../helpers/redis-server.js";

describe("token bucket in memory", () => {
  it("allows the capacity at once, then refills at the rate", async () => {
    let now = 1_000_000;
    const rl = new RateLimiter({ capacity: 3, refillPerSecond: 1, now: () => now });
    const takes = [];
    for (let i = 0; i < 4; i++) takes.push(await rl.take("ip:192.0.2.1"));
    expect(takes.map((t) => t.allowed)).toEqual([true, true, true, false]);
    expect(takes[3]!.retryAfterMs).toBe(1000);
    expect(takes.every((t) => t.fault === undefined)).toBe(true);
    expect(rateLimitReply(takes[3]!)).toEqual({ code: 450, enhanced: "4.7.1", lines: ["Rate limit exceeded, try again in 1 s"] });
    now += 1000;
    expect((await rl.take("ip:192.0.2.1")).allowed).toBe(true);
    expect((await rl.take("ip:192.0.2.2")).allowed).toBe(true); // keys are separate
  });
  it("keeps at most maxKeys buckets", async () => {
    const store = new MemoryStore({ maxKeys: 10 });
    const rl = new RateLimiter({ capacity: 1, refillPerSecond: 1, store });
    for (let i = 0; i < 100; i++) await rl.take(`k${i}`);
    expect(store.size).toBe(10);
    expect(store.evicted).toBe(90);
  });
  it("a failing store fails open (or closed, when asked), never throws", async () => {
    const broken = { take: async () => Promise.reject(new Error("connection refused")) };
    expect(await new RateLimiter({ capacity: 1, refillPerSecond: 1, store: broken }).take("x")).toMatchObject({
      allowed: true,
      fault: "unavailable",
      error: "connection refused",
    });
    expect(await new RateLimiter({ capacity: 1, refillPerSecond: 1, store: broken, failClosed: true }).take("x")).toMatchObject({
      allowed: false,
      fault: "unavailable",
    });
  });
  it("a wrong call throws ArgumentError (typed, naming the argument)", async () => {
    const rl = new RateLimiter({ capacity: 2, refillPerSecond: 1 });
    await expect(rl.take(42 as unknown as string)).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringMatching(/^key:/),
    });
    await expect(rl.take("k", 3)).rejects.toBeInstanceOf(ArgumentError);
  });
});

if (!HAS_REDIS) console.warn("REDIS ABSENT: the Redis rate-limit tests are skipped (.ci/run installs redis-server from Debian)");

describe.skipIf(!HAS_REDIS)("token bucket shared through a real Redis", () => {
  const server = new RedisProcess();
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    await server.start();
    a = new Redis({ port: server.port, host: "127.0.0.1", ...ioredisOptions() });
    b = new Redis({ port: server.port, host: "127.0.0.1", ...ioredisOptions() });
    for (const c of [a, b]) c.on("error", () => {});
    await Promise.all([a, b].map((c) => new Promise((resolve) => c.once("ready", resolve))));
    await a.flushall();
  });
  afterAll(async () => {
    a?.disconnect();
    b?.disconnect();
    await server.dispose();
  });

  it("the same bucket semantics as memory, with an injected clock", async () => {
    let now = 5_000_000;
    const rl = new RateLimiter({ capacity: 2, refillPerSecond: 0.5, store: new RedisStore(a), now: () => now });
    const t = [await rl.take("user:alice"), await rl.take("user:alice"), await rl.take("user:alice")];
    expect(t.map((x) => x.allowed)).toEqual([true, true, false]);
    expect(t[2]!.retryAfterMs).toBe(2000);
    expect(t.every((x) => x.fault === undefined)).toBe(true);
    now += 2000;
    expect((await rl.take("user:alice")).allowed).toBe(true);
  });

  it("is atomic under concurrency across two servers' clients: exactly the capacity is allowed", async () => {
    const limiters = [a, b].map(
      (client) =>
        new RateLimiter({ capacity: 50, refillPerSecond: 0.001, timeoutMs: 5000, store: new RedisStore(client, { prefix: "fleet:" }) }),
    );
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => limiters[i % 2]!.take("ip:203.0.113.5")));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    expect(results.every((r) => r.fault === undefined && r.error === undefined)).toBe(true);
  });

  it("uses Redis's own clock when none is injected, and buckets expire", async () => {
    const rl = new RateLimiter({ capacity: 1, refillPerSecond: 100, store: new RedisStore(a, { prefix: "clock:" }) });
    expect((await rl.take("k")).allowed).toBe(true);
    const ttl = await a.pttl("clock:k");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1010);
  });
});
