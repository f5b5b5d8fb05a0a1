import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CallDeadline } from "../../src/dns/budget.js";
import { scheduledDeadlines } from "../../src/dns/deadlines.js";
import {
  BudgetedResolver,
  type DnsAnswer,
  type DnsQueryEvent,
  FixtureResolver,
  guardedQuery,
  RECORD_TYPES,
  type RecordType,
  type Resolver,
  type Zone,
  type ZoneEntry,
} from "../../src/dns/index.js";

/**
 * The guard takes FixtureResolver's answers at once (no promise of the lookup's own, no copy of the
 * answer; see answersNow in src/dns/guard.ts). A resolver the guard does not know, calling the same
 * FixtureResolver, takes the general path (the method's promise, validateAnswer's copy): both must
 * give the same answer for every zone, valid or not, and every query.
 */
function general(fixture: FixtureResolver): Resolver {
  return {
    txt: (name) => fixture.txt(name),
    a: (name) => fixture.a(name),
    aaaa: (name) => fixture.aaaa(name),
    mx: (name) => fixture.mx(name),
    ptr: (ip) => fixture.ptr(ip),
  };
}

const NAMES = ["example.com", "a.example.com", "b.a.example.com", "EXAMPLE.org.", "x.example.org", "1.2.0.192.in-addr.arpa"];
const LONG = "x".repeat(65_536);
const MANY = Array.from({ length: 4097 }, () => "a");

/** Record values as a user's Map may hold them: good ones, too long ones, and what is no string at all. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant(LONG) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 42, {}, ["nested"]) },
);
const list = fc.oneof({ weight: 8, arbitrary: fc.array(value, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(MANY) });
const chunks = fc.oneof(
  { weight: 8, arbitrary: fc.array(value, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("notalist", "x", 7, null) },
);
const mx = fc.oneof(
  { weight: 6, arbitrary: fc.record({ exchange: fc.string({ maxLength: 8 }), priority: fc.integer({ min: -1, max: 70_000 }) }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, "mx", { exchange: 5, priority: 1 }, { exchange: "m", priority: 1.5 }) },
);
const types = fc.oneof(fc.constant(true as const), fc.subarray([...RECORD_TYPES]));
/** Absent most of the time: an entry with a CNAME, nxdomain or timeout mark answers nothing else. */
const rarely = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const entry: fc.Arbitrary<ZoneEntry> = fc.record({
  TXT: fc.oneof({ weight: 8, arbitrary: fc.array(chunks, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant([MANY]) }),
  A: list,
  AAAA: list,
  MX: fc.array(mx, { maxLength: 3 }),
  PTR: list,
  CNAME: rarely(fc.oneof(fc.constantFrom(...NAMES), fc.constantFrom<unknown>(3, null))),
  timeout: rarely(types),
  nxdomain: rarely(types),
}) as fc.Arbitrary<ZoneEntry>;
const zone: fc.Arbitrary<Zone> = fc
  .array(fc.tuple(fc.constantFrom(...NAMES.map((n) => n.toLowerCase().replace(/\.$/, ""))), entry), { maxLength: 6 })
  .map((entries) => new Map(entries));
const question = fc.tuple(
  fc.constantFrom<RecordType>(...RECORD_TYPES),
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES, "192.0.2.1", "no.such") }, { weight: 1, arbitrary: fc.string() }),
);

