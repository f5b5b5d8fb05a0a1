import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/authenticate.js";
import { checkDmarc, DmarcLookups, treeWalkTargets } from "../../src/dmarc/index.js";
import {
  BudgetedResolver,
  type DnsAnswer,
  type DnsQueryEvent,
  FixtureResolver,
  guardedQuery,
  type QueryOptions,
  type Resolver,
  zoneFromObject,
} from "../../src/dns/index.js";
import { parseAuthor } from "../../src/message/from.js";
import { splitMessage } from "../../src/message/split.js";
import { checkSpf, type SpfOptions } from "../../src/spf/index.js";
import { RoundTripResolver } from "../helpers/round-trips.js";

const client = { ip: "192.0.2.1", helo: "h.test", mailFrom: "u@top.test" };

/** Runs checkSpf over a zone in round trips, with or without prefetching. */
async function spfRounds(zone: Record<string, unknown>, prefetch: boolean, extra: Partial<SpfOptions> = {}) {
  const resolver = new RoundTripResolver(new FixtureResolver(zoneFromObject(zone)));
  const result = await resolver.run(() => checkSpf(client, { resolver, prefetch, ...extra }));
  return { result, rounds: resolver.rounds, sent: resolver.sent };
}

// top -> a -> a1 -> a2 (no match), and b -> b1 (the match): six records, three deep below top.
const tree = () => ({
  "top.test": { TXT: "v=spf1 include:a.test include:b.test -all" },
  "a.test": { TXT: "v=spf1 include:a1.test ip4:198.51.100.1 -all" },
  "a1.test": { TXT: "v=spf1 include:a2.test ~all" },
  "a2.test": { TXT: "v=spf1 ip4:198.51.100.2 -all" },
  "b.test": { TXT: "v=spf1 a:host.b.test include:b1.test -all" },
  "b1.test": { TXT: "v=spf1 ip4:192.0.2.0/24 -all" },
  "host.b.test": { A: "198.51.100.9" },
});

describe("DNS critical path: queries start as soon as their names are known", () => {
  it("SPF: sibling includes and the names in them are fetched together, so the rounds are the depth of the tree", async () => {
    const sequential = await spfRounds(tree(), false);
    const ahead = await spfRounds(tree(), true);
    expect(sequential.result).toMatchObject({ result: "pass", mechanism: "include:b.test" });
    expect(ahead.result).toEqual(sequential.result);
    expect(sequential.rounds).toBe(7); // top, a, a1, a2, b, host.b, b1: one after the other
    expect(ahead.rounds).toBe(4); // top, {a, b}, {a1, host.b, b1}, {a2}
    // The same queries, no more: every name here is one the evaluation reached.
    expect([...ahead.sent].sort()).toEqual([...sequential.sent].sort());
  });

  it("SPF: the answer still decides in the record's order (an earlier error wins over a later match)", async () => {
    const zone = { ...tree(), "top.test": { TXT: "v=spf1 include:broken.test include:b1.test -all" } };
    for (const prefetch of [false, true]) {
      const resolver = new RoundTripResolver(new FixtureResolver(zoneFromObject(zone)));
      resolver.failing.add("TXT broken.test");
      const r = await resolver.run(() => checkSpf(client, { resolver, prefetch }));
      expect(r.result).toBe("temperror"); // b1.test would pass, but broken.test comes first (RFC 7208 4.6.2)
    }
  });

  it("SPF: a name built with a macro is not guessed at; it is fetched when the evaluation reaches it", async () => {
    const zone = { "top.test": { TXT: "v=spf1 include:%{l}.users.test -all" }, "u.users.test": { TXT: "v=spf1 +all" } };
    const r = await spfRounds(zone, true);
    expect(r.result.result).toBe("pass");
    expect(r.sent).toEqual(["TXT top.test", "TXT u.users.test"]);
  });

  it("authenticate(): the DMARC tree walk goes out with SPF, not after it", async () => {
    const zone = zoneFromObject({
      ...tree(),
      "_dmarc.top.test": { TXT: "v=DMARC1; p=reject" },
    });
    const message = "From: u@top.test\r\nSubject: x\r\n\r\nbody\r\n";
    const run = async () => {
      const resolver = new RoundTripResolver(new FixtureResolver(zone));
      const r = await resolver.run(() =>
        authenticate(message, client, { resolver, authservId: "mx.test", checks: { iprev: false, arc: false } }),
      );
      return { r, rounds: resolver.rounds };
    };
    const { r, rounds } = await run();
    expect(r.spf?.result).toBe("pass");
    expect(r.dmarc).toMatchObject({ result: "pass", orgDomain: "top.test" });
    // SPF's tree is four deep; _dmarc.top.test and the walk above it (_dmarc.test) ride along.
    expect(rounds).toBe(4);
  });

  it("checkDmarc: a tree walk's names are sent together and read from the bottom up", async () => {
    const zone = zoneFromObject({
      "_dmarc.example.org": { TXT: "v=DMARC1; p=reject; psd=n" },
      "_dmarc.org": { TXT: "v=DMARC1; p=none; psd=y" },
    });
    const resolver = new RoundTripResolver(new FixtureResolver(zone));
    const author = parseAuthor(splitMessage(new TextEncoder().encode("From: a@x.y.z.example.org\r\n\r\n")).headers);
    const r = await resolver.run(() => checkDmarc({ author, dkim: [] }, { resolver }));
    expect(r).toMatchObject({ result: "fail", policyDomain: "example.org", policy: "reject" });
    // The own record, then the walk above it in one round (rather than four), then the walk for the
    // organizational domain (all answered already).
    expect(resolver.rounds).toBe(2);
  });
});

