import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { authenticate, type DnsQueryEvent, type Resolver, receivedSpf } from "../src/index.js";
import { exampleResolver, fixture } from "./helpers/keys.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const base = { authservId: "mx.example.org", now: NOW };
const sample = fixture("messages/sample.eml");

describe("authenticate() end to end over the fixture zones", () => {
  it("the signed sample from an authorized server: everything passes (exact header fields)", async () => {
    const r = await authenticate(
      sample,
      { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
      { ...base, resolver: exampleResolver() },
    );
    expect(r.headers.authenticationResults).toBe(
      [
        "Authentication-Results: mx.example.org; iprev=pass (mx.example.com)",
        "\tpolicy.iprev=192.0.2.25; spf=pass (example.com: designates 192.0.2.25",
        "\tas permitted sender) smtp.mailfrom=alice@example.com; dkim=pass",
        "\t(2048-bit RSA key) header.d=example.com header.i=@example.com",
        "\theader.s=rsa2048 header.a=rsa-sha256 header.b=b5Osjv6p; dkim=pass",
        "\t(256-bit Ed25519 key) header.d=example.com header.i=@example.com",
        "\theader.s=ed25519 header.a=ed25519-sha256 header.b=IXDWJGH0; arc=none;",
        "\tdmarc=pass (p=reject dis=none) header.from=example.com",
        "\tpolicy.dmarc=none",
      ].join("\r\n"),
    );
    expect(r.headers.receivedSpf).toMatch(/^Received-SPF: pass \(mx\.example\.org: domain of alice@example\.com designates/);
    expect(r.prepend).toBe(`${r.headers.authenticationResults}\r\n${r.headers.receivedSpf}\r\n`);
    expect(r.headers.receivedSpf).toBe(receivedSpf(r.spf!, { receiver: "mx.example.org" })); // the public writer's field
    expect(r.dmarc).toMatchObject({ result: "pass", disposition: "none", policy: "reject" });
  });

  it("a spoof of example.com from an unauthorized server: DMARC fail, reject (exact field)", async () => {
    const r = await authenticate(
      fixture("messages/spoofed.eml"),
      { ip: "203.0.113.9", helo: "mail.attacker.example", mailFrom: "alice@example.com" },
      { ...base, resolver: exampleResolver() },
    );
    expect(r.headers.authenticationResults).toBe(
      [
        'Authentication-Results: mx.example.org; iprev=fail reason="no PTR record"',
        "\tpolicy.iprev=203.0.113.9; spf=fail (example.com: does not designate",
        "\t203.0.113.9 as permitted sender) smtp.mailfrom=alice@example.com;",
        "\tdkim=none; arc=none; dmarc=fail (p=reject dis=reject)",
        '\treason="no aligned SPF or DKIM pass for example.com"',
        "\theader.from=example.com policy.dmarc=reject",
      ].join("\r\n"),
    );
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
  });

  it("the sample through a mailing list: body changed, signatures fail, DMARC fails", async () => {
    const r = await authenticate(
      fixture("messages/mailing-list.eml"),
      { ip: "198.51.100.40", helo: "lists.example.net", mailFrom: "friends-bounces@lists.example.net" },
      { ...base, resolver: exampleResolver() },
    );
    expect(r.spf).toMatchObject({ result: "pass", domain: "lists.example.net" });
    expect(r.dkim.map((d) => [d.result, d.failure])).toEqual([
      ["fail", "body-hash"],
      ["fail", "body-hash"],
    ]);
    expect(r.dmarc).toMatchObject({ result: "fail", spf: { aligned: false, domain: "lists.example.net" } });
  });

  it("reads a stream as well as bytes, with the same result", async () => {
    const env = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
    const fromBytes = await authenticate(sample, env, { ...base, resolver: exampleResolver() });
    const chunks = [];
    for (let i = 0; i < sample.length; i += 100) chunks.push(sample.subarray(i, i + 100));
    const fromStream = await authenticate(Readable.from(chunks), env, { ...base, resolver: exampleResolver() });
    expect(fromStream.headers).toEqual(fromBytes.headers);
  });

  it("reports every DNS query and each check's time through hooks", async () => {
    const queries: DnsQueryEvent[] = [];
    const checks: string[] = [];
    const r = await authenticate(
      sample,
      { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
      {
        ...base,
        resolver: exampleResolver(),
        onQuery: (e) => queries.push(e),
        onTiming: (t) => checks.push(t.check),
      },
    );
    // A query sent ahead that no check used would be reported too, marked speculative (SPF sends
    // none ahead with a resolver answering from memory, as this one does: test/dns/prefetch.test.ts).
    expect(r.dns.speculative).toBe(queries.filter((q) => q.speculative).length);
    expect(
      queries
        .filter((q) => !q.speculative)
        .map((q) => `${q.type} ${q.name} ${q.outcome}`)
        .sort(),
    ).toEqual(
      [
        "PTR 192.0.2.25 ok",
        "A mx.example.com ok",
        "TXT example.com ok",
        "TXT rsa2048._domainkey.example.com ok",
        "TXT ed25519._domainkey.example.com ok",
        "TXT _dmarc.example.com ok",
        "TXT _dmarc.com nxdomain",
      ].sort(),
    );
    expect(r.dns.queries + r.dns.speculative).toBe(queries.length);
    expect(checks.sort()).toEqual(["arc", "dkim", "dmarc", "iprev", "spf", "total"]);
  });

  it("returns trusted Authentication-Results already in the message, and only those", async () => {
    const forged = Buffer.concat([
      Buffer.from(
        "Authentication-Results: mx.example.org; dkim=pass header.d=bank.example\r\nAuthentication-Results: relay.example.org; spf=pass smtp.mailfrom=a@b.example\r\n",
      ),
      sample,
    ]);
    const r = await authenticate(
      forged,
      { ip: "192.0.2.25", helo: "h", mailFrom: "alice@example.com" },
      { ...base, resolver: exampleResolver(), trustedAuthservIds: ["relay.example.org"] },
    );
    expect(r.trusted.map((t) => t.authservId)).toEqual(["relay.example.org"]);
  });
});

describe("authenticate() under hostile input and failing DNS", () => {
  const env = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };

  it("never throws on arbitrary bytes, and never changes the caller's buffer or envelope", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 60 }), async (bytes, from) => {
        const input = Uint8Array.from([...Buffer.from(`From: ${from}\r\nDKIM-Signature: v=1; d=${from}\r\n`), ...bytes]);
        const copy = input.slice();
        const envelope = { ip: "192.0.2.25", helo: from, mailFrom: from };
        const envCopy = structuredClone(envelope);
        const r = await authenticate(input, envelope, { ...base, resolver: exampleResolver() });
        expect(typeof r.headers.authenticationResults).toBe("string");
        expect(input).toEqual(copy);
        expect(envelope).toEqual(envCopy);
      }),
      { numRuns: 200 },
    );
  });

  it("a resolver that throws yields temperror results, not a throw", async () => {
    const broken = new Proxy(
      {},
      {
        get: () => async () => {
          throw new Error("resolver exploded");
        },
      },
    ) as Resolver;
    const r = await authenticate(sample, env, { ...base, resolver: broken });
    expect(r.iprev?.result).toBe("temperror");
    expect(r.spf?.result).toBe("temperror");
    expect(r.dkim.map((d) => d.result)).toEqual(["temperror", "temperror"]);
    expect(r.dmarc?.result).toBe("temperror");
  });

  it("a stream that fails midway is reported as unreadable, not thrown", async () => {
    async function* failing() {
      yield sample.subarray(0, 200);
      throw new Error("connection reset");
    }
    const r = await authenticate(failing(), env, { ...base, resolver: exampleResolver() });
    expect(r.message.error).toBe("unreadable");
    expect(r.spf?.result).toBe("pass");
  });

  it("the per-message DNS query limit holds across all checks", async () => {
    const r = await authenticate(sample, env, { ...base, resolver: exampleResolver(), limits: { maxDnsQueries: 2 } });
    expect(r.dns.queries).toBe(2);
    expect(r.dns.refused).toBeGreaterThan(0);
  });

  it("a header block over the limit is reported, and checks still return", async () => {
    const big = Buffer.concat([Buffer.from(`X-Big: ${"a".repeat(10_000)}\r\n`), sample]);
    const r = await authenticate(big, env, { ...base, resolver: exampleResolver(), limits: { maxHeaderBytes: 1000 } });
    expect(r.message.error).toBe("header-too-large");
    // The From past the limit is still found (a whole-header scan) and judged; a header not read
    // whole never passes. It was permerror (the From went unseen) before the red-team fixes.
    expect(r.author).toMatchObject({ ok: false, reason: "header-not-read", domains: ["example.com"] });
    expect(r.dmarc?.result).toBe("fail");
  });

  const wrongCalls: Array<[string, () => Promise<unknown>]> = [
    ["a number as message", () => authenticate(42 as never, env)],
    ["no ip in the envelope", () => authenticate(sample, {} as never)],
    ["an unknown option", () => authenticate(sample, env, { resolverr: 1 } as never)],
    ["a resolver without methods", () => authenticate(sample, env, { resolver: {} as never })],
    ["a negative limit", () => authenticate(sample, env, { limits: { maxDnsQueries: -1 } })],
  ];
  for (const [name, call] of wrongCalls) {
    it(`throws a TypeError for a wrong call: ${name}`, async () => {
      await expect(call()).rejects.toThrow(TypeError);
    });
  }
});

describe("the result's keys", () => {
  // The usual call (every check run) builds its result whole; any other keeps the same order.
  const fixed = ["dkim", "author", "entries", "headers", "prepend", "trusted", "message", "dns", "timings"];
  const optional = ["iprev", "spf", "arc", "dmarc"] as const;
  it("are in the same order whichever checks run", async () => {
    for (let mask = 0; mask < 32; mask++) {
      const checks = { iprev: !!(mask & 1), spf: !!(mask & 2), arc: !!(mask & 4), dmarc: !!(mask & 8), dkim: !!(mask & 16) };
      const r = await authenticate(
        sample,
        { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
        {
          ...base,
          resolver: exampleResolver(),
          checks,
        },
      );
      expect(Object.keys(r)).toEqual([...fixed, ...optional.filter((k) => checks[k])]);
      expect(Object.keys(r.headers)).toEqual(checks.spf ? ["authenticationResults", "receivedSpf"] : ["authenticationResults"]);
    }
    const r = await authenticate(sample, { ip: "192.0.2.25" }, { authservId: "mx.example.org", resolver: exampleResolver() });
    expect(Object.keys(r)).toEqual([...fixed, ...optional]);
  });
});
