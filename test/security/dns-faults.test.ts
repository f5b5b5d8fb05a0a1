// Issue 14, section 2: a hostile or broken resolver, and a stalled or failing message stream, must
// never make a public function throw or hang, and never yield pass for what depended on them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  authenticate,
  BudgetedResolver,
  CachingResolver,
  checkDmarc,
  checkDnsbl,
  checkDomainBl,
  checkIprev,
  checkSenderNullMx,
  checkSpf,
  type DnsAnswer,
  discoverStsRecord,
  discoverTlsRpt,
  NodeResolver,
  parseAuthor,
  type QueryOptions,
  type Resolver,
  resolveNextHop,
  sealArc,
  splitMessage,
  verifyArc,
  verifyDkim,
  verifyReportDestination,
} from "../../src/index.js";
import { exampleResolver, fixture, RSA_PEM } from "../helpers/keys.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const sample = fixture("messages/sample.eml");
// The envelope under which the sample passes everything with the real zone (see authenticate.test.ts).
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
const base = { authservId: "mx.example.org", now: NOW };

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

/** A resolver whose every method runs `answer` (which may return anything, throw, or never settle). */
function hostile(answer: (type: string, name: string) => unknown): Resolver {
  const m = (type: string) => (name: string) => answer(type, name) as Promise<DnsAnswer<never>>;
  return { txt: m("TXT"), a: m("A"), aaaa: m("AAAA"), mx: m("MX"), ptr: m("PTR") };
}

const throwingGetter = {
  get kind(): string {
    throw new Error("getter exploded");
  },
};
const throwingProxy = new Proxy(
  {},
  {
    get() {
      throw new Error("proxy exploded");
    },
  },
);
const badToString = {
  toString() {
    throw new Error("no string for you");
  },
};

// Everything that is not a well-formed DnsAnswer (for some record type at least).
const garbage: Array<[string, unknown]> = [
  ["undefined", undefined],
  ["null", null],
  ["a number", 42],
  ["a string", "ok"],
  ["an empty object", {}],
  ["an unknown kind", { kind: "success", records: ["v=spf1 +all"] }],
  ["kind ok without records", { kind: "ok" }],
  ["records not an array", { kind: "ok", records: "v=spf1 +all" }],
  ["records an object", { kind: "ok", records: { 0: "v=spf1 +all", length: 1 } }],
  ["a null item", { kind: "ok", records: [null] }],
  ["a number item", { kind: "ok", records: [127001] }],
  ["an array item", { kind: "ok", records: [["v=spf1", " +all"]] }],
  ["an MX without exchange", { kind: "ok", records: [{ priority: 10 }] }],
  ["an MX with a number exchange", { kind: "ok", records: [{ exchange: 1, priority: 10 }] }],
  ["an MX with a string priority", { kind: "ok", records: [{ exchange: "mx.example.com", priority: "10" }] }],
  ["a negative ttl", { kind: "ok", records: ["192.0.2.25"], ttl: -1 }],
  ["an error without reason", { kind: "error" }],
  ["a getter that throws", throwingGetter],
  ["a proxy that throws", throwingProxy],
  ["a sparse array", { kind: "ok", records: new Array(3) }],
];

function expectNoPass(r: Awaited<ReturnType<typeof authenticate>>) {
  expect(r.spf?.result).not.toBe("pass");
  expect(r.iprev?.result).not.toBe("pass");
  for (const d of r.dkim) expect(d.result).not.toBe("pass");
  expect(r.dmarc?.result).not.toBe("pass");
  expect(r.arc?.result).not.toBe("pass");
}