// --- Property: with prefetching, SPF decides exactly as a sequential evaluation does -------------

const N = 5;
const qualifier = fc.constantFrom("", "-", "~", "?");
const idx = fc.integer({ min: 0, max: N - 1 });
const term = fc.oneof(
  fc.tuple(qualifier, idx).map(([q, j]) => `${q}include:r${j}.test`),
  fc.tuple(qualifier, idx).map(([q, j]) => `${q}a:h${j}.test`),
  qualifier.map((q) => `${q}a`),
  fc.tuple(qualifier, idx).map(([q, j]) => `${q}mx:r${j}.test`),
  fc.tuple(qualifier, idx).map(([q, j]) => `${q}exists:h${j}.test`),
  fc.tuple(qualifier, fc.constantFrom(1, 2)).map(([q, x]) => `${q}ip4:192.0.2.${x}`),
  qualifier.map((q) => `${q}all`),
  fc.tuple(qualifier, idx).map(([q, j]) => `${q}a:%{l}.h${j}.test`),
  idx.map((j) => `redirect=r${j}.test`),
);
const recordKind = fc.oneof(
  { weight: 6, arbitrary: fc.array(term, { maxLength: 5 }).map((terms) => ({ kind: "spf" as const, terms })) },
  { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "fail" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "two" as const }) },
);
const hostKind = fc.constantFrom("match", "other", "none", "fail");
const world = fc.record({
  records: fc.array(recordKind, { minLength: N, maxLength: N }),
  hosts: fc.array(hostKind, { minLength: N, maxLength: N }),
  maxLookups: fc.constantFrom(10, 3),
  budgeted: fc.boolean(),
  delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 16 }),
});

type World = typeof world extends fc.Arbitrary<infer W> ? W : never;

function zoneOf(w: World): { zone: Record<string, Record<string, string | string[]>>; failing: Set<string> } {
  const zone: Record<string, Record<string, string | string[]>> = {};
  const failing = new Set<string>();
  const set = (name: string, type: string, value: string | string[]) => {
    zone[name] = { ...zone[name], [type]: value };
  };
  w.records.forEach((r, j) => {
    const name = j === 0 ? "top.test" : `r${j}.test`;
    if (r.kind === "spf") set(name, "TXT", `v=spf1 ${r.terms.join(" ")}`);
    else if (r.kind === "two") set(name, "TXT", ["v=spf1 -all", "v=spf1 +all"]);
    else if (r.kind === "fail") failing.add(`TXT ${name}`);
    set(name, "MX", `10 h${j}.test`);
  });
  w.hosts.forEach((h, j) => {
    for (const name of [`h${j}.test`, `u.h${j}.test`]) {
      if (h === "match") set(name, "A", "192.0.2.1");
      else if (h === "other") set(name, "A", "198.51.100.7");
      else if (h === "fail") failing.add(`A ${name}`);
    }
  });
  // r0 is top.test: includes of r0 point back at the top (a loop, bounded by the lookup limit).
  zone["r0.test"] = zone["top.test"] ?? {};
  return { zone, failing };
}

