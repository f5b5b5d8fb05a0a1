import { describe, expect, it } from "vitest";
import { BudgetedResolver, FixtureResolver, type Resolver, zoneFromObject } from "../../src/dns/index.js";
import { ArgumentError } from "../../src/errors.js";
import { checkSpf, checkSpfHelo, parseMacroString, parseSpfRecord, receivedSpf, type SpfResult } from "../../src/spf/index.js";

function resolverFor(zone: Record<string, unknown>): FixtureResolver {
  return new FixtureResolver(zoneFromObject(zone));
}

describe("record syntax", () => {
  const bad: Array<[string, string, RegExp]> = [
    ["an unknown mechanism", "v=spf1 foo -all", /unknown mechanism/],
    ["a tab between terms", "v=spf1 mx\t-all", /invalid term/],
    ["redirect twice", "v=spf1 redirect=a.example redirect=b.example", /twice/],
    ["ip4 /33", "v=spf1 ip4:192.0.2.0/33", /CIDR/],
    ["ip4 with a leading-zero CIDR", "v=spf1 ip4:192.0.2.0/024", /CIDR/],
    ["ip6 /129", "v=spf1 ip6:2001:db8::/129", /CIDR/],
    ["an IPv6 network in ip4", "v=spf1 ip4:2001:db8::1", /IPv4/],
    ["include without a domain", "v=spf1 include -all", /needs/],
    ["a domain-spec without a dot", "v=spf1 a:localhost", /top label/],
    ["an all-numeric top label", "v=spf1 a:example.123", /top label/],
    ["a bad macro letter", "v=spf1 a:%{x}.example.com", /macro letter/],
    ["a zero transformer", "v=spf1 exists:%{d0}.example.com", /zero/],
    ["a bad delimiter", "v=spf1 exists:%{d2r!}.example.com", /delimiter/],
    ["%c outside exp", "v=spf1 exists:%{c}.example.com", /exp/],
    ["an unterminated macro", "v=spf1 exists:%{d.example.com", /unterminated/],
    ["a lone %", "v=spf1 exists:100%.example.com", /invalid macro/],
    ["'a/' with no length", "v=spf1 a/ -all", /CIDR/],
    ["an unknown modifier with bad macro syntax", "v=spf1 foo=%{z}", /macro letter/],
    ["non-ASCII", "v=spf1 a:exämple.com", /not allowed/],
  ];
  for (const [name, record, why] of bad) {
    it(`permerror for ${name}`, () => {
      const r = parseSpfRecord(record);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    });
  }

  it("parses every mechanism and modifier", () => {
    const r = parseSpfRecord(
      "v=spf1 +all -include:_spf.example.com ~a ?a:x.example.com/24//64 mx/16 ptr ptr:example.com ip4:192.0.2.0/24 " +
        "ip6:2001:db8::/32 exists:%{ir}.%{l1r+-}._spf.%{d} redirect=%{d2} exp=explain.%{o} unknown=%{h}  ",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record.directives.map((d) => `${d.qualifier}${d.mechanism.type}`)).toEqual([
      "+all",
      "-include",
      "~a",
      "?a",
      "+mx",
      "+ptr",
      "+ptr",
      "+ip4",
      "+ip6",
      "+exists",
    ]);
    expect(r.record.directives[3]!.mechanism).toMatchObject({ cidr4: 24, cidr6: 64 });
    expect(r.record.directives[4]!.mechanism).toMatchObject({ cidr4: 16, cidr6: 128 });
    expect(r.record.redirect).toBeDefined();
    expect(r.record.exp).toBeDefined();
  });

  it("stays linear on a 1 MB record of the nastiest shapes", () => {
    for (const record of [
      `v=spf1 ${"a:".repeat(300_000)}x.com`,
      `v=spf1 ${"%{d}".repeat(250_000)}`,
      `v=spf1 exists:${"%{".repeat(300_000)}`,
      `v=spf1 ${"ip4:192.0.2.1 ".repeat(70_000)}`,
      `v=spf1 a:${"/".repeat(1_000_000)}`,
      `v=spf1 x${"=".repeat(1_000_000)}`,
    ]) {
      expect(typeof parseSpfRecord(record).ok).toBe("boolean");
    }
  });
});

