import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArgumentError, OptionsError } from "../../src/errors.js";
import {
  MemoryStore,
  RATE_LIMIT_BOUNDS,
  RateLimiter,
  type RateLimiterOptions,
  RateLimitFaultError,
  type RateLimitFaultEvent,
  RedisStore,
  type TakeResult,
} from "../../src/ratelimit/index.js";

const YEAR = RATE_LIMIT_BOUNDS.maxFillSeconds;

describe("RateLimiter options are checked (OptionsError naming the option)", () => {
  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["capacity NaN", { capacity: Number.NaN, refillPerSecond: 1 }, "options.capacity"],
    ["capacity negative", { capacity: -5, refillPerSecond: 1 }, "options.capacity"],
    ["capacity zero", { capacity: 0, refillPerSecond: 1 }, "options.capacity"],
    ["capacity not an integer", { capacity: 1.5, refillPerSecond: 1 }, "options.capacity"],
    ["capacity huge (past the exact range of the Lua script)", { capacity: 1e18, refillPerSecond: 1e9 }, "options.capacity"],
    ["capacity Infinity", { capacity: Number.POSITIVE_INFINITY, refillPerSecond: 1 }, "options.capacity"],
    ["capacity a string", { capacity: "10", refillPerSecond: 1 }, "options.capacity"],
    ["refill zero", { capacity: 1, refillPerSecond: 0 }, "options.refillPerSecond"],
    ["refill negative", { capacity: 1, refillPerSecond: -1 }, "options.refillPerSecond"],
    ["refill NaN", { capacity: 1, refillPerSecond: Number.NaN }, "options.refillPerSecond"],
    ["refill Infinity", { capacity: 1, refillPerSecond: Number.POSITIVE_INFINITY }, "options.refillPerSecond"],
    ["refill tiny (an expiry Redis cannot take)", { capacity: 10, refillPerSecond: 1e-300 }, "options.refillPerSecond"],
    ["refill too slow to refill within a year", { capacity: 1_000_000, refillPerSecond: 0.001 }, "options.refillPerSecond"],
    ["refill huge", { capacity: 1, refillPerSecond: 1e12 }, "options.refillPerSecond"],
    ["timeoutMs zero", { capacity: 1, refillPerSecond: 1, timeoutMs: 0 }, "options.timeoutMs"],
    ["timeoutMs fractional", { capacity: 1, refillPerSecond: 1, timeoutMs: 2.5 }, "options.timeoutMs"],
    ["timeoutMs huge", { capacity: 1, refillPerSecond: 1, timeoutMs: 1e9 }, "options.timeoutMs"],
    ["failClosed not a boolean", { capacity: 1, refillPerSecond: 1, failClosed: "yes" }, "options.failClosed"],
    ["onFault not a function", { capacity: 1, refillPerSecond: 1, onFault: 1 }, "options.onFault"],
    ["store without take", { capacity: 1, refillPerSecond: 1, store: {} }, "options.store"],
    ["unknown option (misspelt)", { capacity: 1, refillPerSecond: 1, failclosed: true }, "options.failclosed"],
  ];
  for (const [name, options, path] of bad) {
    it(name, () => {
      let thrown: unknown;
      try {
        new RateLimiter(options as unknown as RateLimiterOptions);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(OptionsError);
      expect(thrown).toMatchObject({
        path,
        code: path === "options.failclosed" ? "ERR_MSGAUTH_UNKNOWN_OPTION" : "ERR_MSGAUTH_INVALID_OPTION",
      });
    });
  }
  it("the extremes inside the bounds are accepted", () => {
    expect(
      () => new RateLimiter({ capacity: RATE_LIMIT_BOUNDS.maxCapacity, refillPerSecond: RATE_LIMIT_BOUNDS.maxCapacity / YEAR }),
    ).not.toThrow();
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: 1 / YEAR })).not.toThrow();
    expect(() => new RateLimiter({ capacity: 1, refillPerSecond: RATE_LIMIT_BOUNDS.maxRefillPerSecond, timeoutMs: 60_000 })).not.toThrow();
  });
  it("store options are checked too", () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(OptionsError);
    expect(() => new MemoryStore({ maxKeys: Number.NaN })).toThrow(OptionsError);
    expect(() => new MemoryStore({ maxkeys: 5 } as never)).toThrow(OptionsError);
    const client = { eval: async () => [1, "0", 0] };
    expect(() => new RedisStore(client, { maxInFlight: -1 })).toThrow(OptionsError);
    expect(() => new RedisStore(client, { prefix: 5 } as never)).toThrow(OptionsError);
    expect(() => new RedisStore({} as never)).toThrow(ArgumentError);
  });
});

