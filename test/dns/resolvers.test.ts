import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BudgetedResolver,
  CachingResolver,
  type DnsAnswer,
  type DnsQueryEvent,
  FixtureResolver,
  fromResolveFunction,
  loadZone,
  NodeResolver,
  RecordingResolver,
  type Resolver,
  reverseName,
  zoneFromObject,
} from "../../src/dns/index.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";

const zone = zoneFromObject({
  "example.com": {
    TXT: ["v=spf1 -all", ["v=DKIM1; p=", "abc"]],
    A: ["192.0.2.1", "192.0.2.2"],
    MX: [[10, "mx.example.com"]],
  },
  "v6.example.com": { AAAA: ["2001:db8::1"] },
  "x.sub.example.com": { TXT: "deep" },
  "slow.example.com": { timeout: true },
  "1.2.0.192.in-addr.arpa": { PTR: ["example.com"] },
});

describe("NodeResolver against a DNS server on loopback", () => {
  let server: TestDnsServer;
  let resolver: NodeResolver;
  beforeAll(async () => {
    server = await startDnsServer(zone, { servfail: ["broken.example.com"] });
    resolver = new NodeResolver({ servers: [`127.0.0.1:${server.port}`], timeoutMs: 400, tries: 1 });
  });
  afterAll(() => server.close());

  const cases: Array<[string, (r: Resolver) => Promise<DnsAnswer<unknown>>, unknown]> = [
    ["TXT chunks of one record are joined", (r) => r.txt("example.com"), { kind: "ok", records: ["v=spf1 -all", "v=DKIM1; p=abc"] }],
    ["MX", (r) => r.mx("example.com"), { kind: "ok", records: [{ priority: 10, exchange: "mx.example.com" }] }],
    ["AAAA", (r) => r.aaaa("v6.example.com"), { kind: "ok", records: ["2001:db8::1"] }],
    ["PTR by address", (r) => r.ptr("192.0.2.1"), { kind: "ok", records: ["example.com"] }],
    ["NXDOMAIN stays NXDOMAIN", (r) => r.txt("missing.example.com"), { kind: "nxdomain" }],
    ["NODATA stays NODATA", (r) => r.txt("v6.example.com"), { kind: "nodata" }],
    ["an empty non-terminal is NODATA", (r) => r.txt("sub.example.com"), { kind: "nodata" }],
    ["SERVFAIL is a failure", (r) => r.txt("broken.example.com"), { kind: "error", reason: "ESERVFAIL" }],
    ["no answer is a timeout", (r) => r.txt("slow.example.com"), { kind: "error", reason: "ETIMEOUT" }],
    [
      "a non-address PTR query is a failure, not a throw",
      (r) => r.ptr("not-an-ip"),
      { kind: "error", reason: "not an IP address: not-an-ip" },
    ],
  ];
  for (const [name, run, expected] of cases) {
    it(name, async () => {
      expect(await run(resolver)).toMatchObject(expected as object);
    });
  }

  it("A answers carry the TTL", async () => {
    expect(await resolver.a("example.com")).toEqual({ kind: "ok", records: ["192.0.2.1", "192.0.2.2"], ttl: 300 });
  });

  it("a recording of live answers replays the same through FixtureResolver", async () => {
    const recorder = new RecordingResolver(resolver);
    const asks = (r: Resolver) =>
      Promise.all([
        r.txt("example.com"),
        r.mx("example.com"),
        r.txt("missing.example.com"),
        r.txt("v6.example.com"),
        r.aaaa("v6.example.com"),
        r.ptr("192.0.2.1"),
        r.txt("slow.example.com"),
      ]);
    const live = await asks(recorder);
    const dir = await mkdtemp(join(tmpdir(), "msgauth-rec-"));
    for (const ext of ["yaml", "json"]) {
      await recorder.save(join(dir, `rec.${ext}`));
      const replay = new FixtureResolver(await loadZone(join(dir, `rec.${ext}`)));
      const replayed = await asks(replay);
      expect(replayed.map(({ ...a }) => ("ttl" in a ? { ...a, ttl: undefined } : a))).toEqual(
        live.map((a) => ("ttl" in a ? { ...a, ttl: undefined } : a)),
      );
    }
    expect(recorder.size).toBe(7);
  });
});