describe("macro expansion (RFC 7208 7.4 examples)", () => {
  // The RFC's examples: sender strong-bad@email.example.com, IP 192.0.2.3 or 2001:db8::cb01.
  const v4 = { ip: "192.0.2.3", mailFrom: "strong-bad@email.example.com", helo: "mx.example.org" };
  const cases: Array<[string, string, string?]> = [
    ["%{s}", "strong-bad@email.example.com"],
    ["%{o}", "email.example.com"],
    ["%{d}", "email.example.com"],
    ["%{d4}", "email.example.com"],
    ["%{d3}", "email.example.com"],
    ["%{d2}", "example.com"],
    ["%{d1}", "com"],
    ["%{dr}", "com.example.email"],
    ["%{d2r}", "example.email"],
    ["%{l}", "strong-bad"],
    ["%{l-}", "strong.bad"],
    ["%{lr}", "strong-bad"],
    ["%{lr-}", "bad.strong"],
    ["%{l1r-}", "strong"],
    ["%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"],
    ["%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"],
    ["%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"],
    ["%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"],
    ["%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"],
    ["%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com", "2001:db8::cb01"],
  ];
  for (const [macro, expected, ip] of cases) {
    it(`${macro}${ip ? ` for ${ip}` : ""} expands to ${expected}`, async () => {
      // exists:<macro> with an A record at the expected name: a pass proves the expansion.
      const zone: Record<string, { TXT?: string; A?: string }> = { [expected.includes("@") ? "x.invalid" : expected]: { A: "127.0.0.2" } };
      zone["email.example.com"] = { ...zone["email.example.com"], TXT: `v=spf1 exists:${macro} -all` };
      const resolver = resolverFor(zone);
      if (expected.includes("@")) {
        // %{s} holds '@': check through an exp= explanation instead.
        const r = await checkSpf(v4, {
          resolver: resolverFor({ "email.example.com": { TXT: "v=spf1 -all exp=why.example.com" }, "why.example.com": { TXT: macro } }),
        });
        expect(r.explanation).toBe(expected);
        return;
      }
      const r = await checkSpf({ ...v4, ip: ip ?? v4.ip }, { resolver });
      expect(r.result).toBe("pass");
    });
  }

  it("upper-case macros are URL-escaped; %%, %_ and %- expand", async () => {
    const resolver = resolverFor({
      "example.com": { TXT: "v=spf1 -all exp=why.example.com" },
      "why.example.com": { TXT: "%{L} from %{c}%_says %%%-%{r} at %{t}" },
    });
    const r = await checkSpf(
      { ip: "2001:DB8::1", mailFrom: "a+b=c@example.com", helo: "h.example" },
      { resolver, receiver: "mx.example.net", now: () => 1_700_000_000_000 },
    );
    expect(r.explanation).toBe("a%2Bb%3Dc from 2001:db8::1 says %%20mx.example.net at 1700000000");
  });

  it("parseMacroString reports where the error is", () => {
    expect(parseMacroString("abc%x")).toEqual({ ok: false, reason: "invalid macro %x at 3" });
  });
});

