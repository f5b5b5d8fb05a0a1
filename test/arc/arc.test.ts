import { describe, expect, it } from "vitest";
import { ArcVerifier } from "../../src/arc/verify.js";
import { BodyHashes } from "../../src/dkim/body-hash.js";
import { DkimVerifier } from "../../src/dkim/verify.js";
import {
  arcOverride,
  authenticate,
  type DnsAnswer,
  FixtureResolver,
  mergeZones,
  sealArc,
  verifyArc,
  zoneFromObject,
} from "../../src/index.js";
import { splitMessage } from "../../src/message/index.js";
import { ED_PEM, EXAMPLE_ZONE, fixture, RSA_PEM } from "../helpers/keys.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const keyRecord = (selector: string) => EXAMPLE_ZONE.get(`${selector}._domainkey.example.com`)!.TXT!.map((chunks) => chunks);
// Each forwarder publishes the fixture keys under its own domain.
const forwarders = ["lists.example.net", "fwd.example.org", "relay.example.edu"];
const zone = mergeZones(
  EXAMPLE_ZONE,
  zoneFromObject(
    Object.fromEntries(
      forwarders.flatMap((d) => [
        [`rsa2048._domainkey.${d}`, { TXT: keyRecord("rsa2048") }],
        [`ed25519._domainkey.${d}`, { TXT: keyRecord("ed25519") }],
      ]),
    ),
  ),
);
const resolver = () => new FixtureResolver(zone);
const sample = fixture("messages/sample.eml").toString().replace(/\r?\n/g, "\r\n");

interface Hop {
  domain: string;
  selector: "rsa2048" | "ed25519";
  ip: string;
  /** Change the message before sealing (a mailing list footer). */
  modify?: (m: string) => string;
}

/** One forwarding hop with msgauth: authenticate what arrived, change it if the hop does, seal. */
async function msgauthHop(message: string, hop: Hop): Promise<string> {
  const r = await authenticate(
    message,
    { ip: hop.ip, helo: hop.domain, mailFrom: "alice@example.com" },
    { resolver: resolver(), authservId: hop.domain, now: NOW },
  );
  const changed = hop.modify ? hop.modify(message) : message;
  const sealed = await sealArc(changed, {
    domain: hop.domain,
    selector: hop.selector,
    privateKey: hop.selector === "rsa2048" ? RSA_PEM : ED_PEM,
    authservId: hop.domain,
    authResults: r.headers.authenticationResults,
    chain: r.arc!,
    timestamp: 1_795_000_100,
  });
  if (!sealed.sealed) throw new Error(sealed.reason);
  return sealed.headers + changed;
}

const footer = (m: string) => `${m}-- \r\nlist footer\r\n`;
const hops: Hop[] = [
  { domain: "lists.example.net", selector: "rsa2048", ip: "192.0.2.25" },
  { domain: "fwd.example.org", selector: "ed25519", ip: "198.51.100.40" },
  { domain: "relay.example.edu", selector: "rsa2048", ip: "203.0.113.7" },
];