/** Answers after a few milliseconds, the delays taken in turn: the queries settle in varied orders. */
class ShuffledResolver implements Resolver {
  sent: string[] = [];
  #i = 0;
  constructor(
    readonly inner: Resolver,
    readonly failing: Set<string>,
    readonly delays: number[],
  ) {}
  #q<T>(type: string, name: string, f: () => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    this.sent.push(`${type} ${name}`);
    const delay = this.delays[this.#i++ % this.delays.length]!;
    const fails = this.failing.has(`${type} ${name}`);
    return new Promise((resolve) =>
      setTimeout(() => (fails ? resolve({ kind: "error", reason: "SERVFAIL" }) : void f().then(resolve)), delay),
    );
  }
  txt = (n: string) => this.#q("TXT", n, () => this.inner.txt(n));
  a = (n: string) => this.#q("A", n, () => this.inner.a(n));
  aaaa = (n: string) => this.#q("AAAA", n, () => this.inner.aaaa(n));
  mx = (n: string) => this.#q("MX", n, () => this.inner.mx(n));
  ptr = (n: string) => this.#q("PTR", n, () => this.inner.ptr(n));
}

function subtract(all: string[], part: string[]): string[] | undefined {
  const left = [...all];
  for (const q of part) {
    const i = left.indexOf(q);
    if (i < 0) return undefined;
    left.splice(i, 1);
  }
  return left;
}

describe("SPF with prefetching = SPF evaluated sequentially", () => {
  it("the same result, reason, lookup counts and explanation over generated record trees; at most maxLookups queries more", async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const { zone, failing } = zoneOf(w);
        const inner = new FixtureResolver(zoneFromObject(zone));
        const run = async (prefetch: boolean) => {
          const resolver = new ShuffledResolver(inner, failing, w.delays);
          const result = await checkSpf(client, {
            resolver,
            prefetch,
            maxLookups: w.maxLookups,
            ...(w.budgeted ? { timeBudgetMs: 60_000 } : {}),
          });
          return { result, sent: resolver.sent };
        };
        const sequential = await run(false);
        const ahead = await run(true);
        expect(ahead.result).toEqual(sequential.result);
        // Every query the sequential evaluation made was made; the rest were sent ahead, within the limit.
        const extra = subtract(ahead.sent, sequential.sent);
        expect(extra).toBeDefined();
        expect(extra!.length).toBeLessThanOrEqual(w.maxLookups);
      }),
      { numRuns: 150 },
    );
  });
});

describe("a hostile record cannot fan out", () => {
  // Every record includes ten others, three levels deep (111 records), none matching.
  const fanOut: Record<string, { TXT: string }> = {};
  const add = (name: string, depth: number) => {
    if (depth === 3) {
      fanOut[name] = { TXT: "v=spf1 -all" };
      return;
    }
    const kids = Array.from({ length: 10 }, (_, i) => `n${i}.${name}`);
    fanOut[name] = { TXT: `v=spf1 ${kids.map((k) => `include:${k}`).join(" ")} -all` };
    for (const k of kids) add(k, depth + 1);
  };
  add("top.test", 0);

  it("checkSpf: prefetching sends at most maxLookups queries more than the sequential evaluation", async () => {
    for (const maxLookups of [10, 5, 1]) {
      const sequential = await spfRounds(fanOut, false, { maxLookups });
      const ahead = await spfRounds(fanOut, true, { maxLookups });
      expect(ahead.result).toEqual(sequential.result);
      expect(ahead.result).toMatchObject({ result: "permerror" });
      expect(sequential.sent.length).toBe(maxLookups + 1); // the top record and one per counted term
      expect(ahead.sent.length).toBeLessThanOrEqual(sequential.sent.length + maxLookups);
    }
  });

  it("authenticate(): what the checks count stays under maxDnsQueries, and all that is sent under twice that", async () => {
    for (const maxDnsQueries of [4, 12, 30]) {
      const resolver = new RoundTripResolver(new FixtureResolver(zoneFromObject(fanOut)));
      const r = await resolver.run(() =>
        authenticate("From: u@top.test\r\n\r\nx\r\n", client, {
          resolver,
          authservId: "mx.test",
          limits: { maxDnsQueries },
          checks: { iprev: false },
        }),
      );
      expect(r.dns.queries).toBeLessThanOrEqual(maxDnsQueries);
      expect(r.dns.queries + r.dns.speculative).toBe(resolver.sent.length);
      expect(resolver.sent.length).toBeLessThanOrEqual(2 * maxDnsQueries);
    }
  });
});

