// A test suite with fake timers (vi.useFakeTimers, Jest's: both fake performance.now() too by default)
// drives msgauth's DNS timeouts by advancing the fake clock, as it did when every query had a
// setTimeout of its own.
import { afterEach, describe, expect, it, vi } from "vitest";
import { scheduledDeadlines } from "../../src/dns/deadlines.js";
import { BudgetedResolver, guardedQuery, type Resolver } from "../../src/index.js";

const never = (): Promise<never> => new Promise(() => {});
const silent: Resolver = { txt: never, a: never, aaaa: never, mx: never, ptr: never };

describe("DNS timeouts under fake timers", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("advancing the fake clock past a query's timeout ends it, and only then", async () => {
    expect(scheduledDeadlines().pending).toBe(0);
    vi.useFakeTimers();
    let first: unknown;
    let second: unknown;
    void guardedQuery(silent, "TXT", "a.example", { timeoutMs: 5000 }).then((a) => (first = a));
    void new BudgetedResolver(silent, { queryTimeoutMs: 8000 }).a("b.example").then((a) => (second = a));
    await vi.advanceTimersByTimeAsync(4000);
    expect(first).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1000);
    expect(first).toEqual({ kind: "error", reason: "no DNS answer within 5000 ms" });
    expect(second).toBeUndefined();
    let third: unknown;
    void guardedQuery(silent, "MX", "c.example", { timeoutMs: 1000 }).then((a) => (third = a));
    await vi.advanceTimersByTimeAsync(999);
    expect(third).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(third).toEqual({ kind: "error", reason: "no DNS answer within 1000 ms" });
    await vi.advanceTimersByTimeAsync(2000);
    expect(second).toEqual({ kind: "error", reason: "no DNS answer within 8000 ms" });
    await vi.advanceTimersByTimeAsync(1);
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });
});

describe("a suite that switches from fake to real timers with a query pending", () => {
  it("later queries still time out, and so does the one left pending", async () => {
    vi.useFakeTimers();
    const left = guardedQuery(silent, "TXT", "left.example", { timeoutMs: 300 });
    vi.useRealTimers();
    const later = guardedQuery(silent, "TXT", "later.example", { timeoutMs: 600 });
    const settled = await Promise.race([Promise.all([left, later]), new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
    expect(settled).toEqual([
      { kind: "error", reason: "no DNS answer within 300 ms" },
      { kind: "error", reason: "no DNS answer within 600 ms" },
    ]);
  });

  it("and the other way: a query pending on real timers still times out when fake timers come and go", async () => {
    const real = guardedQuery(silent, "TXT", "real.example", { timeoutMs: 300 });
    vi.useFakeTimers();
    const fake = guardedQuery(silent, "TXT", "fake.example", { timeoutMs: 600 });
    vi.useRealTimers();
    const settled = await Promise.race([Promise.all([real, fake]), new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
    expect(settled).toEqual([
      { kind: "error", reason: "no DNS answer within 300 ms" },
      { kind: "error", reason: "no DNS answer within 600 ms" },
    ]);
  });
});