describe("ARC chains sealed and verified by msgauth", () => {
  for (const n of [1, 2, 3]) {
    it(`${n} hop${n > 1 ? "s" : ""} (RSA and Ed25519 sealers): pass, oldest-pass 0`, async () => {
      let m = sample;
      for (const hop of hops.slice(0, n)) m = await msgauthHop(m, hop);
      const r = await verifyArc(m, { resolver: resolver() });
      expect(r).toMatchObject({ result: "pass", instances: n, oldestPass: 0 });
      expect(r.sets.map((s) => s.cv)).toEqual(["none", "pass", "pass"].slice(0, n));
      expect(r.sets.map((s) => s.sealer)).toEqual(hops.slice(0, n).map((h) => h.domain));
    });
  }

  it("DKIM and ARC verifiers sharing one BodyHashes hash a relaxed body once and both pass", async () => {
    let m = sample;
    for (const hop of hops.slice(0, 2)) m = await msgauthHop(m, hop);
    const opened = splitMessage(Buffer.from(m));
    const bodyHashes = new BodyHashes();
    const dkim = new DkimVerifier(opened.headers, { resolver: resolver(), now: NOW, bodyHashes });
    const arc = new ArcVerifier(opened.headers, { resolver: resolver(), bodyHashes });
    // Two DKIM signatures and two AMS, all relaxed SHA-256 over the whole body: one hash.
    expect(bodyHashes.size).toBe(1);
    dkim.update(opened.body); // ignored: the shared hashes are fed by their owner
    bodyHashes.update(opened.body);
    const [d, a] = await Promise.all([dkim.finish(), arc.finish()]);
    expect(d.map((x) => x.result)).toEqual(["pass", "pass"]);
    expect(a).toMatchObject({ result: "pass", instances: 2 });
    expect(() => bodyHashes.add({ canon: "simple", hash: "sha256" })).toThrow(/after the body began/);
  });

  it("a hop that changes the body after sealing makes the chain fail at the newest instance", async () => {
    let m = await msgauthHop(sample, hops[0]!);
    m = await msgauthHop(m, hops[1]!);
    m = footer(m); // changed after instance 2 sealed, by someone who did not seal
    const r = await verifyArc(m, { resolver: resolver() });
    expect(r).toMatchObject({ result: "fail", failedInstance: 2 });
    expect(r.reason).toMatch(/ARC-Message-Signature 2: body hash/);
  });

  it("a hop that changes the body and then seals keeps the chain passing; oldest-pass shows the change", async () => {
    let m = await msgauthHop(sample, hops[0]!);
    m = await msgauthHop(m, { ...hops[1]!, modify: footer });
    const r = await verifyArc(m, { resolver: resolver() });
    expect(r).toMatchObject({ result: "pass", instances: 2, oldestPass: 2 });
  });

  it("the next hop seals a broken chain with cv=fail, and nobody seals after that", async () => {
    let m = await msgauthHop(sample, hops[0]!);
    m = footer(m);
    m = await msgauthHop(m, hops[1]!);
    const r = await verifyArc(m, { resolver: resolver() });
    expect(r).toMatchObject({ result: "fail", failedInstance: 2 });
    expect(r.sets.at(-1)!.cv).toBe("fail");
    const again = await sealArc(m, {
      domain: "relay.example.edu",
      selector: "rsa2048",
      privateKey: RSA_PEM,
      authservId: "relay.example.edu",
      resolver: resolver(),
    });
    expect(again.sealed).toBe(false);
  });

  const broken: Array<[string, (m: string) => string, RegExp]> = [
    ["a missing ARC-Seal", (m) => m.replace(/^ARC-Seal:[^\r]*(\r\n[ \t][^\r]*)*\r\n/m, ""), /needs exactly one/],
    ["a duplicated AAR", (m) => m.replace(/^(ARC-Authentication-Results:[^\r]*(?:\r\n[ \t][^\r]*)*\r\n)/m, "$1$1"), /needs exactly one/],
    ["an instance of 0", (m) => m.replace(/i=1;/, "i=0;"), /i=|i=<1-50>/],
    ["an AMS that signs ARC-Seal", (m) => m.replace(/h=from/, "h=arc-seal:from"), /ARC-Seal \(RFC 8617 4\.1\.2\)/],
    ["a seal with h=", (m) => m.replace(/cv=none;/, "cv=none; h=from;"), /h= tag is not allowed/],
  ];
  for (const [name, mutate, why] of broken) {
    it(`fails on ${name}`, async () => {
      const m = mutate(await msgauthHop(sample, hops[0]!));
      const r = await verifyArc(m, { resolver: resolver() });
      expect(r.result).toBe("fail");
      expect(r.reason).toMatch(why);
    });
  }

  it("a key lookup failure fails the chain (no silent pass)", async () => {
    const m = await msgauthHop(sample, hops[0]!);
    const down = new FixtureResolver(zone);
    const txt = down.txt.bind(down);
    down.txt = async (name: string): Promise<DnsAnswer<string[]>> =>
      name.includes("_domainkey") ? { kind: "error", reason: "ETIMEOUT" } : txt(name);
    expect((await verifyArc(m, { resolver: down })).result).toBe("fail");
  });

  it("more than 50 ARC sets fail without any DNS", async () => {
    let headers = "";
    for (let i = 51; i >= 1; i--) headers += `ARC-Seal: i=${i}; a=rsa-sha256; b=AAAA; cv=pass; d=x.example; s=s\r\n`;
    const r = await verifyArc(headers + sample, { resolver: resolver() });
    expect(r.result).toBe("fail");
  });
});

describe("authenticate() reports ARC, and arcOverride() lets trusted forwarders through", () => {
  it("a list that changed the message: DMARC fails, ARC passes, the trusted list's AAR says dmarc=pass", async () => {
    const viaList = await msgauthHop(sample, {
      ...hops[0]!,
      modify: (m) => footer(m.replace("Subject: Lunch", "Subject: [friends] Lunch")),
    });
    const r = await authenticate(
      viaList,
      { ip: "198.51.100.40", helo: "lists.example.net", mailFrom: "bounces@lists.example.net" },
      { resolver: resolver(), authservId: "mx.example.org", now: NOW },
    );
    expect(r.dmarc).toMatchObject({ result: "fail", arc: { result: "pass", instances: 1 } });
    expect(r.headers.authenticationResults).toMatch(
      /arc=pass \(i=1 sealed by lists\.example\.net\)\r?\n?\t?\s*header\.oldest-pass=0\s+smtp\.remote-ip=198\.51\.100\.40/,
    );
    expect(arcOverride(r, { trustedSealers: ["lists.example.net"] })).toEqual({
      override: true,
      reason: "trusted sealer lists.example.net (ARC instance 1) recorded dmarc=pass",
    });
    expect(arcOverride(r, { trustedSealers: ["other.example"] }).override).toBe(false);
  });

  it("no override when the chain fails or DMARC passed", async () => {
    const r = await authenticate(
      sample,
      { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
      { resolver: resolver(), now: NOW, authservId: "mx" },
    );
    expect(arcOverride(r, { trustedSealers: ["lists.example.net"] })).toEqual({ override: false, reason: "DMARC did not fail" });
  });
});

// Interop with mailauth 4.13.3 and 7.x: test/arc/interop.test.ts.
