import { afterAll, describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { MtaSts } from "../../src/mtasts/client.js";
import { decideDelivery, stsTransportOptions } from "../../src/mtasts/decision.js";
import type { PolicyFetcher, PolicyFetchResult } from "../../src/mtasts/fetch.js";
import { MemoryStateStore } from "../../src/store/memory.js";
import { storeKinds } from "../helpers/stores.js";

const policy = (mode: string, mx: string[], maxAge = 86400) =>
  `version: STSv1\nmode: ${mode}\n${mx.map((m) => `mx: ${m}\n`).join("")}max_age: ${maxAge}\n`;

/** A policy server in memory: what it serves can change, and it counts requests. */
function fakeServer(initial: string | PolicyFetchResult) {
  const state = { serve: initial as string | PolicyFetchResult, calls: 0 };
  const fetch: PolicyFetcher = async () => {
    state.calls++;
    const s = state.serve;
    return typeof s === "string" ? { kind: "response", status: 200, contentType: "text/plain", body: new TextEncoder().encode(s) } : s;
  };
  return { state, fetch };
}

function setup(options: { serve?: string | PolicyFetchResult; id?: string } = {}) {
  const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.example.com": { TXT: [`v=STSv1; id=${options.id ?? "1"}`] } }));
  const server = fakeServer(options.serve ?? policy("enforce", ["mx.example.com", "*.mx.example.net"]));
  const clock = { now: 1_700_000_000_000 };
  const store = new MemoryStateStore({ now: () => clock.now });
  const sts = new MtaSts({ resolver, fetch: server.fetch, store, now: () => clock.now, timeoutMs: 200 });
  const setTxt = (records: string[] | "timeout" | "none") => {
    if (records === "none") resolver.zone.delete("_mta-sts.example.com");
    else if (records === "timeout") resolver.zone.set("_mta-sts.example.com", { timeout: true });
    else resolver.zone.set("_mta-sts.example.com", { TXT: records.map((r) => [r]) });
  };
  return { resolver, server, clock, store, sts, setTxt };
}

const FETCH_ERROR: PolicyFetchResult = { kind: "error", code: "network", reason: "connection refused" };
const TLS_ERROR: PolicyFetchResult = { kind: "error", code: "tls", reason: "CERT_HAS_EXPIRED" };

describe("MtaSts policy lookup and cache (RFC 8461 3.3, 5.1)", () => {
  it("fetches a policy the first time and applies the cached one while the TXT id is unchanged", async () => {
    const { sts, server } = setup();
    const first = await sts.policy("Example.COM");
    expect(first).toMatchObject({ kind: "policy", source: "fetched", id: "1", policy: { mode: "enforce" } });
    const second = await sts.policy("example.com");
    expect(second).toMatchObject({ kind: "policy", source: "cache", id: "1" });
    expect(server.state.calls).toBe(1);
  });

  it("fetches again when the TXT id changes", async () => {
    const { sts, server, setTxt } = setup();
    await sts.policy("example.com");
    server.state.serve = policy("testing", ["new.example.com"]);
    setTxt(["v=STSv1; id=2"]);
    expect(await sts.policy("example.com")).toMatchObject({
      source: "fetched",
      id: "2",
      policy: { mode: "testing", mx: ["new.example.com"] },
    });
    expect(server.state.calls).toBe(2);
  });

  const failures: Array<[string, PolicyFetchResult | string, string]> = [
    ["the server is unreachable", FETCH_ERROR, "sts-policy-fetch-error"],
    ["the certificate fails", TLS_ERROR, "sts-webpki-invalid"],
    ["the new policy is invalid", "version: STSv1\nmode: bogus\n", "sts-policy-invalid"],
    ["the server redirects", { kind: "response", status: 302, contentType: undefined, body: new Uint8Array() }, "sts-policy-fetch-error"],
  ];
  for (const [name, serve, resultType] of failures) {
    it(`MUST apply the cached policy when the refresh fails: ${name}`, async () => {
      const { sts, server, setTxt } = setup();
      await sts.policy("example.com");
      server.state.serve = serve;
      setTxt(["v=STSv1; id=2"]);
      const r = await sts.policy("example.com");
      expect(r).toMatchObject({ kind: "policy", source: "cache", id: "1", policy: { mode: "enforce" }, failure: { resultType } });
      expect(decideDelivery(r, ["evil.example.org"]).allowedHosts).toEqual([]);
    });
    it(`MUST deliver as if there were no policy when nothing is cached and ${name}`, async () => {
      const { sts } = setup({ serve });
      const r = await sts.policy("example.com");
      expect(r).toMatchObject({ kind: "none", failure: { resultType } });
      expect(decideDelivery(r, ["any.example.org"])).toMatchObject({ mode: "none", allowedHosts: ["any.example.org"] });
    });
  }

  const dnsTrouble: Array<[string, string[] | "timeout" | "none"]> = [
    ["the TXT record is removed (stripped by an attacker)", "none"],
    ["the TXT lookup times out", "timeout"],
    ["two TXT records appear", ["v=STSv1; id=1", "v=STSv1; id=9"]],
    ["the TXT record turns invalid", ["v=STSv1; id=!!"]],
  ];
  for (const [name, txt] of dnsTrouble) {
    it(`the cached policy keeps protecting when ${name}`, async () => {
      const { sts, server, setTxt } = setup();
      await sts.policy("example.com");
      setTxt(txt);
      const r = await sts.policy("example.com");
      expect(r).toMatchObject({ kind: "policy", source: "cache", policy: { mode: "enforce" } });
      expect(r.kind === "policy" && r.dns).toBeTruthy();
      expect(server.state.calls).toBe(1);
    });
  }

  it("a cached policy expires after max_age; then no TXT means no policy", async () => {
    const { sts, clock, setTxt } = setup({ serve: policy("enforce", ["mx.example.com"], 3600) });
    await sts.policy("example.com");
    setTxt("none");
    clock.now += 3599_000;
    expect((await sts.policy("example.com")).kind).toBe("policy");
    clock.now += 2000;
    expect(await sts.policy("example.com")).toMatchObject({ kind: "none" });
  });

  it("an expired policy is fetched again even with the same id", async () => {
    const { sts, clock, server } = setup({ serve: policy("enforce", ["mx.example.com"], 60) });
    await sts.policy("example.com");
    clock.now += 61_000;
    expect(await sts.policy("example.com")).toMatchObject({ source: "fetched" });
    expect(server.state.calls).toBe(2);
  });

  it("waits five minutes before fetching a policy id again after a failure (RFC 8461 3.3)", async () => {
    const { sts, server, clock } = setup({ serve: FETCH_ERROR });
    await sts.policy("example.com");
    await sts.policy("example.com");
    expect(server.state.calls).toBe(1);
    clock.now += 300_001;
    server.state.serve = policy("enforce", ["mx.example.com"]);
    expect(await sts.policy("example.com")).toMatchObject({ kind: "policy", source: "fetched" });
    expect(server.state.calls).toBe(2);
  });

  it("refresh: true fetches even when the id is unchanged (proactive refresh)", async () => {
    const { sts, server } = setup();
    await sts.policy("example.com");
    expect(await sts.policy("example.com", { refresh: true })).toMatchObject({ source: "fetched" });
    expect(server.state.calls).toBe(2);
  });

  it("a fleet shares policies through one store: the second server does not fetch", async () => {
    const { resolver, server, store, clock } = setup();
    const a = new MtaSts({ resolver, fetch: server.fetch, store, now: () => clock.now });
    const b = new MtaSts({ resolver, fetch: server.fetch, store, now: () => clock.now });
    await a.policy("example.com");
    expect(await b.policy("example.com")).toMatchObject({ source: "cache" });
    expect(server.state.calls).toBe(1);
  });

  it("a store that fails or hangs does not stop delivery decisions", async () => {
    const { resolver, server } = setup();
    const broken = { get: () => Promise.reject(new Error("redis down")), set: () => new Promise<boolean>(() => {}) };
    const sts = new MtaSts({ resolver, fetch: server.fetch, store: broken, storeTimeoutMs: 50 });
    const r = await sts.policy("example.com");
    expect(r).toMatchObject({ kind: "policy", source: "fetched" });
    expect(r.kind === "policy" && r.storeError).toMatch(/redis down|did not answer/);
  });

  it("a damaged or foreign entry in the store is a miss, never a policy", async () => {
    const { resolver, server, store } = setup();
    await store.set("mta-sts:policy:example.com", JSON.stringify({ id: "1", text: "mode: none", fetchedAt: 0 }));
    const sts = new MtaSts({ resolver, fetch: server.fetch, store });
    expect(await sts.policy("example.com")).toMatchObject({ source: "fetched" });
  });

  it("mode none replaces an earlier policy (RFC 8461 8.3)", async () => {
    const { sts, server, setTxt } = setup();
    await sts.policy("example.com");
    server.state.serve = policy("none", []);
    setTxt(["v=STSv1; id=2"]);
    const r = await sts.policy("example.com");
    expect(decideDelivery(r, ["other.example.org"])).toMatchObject({ mode: "none", allowedHosts: ["other.example.org"] });
  });

  it("MUST NOT fail permanently before checking for a new policy: each lookup reads the TXT id again", async () => {
    const { sts, server, setTxt } = setup({ serve: policy("enforce", ["old-mx.example.com"]) });
    const before = decideDelivery(await sts.policy("example.com"), ["new-mx.example.com"]);
    expect(before.allowedHosts).toEqual([]);
    expect(before.reply).toMatchObject({ code: 451, enhanced: "4.7.5" }); // temporary, never 5xx
    server.state.serve = policy("enforce", ["new-mx.example.com"]);
    setTxt(["v=STSv1; id=2"]);
    const after = decideDelivery(await sts.policy("example.com"), ["new-mx.example.com"]);
    expect(after.allowedHosts).toEqual(["new-mx.example.com"]);
  });

  it("concurrent lookups for one domain share one DNS query and one fetch", async () => {
    const { sts, server } = setup();
    const all = await Promise.all(Array.from({ length: 10 }, () => sts.policy("example.com")));
    expect(all.every((r) => r.kind === "policy")).toBe(true);
    expect(server.state.calls).toBe(1);
  });

  it("a caller's signal stops a hanging fetch", async () => {
    const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.example.com": { TXT: ["v=STSv1; id=1"] } }));
    const sts = new MtaSts({ resolver, fetch: () => new Promise(() => {}) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const r = await sts.policy("example.com", { signal: controller.signal });
    expect(r).toMatchObject({ kind: "none", failure: { resultType: "sts-policy-fetch-error" } });
  });

  it("a caller giving up does not start the five-minute back-off for everyone", async () => {
    const { resolver, store, server } = setup();
    const hanging = new MtaSts({ resolver, store, fetch: () => new Promise(() => {}) });
    await hanging.policy("example.com", { signal: AbortSignal.abort() });
    const sts = new MtaSts({ resolver, store, fetch: server.fetch });
    expect(await sts.policy("example.com")).toMatchObject({ kind: "policy", source: "fetched" });
  });

  it("a new policy with max_age 0 is applied and leaves nothing cached behind it", async () => {
    const { sts, server, setTxt } = setup();
    await sts.policy("example.com");
    server.state.serve = policy("testing", ["new.example.com"], 0);
    setTxt(["v=STSv1; id=2"]);
    expect(await sts.policy("example.com")).toMatchObject({ source: "fetched", policy: { mode: "testing" } });
    setTxt("none");
    expect(await sts.policy("example.com")).toMatchObject({ kind: "none" });
  });

  it("an invalid domain is no policy, never a throw", async () => {
    const { sts } = setup();
    expect((await sts.policy("not a domain")).kind).toBe("none");
    expect((await sts.policy(42 as unknown as string)).kind).toBe("none");
  });

  it("refuses unknown and wrong options", () => {
    const { resolver, server } = setup();
    expect(() => new MtaSts({ resolver, fetch: server.fetch, cacheTtl: 5 } as never)).toThrow(/options.cacheTtl: unknown option/);
    expect(() => new MtaSts({ resolver, fetch: server.fetch, timeoutMs: -1 })).toThrow(TypeError);
    expect(() => new MtaSts({ resolver } as never)).toThrow(/fetch/);
  });
});

describe("decideDelivery and stsTransportOptions (RFC 8461 4, 5, 7)", () => {
  const lookup = async (mode: string) => {
    const { sts } = setup({ serve: policy(mode, ["mx1.example.com", "*.backup.example.net"]) });
    return sts.policy("example.com");
  };
  it("enforce: only matching MX hosts, each with validated TLS required", async () => {
    const d = decideDelivery(await lookup("enforce"), ["mx1.example.com.", "evil.example.org", "b.backup.example.net"]);
    expect(d.mode).toBe("enforce");
    expect(d.allowedHosts).toEqual(["mx1.example.com", "b.backup.example.net"]);
    expect(d.hosts[1]).toMatchObject({ host: "evil.example.org", allowed: false, failure: { resultType: "validation-failure" } });
    expect(d.hosts[0]).toMatchObject({ tls: "require", certificateName: "mx1.example.com", pattern: "mx1.example.com" });
    expect(d.reply).toBeUndefined();
  });
  it("testing: every host allowed, mismatches marked for the report", async () => {
    const d = decideDelivery(await lookup("testing"), ["evil.example.org"]);
    expect(d).toMatchObject({ mode: "testing", allowedHosts: ["evil.example.org"] });
    expect(d.hosts[0]).toMatchObject({ tls: "report", failure: { failureReasonCode: "mx-not-in-policy" } });
  });
  it("takes a NextHop from resolveNextHop", async () => {
    const d = decideDelivery(await lookup("enforce"), {
      kind: "hosts",
      domain: "example.com",
      implicit: false,
      hosts: [{ exchange: "mx1.example.com", priority: 10, addresses: ["192.0.2.1"] }],
    });
    expect(d.allowedHosts).toEqual(["mx1.example.com"]);
  });
  it("enforce transport options: STARTTLS required, chain verified, SNI and identity are the MX host", async () => {
    const d = decideDelivery(await lookup("enforce"), ["mx1.example.com"]);
    const o = stsTransportOptions(d.hosts[0]!);
    expect(o).toMatchObject({
      requireTLS: true,
      ignoreTLS: false,
      tls: { servername: "mx1.example.com", rejectUnauthorized: true, minVersion: "TLSv1.2" },
    });
    expect(o.tls.checkServerIdentity?.("x", { subjectaltname: "DNS:mx1.example.com" } as never)).toBeUndefined();
    expect(o.tls.checkServerIdentity?.("x", { subjectaltname: "DNS:other.example.com" } as never)).toBeInstanceOf(Error);
    expect(o.tls.checkServerIdentity?.("x", { subject: { CN: "mx1.example.com" } } as never)).toBeInstanceOf(Error);
  });
  it("testing transport options: TLS tried, not enforced", async () => {
    const d = decideDelivery(await lookup("testing"), ["mx1.example.com"]);
    expect(stsTransportOptions(d.hosts[0]!)).toMatchObject({
      requireTLS: false,
      opportunisticTLS: true,
      tls: { servername: "mx1.example.com", rejectUnauthorized: false },
    });
  });
  it("asking options for a refused host is a programming error", async () => {
    const d = decideDelivery(await lookup("enforce"), ["evil.example.org"]);
    expect(() => stsTransportOptions(d.hosts[0]!)).toThrow(TypeError);
    expect(() => stsTransportOptions(d.hosts[0]!, { insecure: true } as never)).toThrow(TypeError);
  });
});

describe("the policy cache in each shared store (a fleet of senders)", () => {
  const kinds = storeKinds();
  afterAll(async () => {
    for (const k of kinds) await k.teardown();
  });
  for (const kind of kinds) {
    it.skipIf(!kind.available)(`${kind.kind}: a policy fetched by one sender protects another through a fetch failure`, async () => {
      const store = await kind.open();
      const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.example.com": { TXT: ["v=STSv1; id=1"] } }));
      const good = fakeServer(policy("enforce", ["mx.example.com"]));
      const broken = fakeServer(FETCH_ERROR);
      const a = new MtaSts({ resolver, fetch: good.fetch, store });
      const b = new MtaSts({ resolver, fetch: broken.fetch, store });
      expect(await a.policy("example.com")).toMatchObject({ source: "fetched" });
      resolver.zone.set("_mta-sts.example.com", { TXT: [["v=STSv1; id=2"]] });
      const r = await b.policy("example.com");
      expect(r).toMatchObject({ kind: "policy", source: "cache", id: "1", failure: { resultType: "sts-policy-fetch-error" } });
      expect(decideDelivery(r, ["evil.example.org"]).allowedHosts).toEqual([]);
      // the back-off is shared too: a third sender does not fetch id 2 again within five minutes
      const c = new MtaSts({ resolver, fetch: broken.fetch, store });
      await c.policy("example.com");
      expect(broken.state.calls).toBe(1);
      await store.close();
    });
  }
});

describe("policy domain selection (RFC 8461 3.4)", () => {
  it("a subdomain recipient never uses the parent's policy", async () => {
    const { sts, server } = setup();
    expect(await sts.policy("mail.example.com")).toMatchObject({ kind: "none" });
    expect(server.state.calls).toBe(0);
  });
  it("a smart host is looked up by its own domain: the caller passes the smart host's domain", async () => {
    const { sts } = setup();
    const d = decideDelivery(await sts.policy("example.com"), ["mx.example.com"]);
    expect(d).toMatchObject({ domain: "example.com", mode: "enforce", allowedHosts: ["mx.example.com"] });
  });
});