describe("evaluation", () => {
  const zone = {
    "example.com": { TXT: "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all", MX: [[10, "mx.example.com"]] },
    "_spf.example.net": { TXT: "v=spf1 a:relay.example.net mx:example.com -all" },
    "relay.example.net": { A: "198.51.100.7" },
    "mx.example.com": { A: "203.0.113.25" },
    "helo.example.org": { TXT: "v=spf1 a -all", A: "203.0.113.99" },
    "two.example": { TXT: ["v=spf1 -all", "v=spf1 +all"] },
    "dns-down.example": { timeout: true },
    "empty.example": { TXT: "not spf" },
  };
  const resolver = resolverFor(zone);
  const cases: Array<[string, { ip: string; mailFrom?: string; helo?: string }, Partial<SpfResult>]> = [
    ["ip4 match passes", { ip: "192.0.2.9", mailFrom: "a@example.com" }, { result: "pass", mechanism: "ip4:192.0.2.0/24" }],
    [
      "an IPv4-mapped IPv6 client is checked as IPv4",
      { ip: "::ffff:192.0.2.9", mailFrom: "a@example.com" },
      { result: "pass", ip: "192.0.2.9" },
    ],
    ["ip6 match passes", { ip: "2001:db8:1::5", mailFrom: "a@example.com" }, { result: "pass", mechanism: "ip6:2001:db8::/32" }],
    [
      "an include's a: match passes",
      { ip: "198.51.100.7", mailFrom: "a@example.com" },
      { result: "pass", mechanism: "include:_spf.example.net" },
    ],
    ["an include's mx: match passes", { ip: "203.0.113.25", mailFrom: "a@example.com" }, { result: "pass" }],
    [
      "an include's -all does not match: the outer ~all decides",
      { ip: "203.0.113.1", mailFrom: "a@example.com" },
      { result: "softfail", mechanism: "~all" },
    ],
    [
      "the null sender checks postmaster@helo",
      { ip: "203.0.113.99", mailFrom: "<>", helo: "helo.example.org" },
      { result: "pass", identity: "helo", sender: "postmaster@helo.example.org" },
    ],
    [
      "an empty local part becomes postmaster",
      { ip: "192.0.2.1", mailFrom: "@example.com" },
      { result: "pass", sender: "postmaster@example.com" },
    ],
    ["two SPF records are a permerror", { ip: "192.0.2.1", mailFrom: "a@two.example" }, { result: "permerror" }],
    ["a DNS failure is a temperror", { ip: "192.0.2.1", mailFrom: "a@dns-down.example" }, { result: "temperror" }],
    ["no SPF record is none", { ip: "192.0.2.1", mailFrom: "a@empty.example" }, { result: "none" }],
    ["no such domain is none", { ip: "192.0.2.1", mailFrom: "a@nowhere.example" }, { result: "none" }],
    ["a single-label domain is none", { ip: "192.0.2.1", mailFrom: "a@localhost" }, { result: "none" }],
    ["an invalid client IP is a permerror, not a throw", { ip: "999.1.1.1", mailFrom: "a@example.com" }, { result: "permerror" }],
    [
      "case and a trailing dot in the domain do not matter",
      { ip: "192.0.2.1", mailFrom: "a@EXAMPLE.com." },
      { result: "pass", domain: "example.com" },
    ],
  ];
  for (const [name, params, expected] of cases) {
    it(name, async () => expect(await checkSpf({ helo: "", ...params }, { resolver })).toMatchObject(expected));
  }

  it("checkSpfHelo checks the HELO identity alone; a HELO address literal gives none", async () => {
    expect(await checkSpfHelo({ ip: "203.0.113.99", helo: "helo.example.org" }, { resolver })).toMatchObject({
      result: "pass",
      identity: "helo",
    });
    expect(await checkSpfHelo({ ip: "203.0.113.99", helo: "[203.0.113.99]" }, { resolver })).toMatchObject({ result: "none" });
  });
});

describe("limits (RFC 7208 4.6.4)", () => {
  function chain(length: number, last = "v=spf1 ip4:192.0.2.1 -all"): Record<string, unknown> {
    const zone: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) zone[`l${i}.example`] = { TXT: `v=spf1 include:l${i + 1}.example -all` };
    zone[`l${length}.example`] = { TXT: last };
    return zone;
  }
  const ip = "192.0.2.1";

  it("an include chain of 10 passes", async () => {
    expect(await checkSpf({ ip, mailFrom: "a@l0.example" }, { resolver: resolverFor(chain(10)) })).toMatchObject({
      result: "pass",
      lookups: 10,
    });
  });
  it("an include chain of 11 is a permerror", async () => {
    const r = await checkSpf({ ip, mailFrom: "a@l0.example" }, { resolver: resolverFor(chain(11)) });
    expect(r).toMatchObject({ result: "permerror", lookups: 11 });
    expect(r.reason).toMatch(/more than 10/);
  });
  it("an include loop ends in permerror, not a stack overflow or a hang", async () => {
    const resolver = resolverFor({ "loop.example": { TXT: "v=spf1 include:loop.example -all" } });
    expect(await checkSpf({ ip, mailFrom: "a@loop.example" }, { resolver })).toMatchObject({ result: "permerror" });
  });
  it("a redirect loop ends in permerror", async () => {
    const resolver = resolverFor({ "a.example": { TXT: "v=spf1 redirect=b.example" }, "b.example": { TXT: "v=spf1 redirect=a.example" } });
    expect(await checkSpf({ ip, mailFrom: "x@a.example" }, { resolver })).toMatchObject({ result: "permerror" });
  });
  it("the lookup limit can be raised for a trusted deployment", async () => {
    expect(await checkSpf({ ip, mailFrom: "a@l0.example" }, { resolver: resolverFor(chain(11)), maxLookups: 20 })).toMatchObject({
      result: "pass",
    });
  });
  it("a third void lookup is a permerror", async () => {
    const resolver = resolverFor({ "v.example": { TXT: "v=spf1 a:n1.v.example a:n2.v.example a:n3.v.example -all" } });
    expect(await checkSpf({ ip, mailFrom: "x@v.example" }, { resolver })).toMatchObject({ result: "permerror", voidLookups: 3 });
  });
  it("more than 10 MX names is a permerror", async () => {
    const MX = Array.from({ length: 11 }, (_, i) => [i, `mx${i}.m.example`]);
    const resolver = resolverFor({ "m.example": { TXT: "v=spf1 mx -all", MX } });
    expect(await checkSpf({ ip, mailFrom: "x@m.example" }, { resolver })).toMatchObject({ result: "permerror" });
  });
  it("the time budget turns slow DNS into temperror", async () => {
    let now = 0;
    const slow: Resolver = new FixtureResolver(zoneFromObject(chain(5)));
    const ticking: Resolver = {
      txt: async (n) => {
        now += 400;
        return slow.txt(n);
      },
      a: (n) => slow.a(n),
      aaaa: (n) => slow.aaaa(n),
      mx: (n) => slow.mx(n),
      ptr: (n) => slow.ptr(n),
    };
    const budgeted = new BudgetedResolver(ticking, { timeBudgetMs: 1000, now: () => now });
    expect(await checkSpf({ ip, mailFrom: "a@l0.example" }, { resolver: budgeted })).toMatchObject({ result: "temperror" });
  });
  it("the timeBudgetMs option answers temperror when the resolver never answers in time", async () => {
    const never: Resolver = {
      txt: () => new Promise((r) => setTimeout(() => r({ kind: "ok", records: ["v=spf1 include:x.example -all"] }), 30)),
      a: async () => ({ kind: "nodata" }),
      aaaa: async () => ({ kind: "nodata" }),
      mx: async () => ({ kind: "nodata" }),
      ptr: async () => ({ kind: "nodata" }),
    };
    const r = await checkSpf({ ip, mailFrom: "a@x.example" }, { resolver: never, timeBudgetMs: 50 });
    expect(r.result).toBe("temperror");
    expect(r.reason).toMatch(/time budget/);
  });
});