describe("no queries sent ahead for a resolver answering from memory", () => {
  it("SPF over a FixtureResolver makes the sequential evaluation's queries only (speculation would only cost CPU)", async () => {
    const sent: string[] = [];
    const inner = new FixtureResolver(zoneFromObject(tree()));
    const log = <T>(entry: string, answer: T): T => {
      sent.push(entry);
      return answer;
    };
    const counting: Resolver = {
      txt: (n) => log(`TXT ${n}`, inner.txt(n)),
      a: (n) => log(`A ${n}`, inner.a(n)),
      aaaa: (n) => log(`AAAA ${n}`, inner.aaaa(n)),
      mx: (n) => log(`MX ${n}`, inner.mx(n)),
      ptr: (n) => log(`PTR ${n}`, inner.ptr(n)),
    };
    const r = await checkSpf(client, { resolver: counting });
    expect(r.result).toBe("pass");
    const ahead = await spfRounds(tree(), false);
    expect(sent).toEqual(ahead.sent);
  });
});

describe("the guard's signal for the resolver, made when read", () => {
  it("a resolver that reads its signal only after the query was abandoned finds it aborted", async () => {
    let seen: QueryOptions | undefined;
    const hanging = {
      txt: (_n: string, o?: QueryOptions) => {
        seen = o;
        return new Promise<never>(() => {});
      },
    } as unknown as Resolver;
    const answer = await guardedQuery(hanging, "TXT", "example.com", { timeoutMs: 5 });
    expect(answer).toMatchObject({ kind: "error" });
    expect(seen?.signal?.aborted).toBe(true);
  });

  it("read while the query is pending, it is aborted when the query is abandoned, by any of several signals", async () => {
    let seen: QueryOptions | undefined;
    const hanging = {
      txt: (_n: string, o?: QueryOptions) => {
        seen = o;
        return new Promise<never>(() => {});
      },
    } as unknown as Resolver;
    const a = new AbortController();
    const b = new AbortController();
    const pending = guardedQuery(hanging, "TXT", "example.com", { signal: [a.signal, b.signal] });
    const signal = seen!.signal!;
    expect(signal.aborted).toBe(false);
    b.abort("stop");
    expect(await pending).toEqual({ kind: "error", reason: "DNS query abandoned: stop" });
    expect(signal.aborted).toBe(true);
  });
});

describe("authenticate() lets go of what it sent ahead", () => {
  it("a DMARC name sent ahead and not read is released before the result (reported speculative), not left waiting", async () => {
    // The SPF domain differs from the From domain, and strict alignment means its walk is never read.
    const zone = zoneFromObject({
      "top.test": { TXT: "v=spf1 -all" },
      "bounce.esp.example": { TXT: "v=spf1 ip4:192.0.2.1 -all" },
      "_dmarc.top.test": { TXT: "v=DMARC1; p=reject; aspf=s; adkim=s" },
    });
    const resolver = new RoundTripResolver(new FixtureResolver(zone));
    const events: string[] = [];
    const r = await resolver.run(() =>
      authenticate(
        "From: u@top.test\r\n\r\nx\r\n",
        { ip: "192.0.2.1", helo: "h.test", mailFrom: "b@bounce.esp.example" },
        {
          resolver,
          authservId: "mx.test",
          checks: { iprev: false, arc: false },
          onQuery: (e) => {
            if (e.speculative) events.push(e.name);
          },
        },
      ),
    );
    expect(r.spf?.result).toBe("pass");
    expect(r.dmarc?.result).toBe("fail"); // strict SPF alignment: bounce.esp.example is not top.test
    expect(r.dns.speculative).toBeGreaterThan(0);
    await new Promise((done) => setImmediate(done));
    // Every query sent ahead and not used was let go (and so reported), none left pending.
    expect(events.length).toBe(r.dns.speculative);
    expect(events).toContain("_dmarc.bounce.esp.example");
  });
});