describe("FixtureResolver's answers taken at once by the guard", () => {
  it("are the answers of the general path (its promise, validateAnswer's copy), for any zone and query", async () => {
    await fc.assert(
      fc.asyncProperty(zone, fc.array(question, { minLength: 1, maxLength: 6 }), async (z, questions) => {
        const fixture = new FixtureResolver(z);
        for (const [type, name] of questions) {
          const fast = await guardedQuery(fixture, type, name);
          const slow = await guardedQuery(general(fixture), type, name);
          expect(fast).toEqual(slow);
          // Through a BudgetedResolver too (the path authenticate() takes).
          expect(await new BudgetedResolver(fixture).txt(name)).toEqual(await guardedQuery(general(fixture), "TXT", name));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("TXT records are their character-strings joined in order (RFC 7208 3.3), one chunk or many", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
        async (generated) => {
          const txt = structuredClone(generated); // changed below: not fast-check's own value
          const fixture = new FixtureResolver(new Map([["example.com", { TXT: txt }]]));
          const expected = () => ({ kind: "ok", records: txt.map((chunks) => chunks.join("")) });
          expect(await guardedQuery(fixture, "TXT", "example.com")).toEqual(expected());
          expect(await fixture.txt("example.com")).toEqual(expected());
          // A chunk changed in place, or one more: the next answer has it.
          txt[0]![0] = `${txt[0]![0]}!`;
          expect(await guardedQuery(fixture, "TXT", "example.com")).toEqual(expected());
          txt[0]!.push("+");
          expect(await guardedQuery(fixture, "TXT", "example.com")).toEqual(expected());
          txt[0]!.splice(0, 1, "a", "b");
          expect(await fixture.txt("example.com")).toEqual(expected());
        },
      ),
    );
  });

  it("gives a fresh answer each time: changing one changes neither the zone nor the next answer", async () => {
    const fixture = new FixtureResolver(
      new Map([["example.com", { TXT: [["v=spf1 ", "-all"], ["one"]], A: ["192.0.2.1"], MX: [{ exchange: "mx", priority: 1 }] }]]),
    );
    for (const type of ["TXT", "A", "MX"] as const) {
      const first = (await guardedQuery(fixture, type, "example.com")) as { kind: "ok"; records: unknown[] };
      const expected = structuredClone(first);
      first.records.push("changed");
      if (type === "MX") (first.records[0] as { exchange: string }).exchange = "changed";
      expect(await guardedQuery(fixture, type, "example.com")).toEqual(expected);
    }
  });

  it("a lookup overridden on the instance or in a subclass is called (the general path)", async () => {
    const calls: string[] = [];
    const zone = new Map([["example.com", { TXT: [["v=spf1 -all"]] }]]);
    class Counting extends FixtureResolver {
      override lookup<T extends RecordType>(name: string, type: T) {
        calls.push(`${type} ${name}`);
        return super.lookup(name, type);
      }
    }
    const own = new FixtureResolver(zone);
    own.lookup = (name, type) => Promise.resolve({ kind: "ok", records: [`${type} ${name}`] } as DnsAnswer<never>);
    expect(await guardedQuery(new Counting(zone), "TXT", "example.com")).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(calls).toEqual(["TXT example.com"]);
    expect(await guardedQuery(own, "A", "example.com")).toEqual({ kind: "ok", records: ["A example.com"] });
  });

  it("stopped before its microtask (released, aborted, the call's deadline, a signal), it answers as the general path does", async () => {
    const zone = new Map([["example.com", { TXT: [["v=spf1 -all"]] }]]);
    const ways = async (resolver: Resolver) => {
      const out: unknown[] = [];
      const events: DnsQueryEvent[] = [];
      const r1 = new BudgetedResolver(resolver, { onQuery: (e) => events.push(e) });
      const s = r1.speculate<string[]>("TXT", "example.com")!;
      r1.release(s);
      out.push(await s.answer, r1.speculative);
      const controller = new AbortController();
      const r2 = new BudgetedResolver(resolver, { signal: controller.signal });
      const p2 = r2.txt("example.com");
      controller.abort("stop");
      out.push(await p2);
      const r3 = new BudgetedResolver(resolver);
      const call = new CallDeadline(60_000);
      call.bind(r3);
      const p3 = r3.txt("example.com");
      call.abort("the caller gave up");
      out.push(await p3, await r3.txt("example.com"));
      const own = new AbortController();
      const p4 = new BudgetedResolver(resolver).txt("example.com", { signal: own.signal });
      own.abort();
      out.push(await p4);
      await new Promise((resolve) => setImmediate(resolve));
      out.push(events.map((e) => [e.outcome, e.speculative]));
      return out;
    };
    const fast = await ways(new FixtureResolver(zone));
    expect(fast).toEqual(await ways(general(new FixtureResolver(zone))));
    expect(fast).toEqual([
      { kind: "error", reason: "DNS query abandoned: not needed" },
      1,
      { kind: "error", reason: "DNS query abandoned: stop" },
      { kind: "error", reason: "DNS query abandoned: the caller gave up" },
      { kind: "error", reason: "DNS query not sent: the caller gave up" },
      { kind: "error", reason: "DNS query abandoned: aborted" },
      [["error", true]],
    ]);
  });

  it("schedules no deadline (its answer comes in the next microtask, before any timer): an in-memory evaluation arms no timer", async () => {
    const zone = new Map([["example.com", { TXT: [["v=spf1 -all"]] }]]);
    await new Promise((resolve) => setImmediate(resolve));
    const before = scheduledDeadlines().pending;
    const fast = new BudgetedResolver(new FixtureResolver(zone)).txt("example.com");
    expect(scheduledDeadlines().pending).toBe(before);
    const slow = new BudgetedResolver(general(new FixtureResolver(zone))).txt("example.com");
    expect(scheduledDeadlines().pending).toBe(before + 1);
    expect(await fast).toEqual(await slow);
    expect(scheduledDeadlines().pending).toBe(before);
  });

  it("an entry whose getter throws is an error answer, as from the lookup's rejected promise", async () => {
    const entry = Object.defineProperty({}, "TXT", {
      get() {
        throw new Error("no records for you");
      },
    }) as ZoneEntry;
    const fixture = new FixtureResolver(new Map([["example.com", entry]]));
    const fast = await guardedQuery(fixture, "TXT", "example.com");
    expect(fast).toEqual({ kind: "error", reason: "no records for you" });
    expect(fast).toEqual(await guardedQuery(general(fixture), "TXT", "example.com"));
  });
});