describe("Received-SPF (RFC 7208 9.1)", () => {
  const base: SpfResult = {
    result: "pass",
    identity: "mailfrom",
    domain: "example.com",
    sender: "alice@example.com",
    ip: "192.0.2.1",
    helo: "mx.example.com",
    mechanism: "ip4:192.0.2.0/24",
    reason: "",
    lookups: 0,
    voidLookups: 0,
  };

  it("writes the RFC's shape, folded at 78 columns", () => {
    const h = receivedSpf(base, { receiver: "mx.example.org" });
    // envelope-from and mechanism are not dot-atoms ('@', ':'), so they are quoted-strings (9.1 ABNF).
    expect(h).toBe(
      "Received-SPF: pass (mx.example.org: domain of alice@example.com designates\r\n" +
        "\t192.0.2.1 as permitted sender) client-ip=192.0.2.1;\r\n" +
        '\tenvelope-from="alice@example.com"; helo=mx.example.com;\r\n' +
        "\treceiver=mx.example.org; identity=mailfrom;\r\n" +
        '\tmechanism="ip4:192.0.2.0/24"',
    );
    for (const line of h.split("\r\n")) expect(line.replace(/\t/g, "        ").length).toBeLessThanOrEqual(80);
  });

  it("no CR, LF or control character in any input reaches the field, and quotes are escaped", () => {
    const h = receivedSpf(
      { ...base, result: "permerror", sender: 'evil"\r\nX-Injected: yes\u0000@example.com', helo: "a\nb", reason: "bad ) ( \\ record" },
      { receiver: "mx\r\n.example.org" },
    );
    expect(h.split("\r\n").every((l, i) => i === 0 || l.startsWith("\t"))).toBe(true);
    expect(h).not.toMatch(/[\0\n](?!\t)|\r(?!\n)/);
    expect(h).toContain('envelope-from="evil\\"X-Injected: yes@example.com"');
    expect(h).toContain("bad \\) \\( \\\\ record");
  });

  it("the result keyword is one of RFC 7208's seven (in any case), never written as given (red team: a CR LF there was a header field of its own)", () => {
    expect(receivedSpf({ ...base, result: "Pass" as SpfResult["result"] })).toMatch(
      /^Received-SPF: pass \(domain of alice@example\.com designates/,
    );
    expect(receivedSpf({ ...base, result: "TEMPERROR" as SpfResult["result"], reason: "a  b" })).toMatch(
      /^Received-SPF: temperror \(error in processing/,
    );
    for (const result of ["pass\r\nX-Evil: 1", "", "passed", "__proto__", "toString", undefined, 1, null])
      expect(() => receivedSpf({ ...base, result: result as SpfResult["result"] })).toThrow(ArgumentError);
    expect(() => receivedSpf({ ...base, result: "x\r\nX-Evil: 1" as SpfResult["result"] })).toThrow(/must be an SPF result/);
  });

  it("each value is read once and type-checked: a getter or an object cannot get a CR LF past the checks (red team)", () => {
    const evil = "x\r\nX-Injected: yes";
    /** One header field: every line break is CR LF followed by a tab (folding), none other. */
    const folded = (h: string) => {
      expect(h.split("\r\n").every((l, i) => i === 0 || l.startsWith("\t"))).toBe(true);
      expect(h).not.toMatch(/[\0\n](?!\t)|\r(?!\n)/);
    };
    /** A getter that gives `first` on its first read and `later` after. */
    const turning = (first: string, later: unknown) => {
      let reads = 0;
      return { get: () => (reads++ === 0 ? first : later), enumerable: true };
    };
    for (const field of ["result", "sender", "ip", "reason", "helo", "mechanism", "identity"] as const) {
      const first = field === "result" ? "permerror" : field === "identity" ? "mailfrom" : "plain.example";
      const r = Object.defineProperty({ ...base, result: "permerror" as const }, field, turning(first, evil)) as SpfResult;
      const h = receivedSpf(r, { receiver: "mx.example.org" });
      folded(h);
      // Not a string at all (an object whose toString says something else, null, a number): refused.
      for (const bad of [{ length: 0, toString: () => evil }, null, 42, ["a"]])
        expect(() => receivedSpf({ ...base, [field]: bad } as unknown as SpfResult)).toThrow(ArgumentError);
    }
    const options = Object.defineProperty({}, "receiver", turning("mx.example.org", evil)) as { receiver: string };
    folded(receivedSpf(base, options));
    const notString = Object.defineProperty({}, "receiver", turning("mx.example.org", { toString: () => evil })) as { receiver: string };
    expect(() => receivedSpf(base, notString)).toThrow(ArgumentError);
    expect(() => receivedSpf(null as unknown as SpfResult)).toThrow(ArgumentError);
  });
});

describe("parse caches", () => {
  it("a parsed record is shared but frozen: a caller cannot change what the next parse returns", () => {
    const a = parseSpfRecord("v=spf1 ip4:192.0.2.0/24 -all");
    expect(Object.isFrozen(a)).toBe(true);
    if (a.ok) expect(() => (a.record.directives as unknown[]).push("x")).toThrow(TypeError);
    expect(parseSpfRecord("v=spf1 ip4:192.0.2.0/24 -all")).toEqual(a);
  });
});

describe("a resolver that only looks guarded", () => {
  // A subclass of BudgetedResolver may override a method: checkSpf guards it like any resolver
  // (red team: garbage from such a txt() threw a TypeError out of checkSpf, a throw or a rejection
  // threw, and a never-settling answer hung it).
  const inner = new FixtureResolver(zoneFromObject({ "example.com": { TXT: "v=spf1 -all" } }));
  const params = { ip: "192.0.2.1", helo: "h.example.com", mailFrom: "a@example.com" };
  const hostile: Array<[string, () => unknown]> = [
    ["garbage records", () => Promise.resolve({ kind: "ok", records: [42, null] })],
    [
      "a synchronous throw",
      () => {
        throw new Error("boom");
      },
    ],
    ["a rejection", () => Promise.reject(new Error("boom"))],
  ];
  for (const [name, txt] of hostile)
    it(`${name}: temperror, not a throw`, async () => {
      class Hostile extends BudgetedResolver {
        override txt(): never {
          return txt() as never;
        }
      }
      const r = await checkSpf(params, { resolver: new Hostile(inner, { maxQueries: 50 }) });
      expect(r.result).toBe("temperror");
    });
  it("a never-settling answer: temperror within the time budget", async () => {
    class Stalled extends BudgetedResolver {
      override txt(): never {
        return new Promise(() => {}) as never;
      }
    }
    const t0 = Date.now();
    const r = await checkSpf(params, { resolver: new Stalled(inner, { maxQueries: 50 }), timeBudgetMs: 200 });
    expect(r.result).toBe("temperror");
    expect(Date.now() - t0).toBeLessThan(200 + 5000);
  });
  it("a BudgetedResolver itself is still used as it is (its answers are guarded)", async () => {
    const r = await checkSpf(params, { resolver: new BudgetedResolver(inner, { maxQueries: 50 }) });
    expect(r.result).toBe("fail");
  });
});