describe("take() arguments are checked", () => {
  const bad: Array<[string, unknown, string]> = [
    ["negative tokens (used to add tokens)", -5, "tokens"],
    ["zero tokens", 0, "tokens"],
    ["fractional tokens", 0.5, "tokens"],
    ["NaN tokens", Number.NaN, "tokens"],
    ["tokens past capacity (could never be allowed)", 11, "tokens"],
    ["tokens as a string", "1", "tokens"],
  ];
  for (const [name, tokens, path] of bad) {
    it(name, async () => {
      const rl = new RateLimiter({ capacity: 10, refillPerSecond: 1, now: () => 1000 });
      await expect(rl.take("k", tokens as number)).rejects.toSatisfy((e) => e instanceof ArgumentError && e.message.startsWith(`${path}:`));
      // The bucket is untouched: still exactly 10 tokens.
      const takes: boolean[] = [];
      for (let i = 0; i < 11; i++) takes.push((await rl.take("k")).allowed);
      expect(takes.filter(Boolean)).toHaveLength(10);
    });
  }
  it("a clock that reads NaN or a negative time is a wrong call, not a fault", async () => {
    for (const reading of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      const rl = new RateLimiter({ capacity: 1, refillPerSecond: 1, now: () => reading });
      await expect(rl.take("k")).rejects.toMatchObject({ name: "OptionsError", path: "options.now" });
    }
  });
  it("stores check what they are asked when called directly", async () => {
    const store = new MemoryStore();
    await expect(store.take("k", 10, 0.001, -1, undefined)).rejects.toBeInstanceOf(ArgumentError);
    await expect(store.take("k", 1e300, 0.001, 1, undefined)).rejects.toBeInstanceOf(ArgumentError);
    await expect(store.take("k", 10, Number.NaN, 1, undefined)).rejects.toBeInstanceOf(ArgumentError);
    await expect(store.take("x".repeat(1000), 10, 0.001, 1, undefined)).rejects.toBeInstanceOf(ArgumentError);
    const calls: unknown[] = [];
    const redis = new RedisStore({ eval: async (...args: unknown[]) => calls.push(args) });
    await expect(redis.take("k", 10, 0.001, -3, undefined)).rejects.toBeInstanceOf(ArgumentError);
    expect(calls).toHaveLength(0); // nothing reached Redis
  });
});

