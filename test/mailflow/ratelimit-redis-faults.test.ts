import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ioredisOptions,
  RATE_LIMIT_BOUNDS,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitFaultEvent,
  RedisStore,
  type TakeResult,
} from "../../src/ratelimit/index.js";
import { HAS_REDIS, RedisProcess } from "../helpers/redis-server.js";

// Each case breaks a real redis-server the way production does (kill -9, SIGSTOP, a key of the wrong
// type, state written by something else) and checks that take() answers within its deadline, open or
// closed as configured, and reports the fault. Bounded-time checks use generous margins (deadline + 1 s).

const TIMEOUT_MS = 250;
const MARGIN_MS = 1000;

async function timed<T>(p: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await p;
  return { result, ms: Date.now() - started };
}

/** Polls until a take answers without a fault (the store is back), at most `withinMs`. */
async function untilHealthy(rl: RateLimiter, withinMs: number): Promise<TakeResult> {
  const end = Date.now() + withinMs;
  for (;;) {
    const r = await rl.take(`probe:${Date.now()}`);
    if (r.fault === undefined || Date.now() > end) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function connected(port: number): Promise<Redis> {
  const client = new Redis({ port, host: "127.0.0.1", ...ioredisOptions({ socketTimeoutMs: 2000 }) });
  client.on("error", () => {});
  await new Promise((resolve) => client.once("ready", resolve));
  return client;
}

describe.skipIf(!HAS_REDIS)("Redis faults: a bounded answer, open or closed as configured, always reported", () => {
  const server = new RedisProcess();
  let client: Redis;
  const events: RateLimitFaultEvent[] = [];
  function limiter(extra: Partial<RateLimiterOptions> = {}, store = new RedisStore(client)): RateLimiter {
    return new RateLimiter({ capacity: 5, refillPerSecond: 1, store, timeoutMs: TIMEOUT_MS, onFault: (e) => events.push(e), ...extra });
  }
  beforeAll(async () => {
    await server.start();
    client = await connected(server.port);
  });
  afterEach(() => {
    events.length = 0;
  });
  afterAll(async () => {
    client?.disconnect();
    await server.dispose();
  });

  it('a long key\'s digest and the literal key "sha256:<that digest>" are different buckets (disjoint namespaces)', async () => {
    const { createHash } = await import("node:crypto");
    const long = `user:${"x".repeat(300)}`;
    const literal = `sha256:${createHash("sha256").update(long).digest("hex")}`;
    const rl = limiter({ capacity: 1 });
    expect((await rl.take(long)).allowed).toBe(true);
    expect((await rl.take(long)).allowed).toBe(false);
    // Before: the literal key was stored as itself, the same Redis key as the long one's digest.
    expect(await rl.take(literal)).toMatchObject({ allowed: true });
    expect((await rl.take(literal)).allowed).toBe(false);
    const keys = (await client.keys("msgauth:rl:sha256:*")).sort();
    expect(keys).toHaveLength(2);
    expect(keys).toContain(`msgauth:rl:${literal}`);
    // A short key not starting "sha256:" is stored as given.
    await rl.take("ip:192.0.2.1");
    expect(await client.exists("msgauth:rl:ip:192.0.2.1")).toBe(1);
  });

  it("an injected clock that throws: take() rejects with an OptionsError naming options.now, not the clock's own error", async () => {
    const rl = limiter({
      now: () => {
        throw new TypeError("clock broke");
      },
    });
    const err = await rl.take("clock").catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "OptionsError", message: expect.stringMatching(/^options\.now: threw: .*clock broke/) });
    expect(events).toEqual([]);
  });

  it("a key holding another type makes the script fail: a reported script-error, never a silent allow", async () => {
    await client.set("msgauth:rl:wrongtype", "not a hash");
    const open = await limiter().take("wrongtype");
    expect(open).toMatchObject({ allowed: true, fault: "script-error" });
    expect(open.error).toMatch(/WRONGTYPE/);
    expect(await limiter({ failClosed: true }).take("wrongtype")).toMatchObject({ allowed: false, fault: "script-error" });
    expect(events.map((e) => e.fault)).toEqual(["script-error", "script-error"]);
  });

  it("state written by something else (NaN, Infinity, negative, text) starts a full bucket, without a fault", async () => {
    for (const [tokens, ts] of [
      ["nan", "1"],
      ["inf", "inf"],
      ["-5", "1"],
      ["3", "-inf"],
      ["abc", "def"],
      ["1e400", "1e400"],
    ] as const) {
      await client.hset("msgauth:rl:garbage", "tokens", tokens, "ts", ts);
      const r = await limiter({ now: () => 1_000_000 }).take("garbage");
      expect(r.fault).toBeUndefined();
      expect(r.allowed).toBe(true);
      expect(r.remaining).toBeGreaterThanOrEqual(0);
      expect(r.remaining).toBeLessThanOrEqual(4);
    }
  });

  it("the largest capacity and the slowest refill the bounds allow run without a script error, exactly", async () => {
    const maxCapacity = RATE_LIMIT_BOUNDS.maxCapacity;
    const slowest = maxCapacity / RATE_LIMIT_BOUNDS.maxFillSeconds;
    const big = limiter({ capacity: maxCapacity, refillPerSecond: slowest });
    const first = await big.take("huge", maxCapacity - 1);
    expect(first).toMatchObject({ allowed: true, remaining: 1 });
    expect(first.fault).toBeUndefined();
    const second = await big.take("huge", 2);
    expect(second).toMatchObject({ allowed: false });
    expect(second.fault).toBeUndefined();
    expect(second.retryAfterMs).toBeGreaterThan(0);
    // One token a year: refused with a retry of up to a year, and the key lives about a year.
    const slow = limiter({ capacity: 1, refillPerSecond: 1 / RATE_LIMIT_BOUNDS.maxFillSeconds });
    expect((await slow.take("slow")).allowed).toBe(true);
    const refused = await slow.take("slow");
    expect(refused.fault).toBeUndefined();
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(364 * 24 * 3600 * 1000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(365 * 24 * 3600 * 1000 + 1);
    expect(await client.pttl("msgauth:rl:slow")).toBeGreaterThan(364 * 24 * 3600 * 1000);
    // The fastest refill: a token back every nanosecond, no fault.
    const fast = limiter({ capacity: 1, refillPerSecond: RATE_LIMIT_BOUNDS.maxRefillPerSecond });
    const quick = await fast.take("fast");
    expect(quick.fault).toBeUndefined();
    expect(quick.allowed).toBe(true);
    expect(events).toEqual([]);
  });

  it("SIGSTOP: each take settles within the deadline as a timeout fault; calls in flight are capped; SIGCONT recovers", async () => {
    const store = new RedisStore(client, { maxInFlight: 5 });
    const open = limiter({}, store);
    const closed = limiter({ failClosed: true }, store);
    expect((await open.take("before-stop")).fault).toBeUndefined();
    server.stop();
    try {
      const a = await timed(open.take("stopped"));
      expect(a.result).toMatchObject({ allowed: true, fault: "timeout" });
      expect(a.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      const b = await timed(closed.take("stopped"));
      expect(b.result).toMatchObject({ allowed: false, fault: "timeout" });
      expect(b.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      // 20 more at once: at most 5 calls wait on Redis, the rest are refused at once ("unavailable").
      const burst = await timed(Promise.all(Array.from({ length: 20 }, (_, i) => closed.take(`burst:${i}`))));
      expect(burst.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(burst.result.every((r) => r.allowed === false && r.fault !== undefined)).toBe(true);
      expect(burst.result.filter((r) => r.fault === "unavailable").length).toBeGreaterThanOrEqual(15);
      expect(store.inFlight).toBeLessThanOrEqual(5);
      expect(events.length).toBe(22);
    } finally {
      server.cont();
    }
    const back = await untilHealthy(open, 10_000);
    expect(back.fault).toBeUndefined();
    expect(back.allowed).toBe(true);
  });

  it("kill -9: takes settle within the deadline as reported faults, open or closed; a restart recovers", async () => {
    const open = limiter();
    const closed = limiter({ failClosed: true });
    expect((await open.take("before-kill")).fault).toBeUndefined();
    await server.kill9();
    for (let i = 0; i < 3; i++) {
      const a = await timed(open.take("killed"));
      expect(a.result.allowed).toBe(true);
      expect(["unavailable", "timeout"]).toContain(a.result.fault);
      expect(a.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      const b = await timed(closed.take("killed"));
      expect(b.result.allowed).toBe(false);
      expect(["unavailable", "timeout"]).toContain(b.result.fault);
      expect(b.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
    expect(events).toHaveLength(6);
    expect(events.every((e) => e.durationMs < TIMEOUT_MS + MARGIN_MS)).toBe(true);
    await server.start(); // same port: the client reconnects by itself
    const back = await untilHealthy(open, 15_000);
    expect(back.fault).toBeUndefined();
    expect(back.allowed).toBe(true);
  });

  it("a client made with ioredisOptions() before Redis is up: faults at once, then works once it is", async () => {
    const later = new RedisProcess();
    await later.start();
    const port = later.port;
    await later.kill9();
    const early = new Redis({ port, host: "127.0.0.1", ...ioredisOptions() });
    early.on("error", () => {});
    try {
      const rl = limiter({ failClosed: true }, new RedisStore(early));
      const a = await timed(rl.take("early"));
      expect(a.result).toMatchObject({ allowed: false });
      expect(a.result.fault).toBeDefined();
      expect(a.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      await later.start();
      const back = await untilHealthy(rl, 15_000);
      expect(back.fault).toBeUndefined();
    } finally {
      early.disconnect();
      await later.dispose();
    }
  });
});