describe("fromResolveFunction (mailauth-style resolvers)", () => {
  const fn = async (name: string, type: string): Promise<unknown> => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    if (name === "gone.example") throw err("ENOTFOUND");
    if (name === "empty.example") throw err("ENODATA");
    if (name === "slow.example") throw err("ETIMEOUT");
    if (type === "TXT") return [["v=spf1 ", "-all"]];
    if (type === "MX") return [{ exchange: "mx.example", priority: 5 }];
    if (type === "PTR") return [name];
    return ["192.0.2.7"];
  };
  const r = fromResolveFunction(fn);
  const cases: Array<[string, () => Promise<unknown>, unknown]> = [
    ["TXT chunks are joined", () => r.txt("a.example"), { kind: "ok", records: ["v=spf1 -all"] }],
    ["ENOTFOUND is NXDOMAIN", () => r.txt("gone.example"), { kind: "nxdomain" }],
    ["ENODATA is NODATA", () => r.a("empty.example"), { kind: "nodata" }],
    ["ETIMEOUT is a failure", () => r.a("slow.example"), { kind: "error", reason: "ETIMEOUT" }],
    ["MX", () => r.mx("a.example"), { kind: "ok", records: [{ exchange: "mx.example", priority: 5 }] }],
    ["PTR is asked by reverse name", () => r.ptr("2001:db8::1"), { kind: "ok", records: [reverseName("2001:db8::1")] }],
  ];
  for (const [name, run, expected] of cases) it(name, async () => expect(await run()).toEqual(expected));
});

describe("CachingResolver", () => {
  function counting(answers: Record<string, DnsAnswer<string[]>>) {
    const calls: string[] = [];
    const r: Resolver = {
      txt: async (n) => {
        calls.push(n);
        return answers[n] ?? { kind: "nxdomain" };
      },
      a: async () => ({ kind: "nodata" }),
      aaaa: async () => ({ kind: "nodata" }),
      mx: async () => ({ kind: "nodata" }),
      ptr: async () => ({ kind: "nodata" }),
    };
    return { r, calls };
  }

  it("keeps an answer for its TTL and asks again after it", async () => {
    let now = 0;
    const { r, calls } = counting({ "a.example": { kind: "ok", records: ["x"], ttl: 10 } });
    const c = new CachingResolver(r, { now: () => now });
    await c.txt("a.example");
    await c.txt("A.EXAMPLE.");
    expect(calls).toHaveLength(1);
    now = 10_001;
    await c.txt("a.example");
    expect(calls).toHaveLength(2);
  });

  it("caches NXDOMAIN for the negative TTL but never a failure", async () => {
    let now = 0;
    const { r, calls } = counting({ "bad.example": { kind: "error", reason: "ETIMEOUT" } });
    const c = new CachingResolver(r, { now: () => now, negativeTtl: 5 });
    await c.txt("gone.example");
    await c.txt("gone.example");
    await c.txt("bad.example");
    await c.txt("bad.example");
    expect(calls).toEqual(["gone.example", "bad.example", "bad.example"]);
    now = 6000;
    await c.txt("gone.example");
    expect(calls).toHaveLength(4);
  });

  it("shares one lookup between concurrent identical queries", async () => {
    const { r, calls } = counting({ "a.example": { kind: "ok", records: ["x"] } });
    const c = new CachingResolver(r);
    await Promise.all([c.txt("a.example"), c.txt("a.example"), c.txt("a.example")]);
    expect(calls).toHaveLength(1);
  });

  it("stays within maxEntries, dropping the least recently used", async () => {
    const { r, calls } = counting({});
    const c = new CachingResolver(r, { maxEntries: 2 });
    await c.txt("1.example");
    await c.txt("2.example");
    await c.txt("1.example"); // 1 is now most recent
    await c.txt("3.example"); // evicts 2
    expect(c.size).toBe(2);
    await c.txt("1.example");
    await c.txt("2.example");
    expect(calls).toEqual(["1.example", "2.example", "3.example", "2.example"]);
  });
});

describe("BudgetedResolver", () => {
  it("refuses queries past the limit with an error answer and reports every query", async () => {
    const events: DnsQueryEvent[] = [];
    const inner = new FixtureResolver(zone);
    const b = new BudgetedResolver(inner, { maxQueries: 2, onQuery: (e) => events.push(e) });
    expect((await b.txt("example.com")).kind).toBe("ok");
    expect((await b.txt("missing.example.com")).kind).toBe("nxdomain");
    expect(await b.txt("example.com")).toEqual({ kind: "error", reason: "DNS query limit of 2 exceeded" });
    expect(events.map((e) => e.outcome)).toEqual(["ok", "nxdomain", "refused"]);
    expect(b.queries).toBe(2);
    expect(b.refused).toBe(1);
  });

  it("refuses queries once the time budget is spent", async () => {
    let now = 0;
    const b = new BudgetedResolver(new FixtureResolver(zone), { timeBudgetMs: 100, now: () => now });
    expect((await b.txt("example.com")).kind).toBe("ok");
    now = 150;
    expect(await b.txt("example.com")).toEqual({ kind: "error", reason: "DNS time budget exceeded" });
  });

  it("turns a throwing resolver into an error answer", async () => {
    const thrower = {
      txt: async () => {
        throw new Error("boom");
      },
    } as unknown as Resolver;
    const b = new BudgetedResolver(thrower);
    expect(await b.txt("x.example")).toEqual({ kind: "error", reason: "boom" });
  });
});