describe("authenticate(): an ESP's d= walked with the rest", () => {
  it("a signature by another domain: its DMARC walk goes out with SPF, not after DKIM (rounds = the deepest chain)", async () => {
    const { signDkim } = await import("../../src/dkim/index.js");
    const { ED_PEM, EXAMPLE_ZONE } = await import("../helpers/keys.js");
    const { mergeZones } = await import("../../src/dns/index.js");
    const zone = mergeZones(
      EXAMPLE_ZONE,
      zoneFromObject({
        "top.test": { TXT: "v=spf1 include:a.test -all" },
        "a.test": { TXT: "v=spf1 ip4:192.0.2.0/24 -all" },
        "_dmarc.top.test": { TXT: "v=DMARC1; p=reject" },
        "ed25519._domainkey.mail.esp.example": { TXT: EXAMPLE_ZONE.get("ed25519._domainkey.example.com")!.TXT! },
      }),
    );
    const message = "From: u@top.test\r\nSubject: x\r\n\r\nbody\r\n";
    const signed = (await signDkim(message, { domain: "mail.esp.example", selector: "ed25519", privateKey: ED_PEM })) + message;
    const resolver = new RoundTripResolver(new FixtureResolver(zone));
    const r = await resolver.run(() =>
      authenticate(signed, client, { resolver, authservId: "mx.test", checks: { iprev: false, arc: false } }),
    );
    expect(r.dkim[0]).toMatchObject({ result: "pass", domain: "mail.esp.example" });
    expect(r.dmarc?.result).toBe("pass"); // SPF passes aligned; DKIM's d= is walked for alignment all the same
    expect(resolver.sent).toContain("TXT _dmarc.esp.example");
    // SPF: top.test, a.test. The key, _dmarc.top.test, the walks of top.test and mail.esp.example: round 1.
    expect(resolver.rounds).toBe(2);
  });
});

describe("BudgetedResolver.claim without an observer (the speculated query's own promise)", () => {
  const zone = () => zoneFromObject({ "a.test": { TXT: "v=spf1 -all" }, "b.test": { A: "192.0.2.1" } });
  /** Speculates every name, claims them in order (the budget allowing `max`), and reports answers and counts. */
  async function run(observe: boolean, max: number) {
    const events: string[] = [];
    const r = new BudgetedResolver(new FixtureResolver(zone()), {
      maxQueries: max,
      ...(observe ? { onQuery: (e: DnsQueryEvent) => events.push(`${e.type} ${e.name} ${e.outcome}`) } : {}),
    });
    const names: Array<["TXT" | "A", string]> = [
      ["TXT", "a.test"],
      ["A", "b.test"],
      ["TXT", "none.test"],
    ];
    const s = names.map(([type, name]) => r.speculate(type, name));
    const answers: unknown[] = [];
    for (const x of s) answers.push(x ? await r.claim(x) : undefined);
    if (s[0]) answers.push(await r.claim(s[0])); // claimed again: a fresh query
    return { answers, queries: r.queries, refused: r.refused, speculative: r.speculative, events };
  }
  it("gives the answers and counts the observed path gives, refusals included", async () => {
    for (const max of [1, 2, 3, 4, 10]) {
      const plain = await run(false, max);
      const observed = await run(true, max);
      expect(plain.answers).toEqual(observed.answers);
      expect([plain.queries, plain.refused, plain.speculative]).toEqual([observed.queries, observed.refused, observed.speculative]);
      expect(observed.events.length).toBeGreaterThan(0);
    }
  });
  it("a clock that throws rejects the claim, as from an async function, instead of throwing", async () => {
    let calls = 0;
    const r = new BudgetedResolver(new FixtureResolver(zone()), {
      now: () => {
        if (++calls > 1) throw new Error("clock broke");
        return 0;
      },
    });
    const s = r.speculate("TXT", "a.test")!;
    const p = r.claim(s);
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toThrow("clock broke");
  });
});