describe("a resolver that returns garbage", () => {
  for (const [name, value] of garbage) {
    it(`${name}: authenticate settles, temperror with a reason, never pass`, async () => {
      const r = await authenticate(sample, envelope, { ...base, resolver: hostile(() => Promise.resolve(value)) });
      expectNoPass(r);
      // Garbage is a failure of the lookup, not an answer: temperror with a reason, not fail or none.
      expect(r.spf).toMatchObject({ result: "temperror" });
      expect(r.spf!.reason).toMatch(/./);
      expect(r.iprev).toMatchObject({ result: "temperror" });
      expect(r.dmarc).toMatchObject({ result: "temperror" });
      for (const d of r.dkim) expect(d.result).toBe("temperror");
      expect(r.headers.authenticationResults).not.toMatch(/\r\n(?![\t ])/);
    });
  }

  it("garbage only for MX (the SPF mx mechanism, next hop, null MX): temperror, no throw", async () => {
    const real = exampleResolver();
    const badMx = () => Promise.resolve({ kind: "ok", records: [null, { exchange: 5 }] } as never);
    const r: Resolver = {
      txt: (n) => real.txt(n),
      a: (n) => real.a(n),
      aaaa: (n) => real.aaaa(n),
      ptr: (ip) => real.ptr(ip),
      mx: badMx,
    };
    const mxSpf: Resolver = {
      ...r,
      txt: (n) => (n === "mx-only.example" ? Promise.resolve({ kind: "ok", records: ["v=spf1 mx -all"] }) : real.txt(n)),
    };
    await expect(checkSpf({ ip: "192.0.2.25", mailFrom: "a@mx-only.example" }, { resolver: mxSpf })).resolves.toMatchObject({
      result: "temperror",
      reason: expect.stringMatching(/malformed MX answer/),
    });
    await expect(resolveNextHop("example.com", { resolver: r })).resolves.toMatchObject({ kind: "temporary" });
    // A garbage MX answer is a failed lookup: said so (temperror), not read as "no null MX".
    await expect(checkSenderNullMx("example.com", { resolver: r })).resolves.toMatchObject({
      nullMx: false,
      temperror: expect.stringContaining("malformed MX answer"),
    });
  });

  it("fast-check: any answer at all never makes authenticate throw or pass", async () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.record({ kind: fc.constantFrom("ok", "nxdomain", "nodata", "error", "OK", ""), records: fc.anything(), ttl: fc.anything() }),
      fc.record({
        kind: fc.constant("ok"),
        records: fc.array(fc.oneof(fc.anything(), fc.record({ exchange: fc.anything(), priority: fc.anything() }))),
      }),
    );
    await fc.assert(
      fc.asyncProperty(anything, fc.constantFrom("resolve", "return", "reject", "throw"), async (value, how) => {
        const resolver = hostile(() => {
          if (how === "throw") throw value;
          if (how === "reject") return Promise.reject(value);
          if (how === "return") return value;
          return Promise.resolve(value);
        });
        const r = await settlesWithin(authenticate(sample, envelope, { ...base, resolver, limits: { timeBudgetMs: 2000 } }), 10_000);
        expectNoPass(r);
      }),
      { numRuns: 150 },
    );
  });

  it("fast-check: garbage for one query, the real zone for the rest, never throws and settles", async () => {
    const real = exampleResolver();
    await fc.assert(
      fc.asyncProperty(fc.nat(20), fc.oneof(fc.constantFrom(...garbage.map(([, v]) => v)), fc.anything()), async (which, value) => {
        let n = 0;
        const resolver: Resolver = {
          txt: (name) => (n++ === which ? (value as never) : real.txt(name)),
          a: (name) => (n++ === which ? (value as never) : real.a(name)),
          aaaa: (name) => (n++ === which ? (value as never) : real.aaaa(name)),
          mx: (name) => (n++ === which ? (value as never) : real.mx(name)),
          ptr: (ip) => (n++ === which ? (value as never) : real.ptr(ip)),
        };
        const r = await settlesWithin(authenticate(sample, envelope, { ...base, resolver }), 10_000);
        expect(r.entries.length).toBeGreaterThan(0);
      }),
      { numRuns: 60 },
    );
  });
});

