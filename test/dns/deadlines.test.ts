// The shared deadline scheduler (src/dns/deadlines.ts): one timer for every DNS wait, and the
// guard's fast path for msgauth's own resolvers. What must hold whatever the scheduling: every wait
// ends by its own deadline, aborts act at once, nothing stays armed when nothing is pending, and a
// caller awaiting a result keeps the process alive.
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { getEventListeners, once } from "node:events";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { addDeadline, type Deadline, removeDeadline, scheduledDeadlines } from "../../src/dns/deadlines.js";
import {
  authenticate,
  BudgetedResolver,
  CachingResolver,
  type DnsAnswer,
  FixtureResolver,
  guardedQuery,
  guardResolver,
  NodeResolver,
  type QueryOptions,
  RECORD_TYPES,
  type Resolver,
  zoneFromObject,
} from "../../src/index.js";
import { exampleResolver, fixture } from "../helpers/keys.js";

const never = (): Promise<never> => new Promise(() => {});
const silent: Resolver = { txt: never, a: never, aaaa: never, mx: never, ptr: never };
const turn = () => new Promise((r) => setImmediate(r));

/** Settles within `ms` or fails the test: the bound is generous, it proves "settles", not speed. */
async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("the shared deadline scheduler", () => {
  it("expires deadlines in time order, whatever order they were added and removed in", async () => {
    const expired: number[] = [];
    const make = (ms: number): Deadline => ({ at: performance.now() + ms, slot: -1, expire: () => expired.push(ms) });
    const ds = [80, 10, 50, 30, 70, 20, 60, 40].map(make);
    for (const d of ds) addDeadline(d);
    removeDeadline(ds[2]!); // 50
    removeDeadline(ds[1]!); // 10, the earliest: the timer armed for it finds nothing due and re-arms
    await settlesWithin(
      (async () => {
        while (expired.length < 6) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
    );
    expect(expired).toEqual([20, 30, 40, 60, 70, 80]);
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("many concurrent queries with different timeouts each end with their own timeout; then no timer is left armed", async () => {
    const timeouts = Array.from({ length: 60 }, (_, i) => 20 + ((i * 37) % 200));
    const answers = await settlesWithin(
      Promise.all(timeouts.map((ms, i) => guardedQuery(silent, RECORD_TYPES[i % 5]!, `n${i}.example`, { timeoutMs: ms }))),
      10_000,
    );
    for (const [i, a] of answers.entries()) expect(a).toEqual({ kind: "error", reason: `no DNS answer within ${timeouts[i]} ms` });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("many concurrent authenticate() calls with different budgets each settle, temperror naming their budget", async () => {
    const message = fixture("messages/sample.eml");
    const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
    const budgets = Array.from({ length: 12 }, (_, i) => 100 + 40 * i);
    const results = await settlesWithin(
      Promise.all(
        budgets.map((timeBudgetMs) =>
          authenticate(message, envelope, { resolver: silent, authservId: "mx.example.org", limits: { timeBudgetMs } }),
        ),
      ),
      10_000,
    );
    results.forEach((r, i) => {
      expect(r.spf).toMatchObject({ result: "temperror" });
      expect(r.spf!.reason).toContain(`time budget of ${budgets[i]} ms exceeded`);
      expect(r.dmarc?.result).not.toBe("pass");
    });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("a deadline further off than setTimeout takes (2^31 - 1 ms) does not fire early (re-armed)", async () => {
    // Timer options are refused above 2^31 - 1 ms (test/timer-limits.test.ts); the scheduler still
    // re-arms longer waits, as defence in depth.
    let expired = false;
    const d: Deadline = { at: performance.now() + 2 ** 31 + 5, slot: -1, expire: () => (expired = true) };
    addDeadline(d);
    await new Promise((r) => setTimeout(r, 50));
    expect(expired).toBe(false);
    expect(scheduledDeadlines()).toEqual({ pending: 1, armed: true });
    removeDeadline(d);
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("a query timeout above 2^31 - 1 ms is refused (OptionsError), 2^31 - 1 is taken", async () => {
    expect(() => guardedQuery(silent, "TXT", "example.com", { timeoutMs: 2 ** 31 })).toThrow(
      expect.objectContaining({ name: "OptionsError", path: "options.timeoutMs" }),
    );
    let abandon: ((reason: string) => void) | undefined;
    const p = guardedQuery(silent, "TXT", "example.com", { timeoutMs: 2 ** 31 - 1, onSent: (a) => (abandon = a) });
    await new Promise((r) => setTimeout(r, 50));
    abandon!("test over");
    expect(await p).toEqual({ kind: "error", reason: "DNS query abandoned: test over" });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("answered queries leave nothing armed once the turn ends", async () => {
    const b = new BudgetedResolver(exampleResolver(), { timeBudgetMs: 60_000 });
    for (const type of ["txt", "a", "mx"] as const) await b[type]("example.com");
    await Promise.all([b.txt("example.com"), b.aaaa("example.com"), b.ptr("192.0.2.25")]);
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("an abort abandons every pending query of a BudgetedResolver at once, and each resolver signal is aborted", async () => {
    const seen: AbortSignal[] = [];
    const listening: Resolver = {
      ...silent,
      txt: (_name: string, q?: QueryOptions) => {
        seen.push(q!.signal!);
        return never();
      },
    };
    const c = new AbortController();
    const b = new BudgetedResolver(listening, { signal: c.signal });
    const pending = Array.from({ length: 30 }, (_, i) => b.txt(`n${i}.example`));
    c.abort("stop");
    const answers = await settlesWithin(Promise.all(pending), 5000);
    for (const a of answers) expect(a).toEqual({ kind: "error", reason: "DNS query abandoned: stop" });
    expect(seen).toHaveLength(30);
    for (const s of seen) expect(s.aborted).toBe(true);
    expect(await b.txt("later.example")).toEqual({ kind: "error", reason: "DNS query not sent: stop" });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("a long-lived signal shared by many BudgetedResolvers holds no listener once their queries are done", async () => {
    const c = new AbortController();
    const resolvers = Array.from({ length: 8 }, () => new BudgetedResolver(exampleResolver(), { signal: c.signal }));
    for (const b of resolvers) {
      await b.txt("example.com");
      await Promise.all([b.a("example.com"), b.mx("example.com")]);
    }
    expect(getEventListeners(c.signal, "abort").length).toBeLessThanOrEqual(8);
    await turn();
    expect(getEventListeners(c.signal, "abort")).toHaveLength(0);
    // And the listener comes back for the next query: an abort still abandons it at once.
    const p = new BudgetedResolver(silent, { signal: c.signal }).txt("example.com");
    c.abort("done");
    expect(await settlesWithin(p, 5000)).toEqual({ kind: "error", reason: "DNS query abandoned: done" });
  });

  it("a pending wait keeps the process alive until it ends; nothing keeps it alive after", async () => {
    // A child whose only pending work is a query that never settles (a promise, no handle): the
    // scheduler's timer must keep it alive until the budget ends the wait, then let it exit.
    const index = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
    const script = `
      const m = await import(${JSON.stringify(index)});
      const never = () => new Promise(() => {});
      const r = { txt: never, a: never, aaaa: never, mx: never, ptr: never };
      const res = await m.checkSpf({ ip: "192.0.2.1", mailFrom: "a@example.com" }, { resolver: r, timeBudgetMs: 200 });
      await new Promise((ok) => setImmediate(ok));
      console.log(JSON.stringify({ result: res.result, timers: process.getActiveResourcesInfo().filter((x) => x === "Timeout").length }));
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out.trim())).toEqual({ result: "temperror", timers: 0 });
  }, 40_000);
});

/** Blocks the event loop for `ms` (a big message, a GC pause, another call's CPU work). */
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

// With one timer for every deadline, the timer armed for the earliest (often another call's) finds
// later deadlines due too when the event loop was blocked past them. An answer that was due before
// its deadline (a timer callback due earlier, an I/O callback of the same turn) must still win, as it
// did when each query had a setTimeout of its own: a lost answer turns fail/reject into temperror.
describe("under event-loop lag, an answer due before its deadline wins", () => {
  const byTimer = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

  it("an answer by a timer due before its query's timeout, the loop blocked past both, another query's earlier deadline armed", async () => {
    const r: Resolver = { ...silent, txt: () => byTimer(5, { kind: "ok", records: ["v=spf1 -all"] }) };
    const other = guardedQuery(silent, "A", "other.example", { timeoutMs: 2 }); // arms the shared timer first
    const p = guardedQuery(r, "TXT", "example.com", { timeoutMs: 30 });
    blockLoop(60);
    expect(await settlesWithin(p, 1030)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(await settlesWithin(other, 1002)).toEqual({ kind: "error", reason: "no DNS answer within 2 ms" });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("authenticate(): a spoofed From of a p=reject domain still gets dmarc fail/reject, not temperror", async () => {
    const fixtures = exampleResolver();
    const delayed = {} as Resolver;
    for (const t of ["txt", "a", "aaaa", "mx", "ptr"] as const) {
      // The timer is set when the query is sent (before the block): its answer is due in 5 ms.
      (delayed as unknown as Record<string, unknown>)[t] = (n: string) => byTimer(5, null).then(() => fixtures[t](n) as Promise<unknown>);
    }
    const message = fixture("messages/spoofed.eml"); // From: alice@example.com; _dmarc.example.com p=reject
    // Another call (a busy server) whose 2 ms query deadline arms the shared timer first.
    const busy = authenticate(message, { ip: "203.0.113.1" }, { authservId: "mx", resolver: silent, limits: { dnsQueryTimeoutMs: 2 } });
    const p = authenticate(
      message,
      { ip: "203.0.113.9", helo: "evil.example", mailFrom: "x@evil.example" },
      { authservId: "mx", resolver: delayed, limits: { dnsQueryTimeoutMs: 30 } },
    );
    blockLoop(60);
    const r = await settlesWithin(p, 10_000);
    await settlesWithin(busy, 10_000);
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
    expect(r.spf).toMatchObject({ result: "none" });
    expect(r.iprev).toMatchObject({ result: "fail" });
  });

  it("an answer delivered by an I/O callback (a TCP socket) that arrived while the loop was blocked wins", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const client = connect(port, "127.0.0.1");
    const [[peer]] = await Promise.all([once(server, "connection"), once(client, "connect")]);
    onTestFinished(() => {
      client.destroy();
      peer.destroy();
      server.close();
    });
    let queued = -1;
    const r: Resolver = {
      ...silent,
      // The answer is the peer's bytes: written to the kernel at once (nothing left queued), read by
      // the client's data callback in the poll phase after the block.
      txt: () =>
        new Promise((resolve) => {
          client.once("data", () => resolve({ kind: "ok", records: ["v=spf1 -all"] }));
          peer.write("answer");
          queued = peer.writableLength;
        }),
    };
    const other = guardedQuery(silent, "A", "other.example", { timeoutMs: 2 });
    const p = guardedQuery(r, "TXT", "example.com", { timeoutMs: 30 });
    expect(queued).toBe(0);
    blockLoop(60);
    expect(await settlesWithin(p, 1030)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(await settlesWithin(other, 1002)).toEqual({ kind: "error", reason: "no DNS answer within 2 ms" });
  });

  it("the same with setImmediate wrapped by an instrumentation agent (not fake timers): the answer wins", async () => {
    const original = globalThis.setImmediate;
    let wrappedCalls = 0;
    globalThis.setImmediate = Object.assign(
      (cb: (...args: unknown[]) => void, ...args: unknown[]) => {
        wrappedCalls++;
        return original(cb, ...args);
      },
      { __promisify__: original.__promisify__ },
    ) as typeof setImmediate;
    onTestFinished(() => {
      globalThis.setImmediate = original;
    });
    const r: Resolver = { ...silent, txt: () => byTimer(5, { kind: "ok", records: ["v=spf1 -all"] }) };
    const other = guardedQuery(silent, "A", "other.example", { timeoutMs: 2 });
    const p = guardedQuery(r, "TXT", "example.com", { timeoutMs: 30 });
    blockLoop(60);
    expect(await settlesWithin(p, 1030)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(await settlesWithin(other, 1002)).toEqual({ kind: "error", reason: "no DNS answer within 2 ms" });
    expect(wrappedCalls).toBeGreaterThan(0);
  });

  it("a never-answering resolver still times out, blocked loop or not", async () => {
    const other = guardedQuery(silent, "A", "other.example", { timeoutMs: 2 });
    const p = guardedQuery(silent, "TXT", "example.com", { timeoutMs: 30 });
    blockLoop(60);
    expect(await settlesWithin(p, 1030)).toEqual({ kind: "error", reason: "no DNS answer within 30 ms" });
    expect(await settlesWithin(other, 1002)).toEqual({ kind: "error", reason: "no DNS answer within 2 ms" });
    const alone = guardedQuery(silent, "MX", "example.com", { timeoutMs: 50 });
    expect(await settlesWithin(alone, 1050)).toEqual({ kind: "error", reason: "no DNS answer within 50 ms" });
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });

  it("a deadline that came due only after the timer fired is left to the next turn: an answer due before it still wins", async () => {
    const events: string[] = [];
    const t0 = performance.now();
    // Runs in the timers phase before the scheduler's timer (due at +1 ms, it at +2 ms): its
    // immediate, which blocks past d2, runs before the scheduler's expiry pass. The margins are
    // wide (the timers may fire up to 140 ms late) so that a loaded machine does not fire the
    // scheduler's timer only once d2 is due too.
    setTimeout(() => setImmediate(() => blockLoop(200)), 1);
    const d1: Deadline = { at: t0 + 2, slot: -1, expire: () => events.push("d1 expired") };
    const d2: Deadline = { at: t0 + 150, slot: -1, expire: () => events.push("d2 expired") };
    addDeadline(d1);
    addDeadline(d2);
    setTimeout(() => {
      if (d2.slot >= 0) {
        removeDeadline(d2);
        events.push("d2 answered");
      }
    }, 100);
    blockLoop(10);
    await settlesWithin(
      (async () => {
        while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
      })(),
      5000,
    );
    expect(events).toEqual(["d1 expired", "d2 answered"]);
    await turn();
    expect(scheduledDeadlines()).toEqual({ pending: 0, armed: false });
  });
});

describe("the guard's fast path for msgauth's own resolvers (no options object)", () => {
  const zone = zoneFromObject({
    "example.com": {
      TXT: ["v=spf1 -all", "hello"],
      A: "192.0.2.1",
      AAAA: "2001:db8::1",
      MX: [{ exchange: "mx.example.com", priority: 5 }],
    },
    "alias.example.com": { CNAME: "example.com" },
    "sub.deep.example.com": { A: "192.0.2.9" },
    "1.2.0.192.in-addr.arpa": { PTR: "example.com" },
  });
  const fixtureResolver = new FixtureResolver(zone);
  /** The same resolver behind methods the guard does not know: the general path, with options. */
  const wrapped = (r: Resolver): Resolver => ({
    txt: (n, q) => r.txt(n, q),
    a: (n, q) => r.a(n, q),
    aaaa: (n, q) => r.aaaa(n, q),
    mx: (n, q) => r.mx(n, q),
    ptr: (n, q) => r.ptr(n, q),
  });
  const names = ["example.com", "EXAMPLE.com.", "alias.example.com", "deep.example.com", "nowhere.example", "192.0.2.1", "::1", ""];

  it("FixtureResolver and CachingResolver answer through the fast path exactly as through the general one", async () => {
    const cache = new CachingResolver(fixtureResolver);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...RECORD_TYPES),
        fc.oneof(fc.constantFrom(...names), fc.domain(), fc.string()),
        async (type, name) => {
          for (const r of [fixtureResolver, cache]) {
            const fast: DnsAnswer<unknown> = await guardedQuery(r, type, name);
            const general: DnsAnswer<unknown> = await guardedQuery(wrapped(r), type, name);
            expect(fast).toEqual(general);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a subclass or an instance that overrides a method is called with its options (and their signal)", async () => {
    const got: (QueryOptions | undefined)[] = [];
    class Reading extends FixtureResolver {
      override txt(name: string, q?: QueryOptions) {
        got.push(q);
        return super.txt(name);
      }
    }
    const own = new FixtureResolver(zone);
    own.a = (name: string, q?: QueryOptions) => {
      got.push(q);
      return fixtureResolver.a(name);
    };
    const g = guardResolver(new Reading(zone));
    await g.txt("example.com");
    await guardResolver(own).a("example.com");
    expect(got).toHaveLength(2);
    for (const q of got) {
      expect(Object.keys(q!)).toEqual(["signal"]);
      expect(q!.signal).toBeInstanceOf(AbortSignal);
      expect({ ...q }.signal).toBe(q!.signal); // an own enumerable property, as an object literal's
    }
  });

  it("a NodeResolver query (called without a signal) is given up by the guard at once: by its timeout or an abort", async () => {
    // A DNS server that reads queries and never answers.
    const mute = createSocket("udp4");
    await new Promise<void>((ok) => mute.bind(0, "127.0.0.1", ok));
    onTestFinished(() => {
      mute.close();
    });
    const r = new NodeResolver({ servers: [`127.0.0.1:${mute.address().port}`], timeoutMs: 1000, tries: 1 });
    expect(await settlesWithin(guardedQuery(r, "TXT", "example.com", { timeoutMs: 30 }), 900)).toEqual({
      kind: "error",
      reason: "no DNS answer within 30 ms",
    });
    const c = new AbortController();
    const b = new BudgetedResolver(r, { signal: c.signal });
    const p = b.a("example.com");
    c.abort("enough");
    expect(await settlesWithin(p, 900)).toEqual({ kind: "error", reason: "DNS query abandoned: enough" });
  });

  it("the options' signal is aborted when the guard stops waiting, even if read only after", async () => {
    let options: QueryOptions | undefined;
    const r: Resolver = {
      ...silent,
      mx: (_n: string, q?: QueryOptions) => {
        options = q;
        return never();
      },
    };
    expect(await guardedQuery(r, "MX", "example.com", { timeoutMs: 10 })).toMatchObject({ kind: "error" });
    expect(options!.signal!.aborted).toBe(true);
  });
});

describe("which resolvers the guard takes as already guarded", () => {
  it("a BudgetedResolver is its own guard; a subclass that overrides a method is guarded again", async () => {
    const b = new BudgetedResolver(exampleResolver());
    expect(guardResolver(b)).toBe(b);
    class Sloppy extends BudgetedResolver {
      override txt(): Promise<DnsAnswer<string[]>> {
        return Promise.resolve({ kind: "ok", records: [42] } as never);
      }
    }
    const s = new Sloppy(exampleResolver());
    const g = guardResolver(s);
    expect(g).not.toBe(s);
    expect(await g.txt("example.com")).toMatchObject({ kind: "error", reason: expect.stringMatching(/malformed TXT answer/) });
    const proxy = new Proxy(exampleResolver(), {
      getPrototypeOf() {
        throw new Error("no prototype for you");
      },
    });
    expect(await guardResolver(proxy).a("example.com")).toMatchObject({ kind: expect.stringMatching(/ok|nodata|nxdomain/) });
  });
});