describe("memory stays bounded whatever keys the traffic makes up", () => {
  it("long keys are stored under their digest: separate buckets, bounded size", async () => {
    const seen: string[] = [];
    const inner = new MemoryStore();
    const store = {
      take: (key: string, ...rest: [number, number, number, number | undefined]) => {
        seen.push(key);
        return inner.take(key, ...rest);
      },
    };
    const rl = new RateLimiter({ capacity: 1, refillPerSecond: 0.001, store });
    const long1 = `user:${"a".repeat(100_000)}`;
    const long2 = `user:${"a".repeat(99_999)}b`;
    expect((await rl.take(long1)).allowed).toBe(true);
    expect((await rl.take(long1)).allowed).toBe(false); // same bucket
    expect((await rl.take(long2)).allowed).toBe(true); // another bucket
    expect(seen.every((k) => k.length <= RATE_LIMIT_BOUNDS.maxKeyLength)).toBe(true);
    expect(new Set(seen).size).toBe(2);
  });
  it("property: any keys, any number of them: at most maxKeys buckets, no throw, no fault", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 600, unit: "binary" }), { minLength: 1, maxLength: 200 }), async (keys) => {
        const store = new MemoryStore({ maxKeys: 16 });
        const rl = new RateLimiter({ capacity: 3, refillPerSecond: 1, store, now: () => 1_000 });
        for (const key of keys) {
          const r = await rl.take(key);
          expect(r.fault).toBeUndefined();
        }
        expect(store.size).toBe(Math.min(16, new Set(keys).size));
      }),
      { numRuns: 50 },
    );
  });
  it("property: the memory bucket never allows more than capacity + elapsed x rate", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 50 })), { maxLength: 60 }),
        async (capacity, perSecond, steps) => {
          let now = 1_000_000;
          const rl = new RateLimiter({ capacity, refillPerSecond: perSecond, now: () => now });
          let granted = 0;
          for (const [advance, want] of steps) {
            now += advance;
            const tokens = Math.min(want, capacity);
            const r = await rl.take("k", tokens);
            if (r.allowed) granted += tokens;
            expect(r.remaining).toBeGreaterThanOrEqual(0);
            expect(r.remaining).toBeLessThanOrEqual(capacity);
          }
          expect(granted).toBeLessThanOrEqual(capacity + ((now - 1_000_000) * perSecond) / 1000 + 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("a store that misbehaves: bounded answer, reported fault, open or closed as configured", () => {
  const never: { take: () => Promise<TakeResult> } = { take: () => new Promise(() => {}) };
  for (const failClosed of [false, true]) {
    it(`a store that never answers: "timeout" within timeoutMs (failClosed: ${failClosed})`, async () => {
      const events: RateLimitFaultEvent[] = [];
      const rl = new RateLimiter({
        capacity: 1,
        refillPerSecond: 1,
        store: never,
        timeoutMs: 100,
        failClosed,
        onFault: (e) => events.push(e),
      });
      const started = Date.now();
      const r = await rl.take("ip:192.0.2.9");
      expect(Date.now() - started).toBeLessThan(100 + 1000);
      expect(r).toMatchObject({ allowed: !failClosed, fault: "timeout", remaining: 0 });
      expect(events).toEqual([expect.objectContaining({ fault: "timeout", key: "ip:192.0.2.9", allowed: !failClosed })]);
      // A hostile long key reaches the hook as its digest: log lines stay bounded.
      await rl.take(`user:${"x".repeat(10_000)}`);
      expect(events[1]!.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    });
  }
  it("the default deadline is well under a second", async () => {
    const r = await Promise.race([
      new RateLimiter({ capacity: 1, refillPerSecond: 1, store: never }).take("k"),
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 1000)),
    ]);
    expect(r).toMatchObject({ fault: "timeout", allowed: true });
  });
  const answers: Array<[string, () => unknown, string]> = [
    [
      "a store that throws synchronously",
      () => {
        throw new Error("boom");
      },
      "unavailable",
    ],
    ["a store that answers garbage", async () => ({ allowed: "yes" }), "script-error"],
    ["a store that answers NaN", async () => ({ allowed: true, remaining: Number.NaN, retryAfterMs: 0 }), "script-error"],
    ["a store that answers null", async () => null, "script-error"],
    ["a store that reports a script error", async () => Promise.reject(new RateLimitFaultError("script-error", "ERR bad")), "script-error"],
  ];
  for (const [name, take, fault] of answers) {
    it(`${name}: fault "${fault}", never a silent allow`, async () => {
      const events: RateLimitFaultEvent[] = [];
      const store = { take } as never;
      const open = await new RateLimiter({ capacity: 1, refillPerSecond: 1, store, onFault: (e) => events.push(e) }).take("k");
      expect(open).toMatchObject({ allowed: true, fault });
      expect(typeof open.error).toBe("string");
      const closed = await new RateLimiter({ capacity: 1, refillPerSecond: 1, store, failClosed: true }).take("k");
      expect(closed).toMatchObject({ allowed: false, fault });
      expect(events).toHaveLength(1);
    });
  }
  it("a store that rejects with an unprintable value or a huge message: a fault with a bounded error, no throw", async () => {
    const unprintable = {
      toString() {
        throw new Error("no");
      },
    };
    const weird = { take: () => Promise.reject(unprintable) } as never;
    expect(await new RateLimiter({ capacity: 1, refillPerSecond: 1, store: weird }).take("k")).toMatchObject({
      allowed: true,
      fault: "unavailable",
    });
    const huge = { take: () => Promise.reject(new Error("x".repeat(1_000_000))) } as never;
    const r = await new RateLimiter({ capacity: 1, refillPerSecond: 1, store: huge, failClosed: true }).take("k");
    expect(r).toMatchObject({ allowed: false, fault: "unavailable" });
    expect(r.error!.length).toBeLessThanOrEqual(515);
  });
  it("a store's extra fields do not reach the caller (a result is exactly allowed, remaining, retryAfterMs)", async () => {
    const chatty = { take: async () => ({ allowed: true, remaining: 1, retryAfterMs: 0, fault: "timeout", secret: 1 }) } as never;
    expect(await new RateLimiter({ capacity: 2, refillPerSecond: 1, store: chatty }).take("k")).toEqual({
      allowed: true,
      remaining: 1,
      retryAfterMs: 0,
    });
  });
  it("an onFault hook that throws does not change the answer", async () => {
    const rl = new RateLimiter({
      capacity: 1,
      refillPerSecond: 1,
      store: never,
      timeoutMs: 20,
      failClosed: true,
      onFault: () => {
        throw new Error("hook broke");
      },
    });
    expect(await rl.take("k")).toMatchObject({ allowed: false, fault: "timeout" });
  });
  it("a late rejection after the deadline is not an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    const late = { take: () => new Promise<TakeResult>((_, reject) => setTimeout(() => reject(new Error("late")), 50)) };
    expect(await new RateLimiter({ capacity: 1, refillPerSecond: 1, store: late, timeoutMs: 10 }).take("k")).toMatchObject({
      fault: "timeout",
    });
    await new Promise((r) => setTimeout(r, 150));
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
  });
});