describe("TLSRPT and MTA-STS discovery behind a hostile resolver", () => {
  it("garbage, throws and rejections: temperror, never a throw", async () => {
    const answers: Array<() => unknown> = [
      ...garbage.map(
        ([, v]) =>
          () =>
            Promise.resolve(v),
      ),
      () => {
        throw new Error("boom");
      },
      () => Promise.reject(badToString),
    ];
    for (const answer of answers) {
      const r = await discoverTlsRpt("example.com", hostile(answer));
      expect(r.kind).toBe("temperror");
      const sts = await discoverStsRecord("example.com", hostile(answer));
      expect(sts.kind).toBe("temperror");
    }
  });
});

describe("a CachingResolver in front of a hostile resolver", () => {
  for (const [name, value] of garbage) {
    it(`${name}: nothing is cached, nothing is left unhandled, authenticate settles without pass`, async () => {
      let calls = 0;
      const cache = new CachingResolver(
        hostile(() => {
          calls++;
          return Promise.resolve(value);
        }),
      );
      const r = await authenticate(sample, envelope, { ...base, resolver: cache });
      expectNoPass(r);
      expect(cache.size).toBe(0);
      await cache.txt("example.com");
      await cache.txt("example.com");
      expect(calls).toBeGreaterThan(1);
    });
  }
  it("a lookup that never settles is not shared for ever: after 30 s the name is asked again", async () => {
    let t = 0;
    let calls = 0;
    const cache = new CachingResolver(
      hostile(() => {
        calls++;
        return new Promise(() => {});
      }),
      { now: () => t },
    );
    void cache.txt("example.com");
    void cache.txt("example.com");
    expect(calls).toBe(1); // shared while pending
    t = 30_001;
    void cache.txt("example.com");
    expect(calls).toBe(2);
  });

  it("a resolver that throws synchronously behind the cache: an error answer", async () => {
    const cache = new CachingResolver(
      hostile(() => {
        throw new Error("boom");
      }),
    );
    await expect(cache.a("example.com")).resolves.toEqual({ kind: "error", reason: "boom" });
  });
});

describe("a resolver that throws or rejects", () => {
  const cases: Array<[string, () => unknown]> = [
    [
      "throws an Error synchronously",
      () => {
        throw new Error("boom");
      },
    ],
    [
      "throws a string synchronously",
      () => {
        throw "boom";
      },
    ],
    [
      "throws undefined synchronously",
      () => {
        throw undefined;
      },
    ],
    ["rejects with an Error", () => Promise.reject(new Error("SERVFAIL"))],
    ["rejects with undefined", () => Promise.reject(undefined)],
    ["rejects with an object whose toString throws", () => Promise.reject(badToString)],
    [
      "returns a thenable whose then throws",
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the test
        then() {
          throw new Error("then exploded");
        },
      }),
    ],
  ];
  for (const [name, answer] of cases) {
    it(`${name}: every public function taking a Resolver settles without throwing`, async () => {
      const resolver = hostile(answer);
      const r = await authenticate(sample, envelope, { ...base, resolver });
      expectNoPass(r);
      expect(r.spf).toMatchObject({ result: "temperror" });
      expect(r.iprev).toMatchObject({ result: "temperror" });
      expect(r.dmarc).toMatchObject({ result: "temperror" });
      const headers = splitMessage(sample).headers;
      const all: Array<Promise<unknown>> = [
        checkSpf({ ip: "192.0.2.25", mailFrom: "alice@example.com" }, { resolver }),
        checkIprev("192.0.2.25", { resolver }),
        verifyDkim(sample, { resolver, now: NOW }),
        verifyArc(fixture("messages/sample.eml"), { resolver }),
        checkDmarc({ author: parseAuthor(headers), dkim: [] }, { resolver }),
        resolveNextHop("example.com", { resolver }),
        checkSenderNullMx("example.com", { resolver }),
        checkDnsbl("192.0.2.25", ["zen.example"], { resolver }),
        checkDomainBl("example.com", ["dbl.example"], { resolver }),
        verifyReportDestination("example.com", "mailto:rua@reports.example.net", { resolver }),
      ];
      const results = await Promise.allSettled(all);
      for (const s of results) expect(s.status).toBe("fulfilled");
      const [spf, iprev, dkim, , dmarc, hop, , bl] = results.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
        { result: string },
        { result: string },
        Array<{ result: string }>,
        unknown,
        { result: string },
        { kind: string },
        unknown,
        { incomplete: boolean },
      ];
      expect(spf.result).toBe("temperror");
      expect(iprev.result).toBe("temperror");
      for (const d of dkim) expect(d.result).toBe("temperror");
      expect(dmarc.result).toBe("temperror");
      expect(hop.kind).toBe("temporary");
      expect(bl.incomplete).toBe(true);
    });
  }
});