describe("BudgetedResolver.claimSettled (a speculated answer already there, read without an await)", () => {
  const zone = () => zoneFromObject({ "a.test": { TXT: "v=spf1 -all" }, "b.test": { A: "192.0.2.1" } });
  const names: Array<["TXT" | "A", string]> = [
    ["TXT", "a.test"],
    ["A", "b.test"],
    ["TXT", "none.test"],
  ];
  /** Speculates every name, lets the answers arrive, claims them in order (the budget allowing `max`). */
  async function run(settled: boolean, max: number) {
    const r = new BudgetedResolver(new FixtureResolver(zone()), { maxQueries: max });
    const s = names.map(([type, name]) => r.speculate(type, name));
    await new Promise((resolve) => setImmediate(resolve));
    const answers: unknown[] = [];
    for (const x of s) answers.push(x ? (settled ? r.claimSettled(x) : await r.claim(x)) : undefined);
    return { answers, queries: r.queries, refused: r.refused, speculative: r.speculative };
  }
  it("gives the answers and counts claim() gives, refusals included", async () => {
    for (const max of [1, 2, 3, 4, 10]) {
      const now = await run(true, max);
      expect(now.answers.every((a) => a !== undefined || max < 3)).toBe(true);
      expect(now).toEqual(await run(false, max));
    }
  });
  it("does nothing before the answer arrives, once claimed or released, or with an observer", async () => {
    const r = new BudgetedResolver(new FixtureResolver(zone()));
    const s = r.speculate("TXT", "a.test")!;
    expect(r.claimSettled(s)).toBeUndefined(); // not there yet
    expect([r.queries, r.speculative]).toEqual([0, 1]);
    await s.answer;
    expect(r.claimSettled(s)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(r.claimSettled(s)).toBeUndefined(); // claimed already
    expect([r.queries, r.speculative]).toEqual([1, 0]);
    const t = r.speculate("TXT", "a.test")!;
    await t.answer;
    r.release(t);
    expect(r.claimSettled(t)).toBeUndefined();
    const observed = new BudgetedResolver(new FixtureResolver(zone()), { onQuery: () => {} });
    const u = observed.speculate("TXT", "a.test")!;
    await u.answer;
    expect(observed.claimSettled(u)).toBeUndefined(); // the observer is told by claim()
    expect([observed.queries, observed.speculative]).toEqual([0, 1]);
  });
});

describe("checkDmarc reads a tree walk's names sent ahead and answered without an await", () => {
  const levels = ["a.b.c.d.test", "b.c.d.test", "c.d.test", "d.test", "test"];
  it("the same result and counts whether the answers have arrived when DMARC reads them or not", async () => {
    const recordText = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        "v=DMARC1; p=none",
        "v=DMARC1; p=reject; psd=y",
        "v=DMARC1; p=quarantine; psd=n",
        "v=DMARC1; p=bogus",
        "v=DMARC1; p=reject; aspf=s",
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordText, { minLength: 5, maxLength: 5 }),
        fc.constantFrom(...levels.slice(0, 3)),
        fc.constantFrom(...levels, "other.example"),
        fc.integer({ min: 1, max: 12 }),
        async (texts, from, dkimDomain, maxQueries) => {
          const zone: Record<string, { TXT: string }> = {};
          texts.forEach((t, i) => {
            if (t !== undefined) zone[`_dmarc.${levels[i]}`] = { TXT: t };
          });
          const author = parseAuthor(splitMessage(Buffer.from(`From: a@${from}\r\n\r\n`)).headers);
          const dkim = [{ result: "pass", domain: dkimDomain, selector: "s" }] as never;
          const spf = { result: "pass", domain: from } as never;
          const outcome = async (wait: boolean) => {
            // Answers come a turn later (as from the network): read before they arrive, or after.
            const inner = new FixtureResolver(zoneFromObject(zone));
            const later = <T>(answer: Promise<T>) => new Promise<T>((resolve) => setImmediate(() => resolve(answer)));
            const network: Resolver = {
              txt: (n) => later(inner.txt(n)),
              a: (n) => later(inner.a(n)),
              aaaa: (n) => later(inner.aaaa(n)),
              mx: (n) => later(inner.mx(n)),
              ptr: (n) => later(inner.ptr(n)),
            };
            const resolver = new BudgetedResolver(network, { maxQueries });
            const lookups = new DmarcLookups(resolver);
            if (author.ok) void lookups.record(author.domain).catch(() => {});
            lookups.prefetch(treeWalkTargets(from));
            lookups.prefetch(treeWalkTargets(dkimDomain));
            if (wait) await new Promise((resolve) => setTimeout(resolve, 5));
            const result = await checkDmarc({ author, spf, dkim }, { resolver, lookups } as never);
            lookups.close();
            return {
              result,
              queries: resolver.queries,
              refused: resolver.refused,
              speculative: resolver.speculative,
              dmarc: lookups.queries,
            };
          };
          const arrived = await outcome(true);
          const waiting = await outcome(false);
          expect(arrived).toEqual(waiting);
          expect(JSON.stringify(arrived.result)).toBe(JSON.stringify(waiting.result));
        },
      ),
      { numRuns: 200 },
    );
  });
});