describe("a resolver that never answers", () => {
  const never = () => new Promise<never>(() => {});

  it("authenticate settles within timeBudgetMs (+ a generous margin), temperror everywhere", async () => {
    const r = await settlesWithin(
      authenticate(sample, envelope, { ...base, resolver: hostile(never), limits: { timeBudgetMs: 300 } }),
      5000,
    );
    expectNoPass(r);
    expect(r.spf).toMatchObject({ result: "temperror" });
    expect(r.spf!.reason).toMatch(/budget/);
    expect(r.iprev).toMatchObject({ result: "temperror" });
    expect(r.dmarc).toMatchObject({ result: "temperror" });
    for (const d of r.dkim) expect(d.result).toBe("temperror");
  });

  it("the per-query timeout bounds each lookup even with the default budget", async () => {
    const r = await settlesWithin(
      authenticate(sample, envelope, { ...base, resolver: hostile(never), limits: { dnsQueryTimeoutMs: 100 } }),
      10_000,
    );
    expect(r.spf).toMatchObject({ result: "temperror" });
    expect(r.spf!.reason).toMatch(/no DNS answer within 100 ms/);
  });

  it("the caller's signal stops it at once, and pending lookups see their own signal aborted", async () => {
    const seen: AbortSignal[] = [];
    const resolver = hostile((_type, _name) => new Promise(() => {}));
    const listening: Resolver = {
      ...resolver,
      txt: (name: string, q?: QueryOptions) => {
        if (q?.signal) seen.push(q.signal);
        return resolver.txt(name);
      },
    };
    const controller = new AbortController();
    const p = authenticate(sample, envelope, { ...base, resolver: listening, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const r = await settlesWithin(p, 5000);
    expectNoPass(r);
    expect(r.spf).toMatchObject({ result: "temperror" });
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.aborted).toBe(true);
  });

  it("an already aborted signal: no query is sent, temperror", async () => {
    let sent = 0;
    const resolver = hostile(() => {
      sent++;
      return new Promise(() => {});
    });
    const r = await settlesWithin(authenticate(sample, envelope, { ...base, resolver, signal: AbortSignal.abort() }), 5000);
    expect(sent).toBe(0);
    expectNoPass(r);
  });

  it("standalone checks settle too (the guard's per-query timeout, or the caller's signal)", async () => {
    const resolver = hostile(never);
    const signal = AbortSignal.timeout(100);
    await settlesWithin(checkIprev("192.0.2.25", { resolver, signal }), 5000).then((r) => expect(r.result).toBe("temperror"));
    await settlesWithin(checkSpf({ ip: "192.0.2.25", mailFrom: "a@example.com" }, { resolver, timeBudgetMs: 100 }), 5000).then((r) =>
      expect(r.result).toBe("temperror"),
    );
    await settlesWithin(resolveNextHop("example.com", { resolver, signal: AbortSignal.timeout(100) }), 5000).then((r) =>
      expect(r.kind).toBe("temporary"),
    );
    await settlesWithin(checkDnsbl("192.0.2.25", ["zen.example"], { resolver, signal: AbortSignal.timeout(100) }), 5000).then((r) =>
      expect(r.incomplete).toBe(true),
    );
  });

  it("invalid signal and limits options are refused", async () => {
    await expect(authenticate(sample, envelope, { ...base, signal: "stop" as never })).rejects.toThrow(/signal/);
    await expect(authenticate(sample, envelope, { ...base, limits: { dnsQueryTimeoutMs: 0 } })).rejects.toThrow(/dnsQueryTimeoutMs/);
  });
});

describe("the resolver boundary (BudgetedResolver)", () => {
  it("turns every malformed answer into an error answer with a reason, valid ones pass through as copies", async () => {
    for (const [, value] of garbage) {
      const b = new BudgetedResolver(hostile(() => Promise.resolve(value)));
      for (const type of ["txt", "a", "aaaa", "mx", "ptr"] as const) {
        const ans = await b[type]("example.com");
        if (ans.kind === "error") expect(ans.reason).toMatch(/./);
        else expect(["ok", "nxdomain", "nodata"]).toContain(ans.kind);
        if (ans.kind === "ok") for (const rec of ans.records) expect(rec).not.toBeNull();
      }
    }
    const records = ["v=spf1 -all"];
    const b = new BudgetedResolver(hostile(() => Promise.resolve({ kind: "ok", records, ttl: 60 })));
    const ans = await b.txt("example.com");
    expect(ans).toEqual({ kind: "ok", records: ["v=spf1 -all"], ttl: 60 });
    expect((ans as { records: string[] }).records).not.toBe(records);
  });

  it("a never-settling query is abandoned when its signal fires, and the resolver's own signal is aborted", async () => {
    let inner: AbortSignal | undefined;
    const b = new BudgetedResolver({
      ...hostile(() => new Promise(() => {})),
      a: (_name: string, q?: QueryOptions) => {
        inner = q?.signal;
        return new Promise(() => {});
      },
    });
    const c = new AbortController();
    const p = b.a("example.com", { signal: c.signal });
    c.abort();
    await expect(settlesWithin(p, 5000)).resolves.toMatchObject({ kind: "error" });
    expect(inner?.aborted).toBe(true);
  });

  it("an observer that throws does not change the answer", async () => {
    const b = new BudgetedResolver(exampleResolver(), {
      onQuery: () => {
        throw new Error("observer bug");
      },
    });
    await expect(b.a("example.com")).resolves.toMatchObject({ kind: expect.stringMatching(/ok|nodata|nxdomain/) });
  });
});

describe("NodeResolver honours the signal", () => {
  it("an aborted signal: the query is abandoned at once with an error answer", async () => {
    const r = new NodeResolver({ servers: ["127.0.0.1:9"], timeoutMs: 60_000 });
    await expect(settlesWithin(r.txt("example.com", { signal: AbortSignal.abort() }), 5000)).resolves.toEqual({
      kind: "error",
      reason: "aborted",
    });
    const c = new AbortController();
    const p = r.a("example.com", { signal: c.signal });
    c.abort();
    await expect(settlesWithin(p, 5000)).resolves.toEqual({ kind: "error", reason: "aborted" });
  });
});

describe("a message stream that stalls or fails", () => {
  const text = sample.toString("latin1");
  const headerEnd = text.indexOf("\n\n") + 2; // the fixture has LF line ends

  function stalling(upTo: number): AsyncIterable<Uint8Array> {
    return {
      [Symbol.asyncIterator]() {
        let sent = false;
        return {
          next: () => {
            if (!sent) {
              sent = true;
              return Promise.resolve({ done: false, value: sample.subarray(0, upTo) });
            }
            return new Promise<IteratorResult<Uint8Array>>(() => {});
          },
        };
      },
    };
  }

  it("the fixture has a header and a body", () => expect(headerEnd).toBeGreaterThan(100));

  for (const [where, upTo] of [
    ["in the header", 40],
    ["in the body", headerEnd + 10],
  ] as const) {
    it(`a stream that stalls ${where}: settles within the budget, unreadable, nothing passes but SPF`, async () => {
      const r = await settlesWithin(
        authenticate(stalling(upTo), envelope, { ...base, resolver: exampleResolver(), limits: { timeBudgetMs: 300 } }),
        5000,
      );
      expect(r.message.error).toBe("unreadable");
      for (const d of r.dkim) expect(d.result).not.toBe("pass");
      expect(r.dmarc).toMatchObject({ result: "temperror" });
      expect(r.dmarc!.reason).toMatch(/could not be read/);
      expect(r.spf).toMatchObject({ result: "pass" }); // SPF does not depend on the message
    });
  }

  it("a stalled stream is abandoned when the caller's signal fires", async () => {
    const c = new AbortController();
    const p = authenticate(stalling(headerEnd + 10), envelope, { ...base, resolver: exampleResolver(), signal: c.signal });
    setTimeout(() => c.abort(), 50);
    const r = await settlesWithin(p, 5000);
    expect(r.message.error).toBe("unreadable");
    expect(r.dmarc?.result).toBe("temperror");
  });

  it("verifyDkim: a body that stalls is abandoned when the signal fires; every signature temperror", async () => {
    const r = await settlesWithin(
      verifyDkim(stalling(headerEnd + 10), { resolver: exampleResolver(), now: NOW, signal: AbortSignal.timeout(100) }),
      5000,
    );
    expect(r.length).toBe(2);
    for (const d of r) expect(d).toMatchObject({ result: "temperror", reason: expect.stringMatching(/could not be read/) });
  });

  it("an ARC chain that passes in full gives no pass when the body stream fails", async () => {
    const sealed = await sealArc(sample, {
      domain: "example.com",
      selector: "rsa2048",
      privateKey: RSA_PEM,
      authservId: "mx.example.com",
      authResults: "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.com",
      chain: { result: "none", reason: "no ARC sets", instances: 0, sets: [] },
    });
    if (!sealed.sealed) throw new Error(sealed.reason);
    const whole = Buffer.concat([Buffer.from(sealed.headers), sample]);
    expect(await verifyArc(whole, { resolver: exampleResolver() })).toMatchObject({ result: "pass" });
    const end = whole.indexOf("\n\n") + 2;
    async function* failing() {
      yield whole.subarray(0, end + 10);
      throw new Error("connection reset");
    }
    await expect(verifyArc(failing(), { resolver: exampleResolver() })).resolves.toMatchObject({
      result: "fail",
      reason: expect.stringMatching(/could not be read/),
    });
    const r = await authenticate(failing(), envelope, { ...base, resolver: exampleResolver() });
    expect(r.arc).toMatchObject({ result: "fail" });
    // A stalled body, and a resolver that never answers: verifyArc settles when its signal fires.
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        return {
          next: () => {
            if (sent) return new Promise<IteratorResult<Uint8Array>>(() => {});
            sent = true;
            return Promise.resolve({ done: false, value: whole.subarray(0, end + 10) });
          },
        };
      },
    };
    await expect(
      settlesWithin(verifyArc(stalled, { resolver: exampleResolver(), signal: AbortSignal.timeout(100) }), 5000),
    ).resolves.toMatchObject({ result: "fail", reason: expect.stringMatching(/could not be read/) });
    await expect(
      settlesWithin(verifyArc(whole, { resolver: hostile(() => new Promise(() => {})), signal: AbortSignal.timeout(100) }), 5000),
    ).resolves.toMatchObject({ result: "fail" });
  });

  it("a stream that errors in the body: a clean result, DKIM temperror, DMARC temperror", async () => {
    async function* failing() {
      yield sample.subarray(0, headerEnd + 10);
      throw new Error("connection reset");
    }
    const r = await authenticate(failing(), envelope, { ...base, resolver: exampleResolver() });
    expect(r.message.error).toBe("unreadable");
    expect(r.dkim.length).toBeGreaterThan(0);
    for (const d of r.dkim) expect(d.result).toBe("temperror");
    expect(r.dmarc).toMatchObject({ result: "temperror" });
  });
});
