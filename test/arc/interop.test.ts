import { describe, expect, it } from "vitest";
import { authenticate, FixtureResolver, mergeZones, sealArc, verifyArc, zoneFromObject } from "../../src/index.js";
import { ED_PEM, EXAMPLE_ZONE, fixture, mailauthResolver, RSA_PEM } from "../helpers/keys.js";
import { MAILAUTH_PEERS, type MailauthPeer, warnSkippedPeers } from "../helpers/mailauth-peers.js";

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
}
const hops: Hop[] = [
  { domain: "lists.example.net", selector: "rsa2048", ip: "192.0.2.25" },
  { domain: "fwd.example.org", selector: "ed25519", ip: "198.51.100.40" },
  { domain: "relay.example.edu", selector: "rsa2048", ip: "203.0.113.7" },
];
const footer = (m: string) => `${m}-- \r\nlist footer\r\n`;

/** One forwarding hop with msgauth: authenticate what arrived, seal. */
async function msgauthHop(message: string, hop: Hop): Promise<string> {
  const r = await authenticate(
    message,
    { ip: hop.ip, helo: hop.domain, mailFrom: "alice@example.com" },
    { resolver: resolver(), authservId: hop.domain, now: NOW },
  );
  const sealed = await sealArc(message, {
    domain: hop.domain,
    selector: hop.selector,
    privateKey: hop.selector === "rsa2048" ? RSA_PEM : ED_PEM,
    authservId: hop.domain,
    authResults: r.headers.authenticationResults,
    chain: r.arc!,
    timestamp: 1_795_000_100,
  });
  if (!sealed.sealed) throw new Error(sealed.reason);
  return sealed.headers + message;
}

/** The same hop done by mailauth (its authenticate() with a seal option). */
async function mailauthHop(peer: MailauthPeer, message: string, hop: Hop): Promise<string> {
  const r = await peer.authenticate(message, {
    ip: hop.ip,
    helo: hop.domain,
    sender: "alice@example.com",
    mta: hop.domain,
    resolver: mailauthResolver(resolver()),
    seal: { signingDomain: hop.domain, selector: hop.selector, privateKey: hop.selector === "rsa2048" ? RSA_PEM : ED_PEM },
  });
  return r.headers + message;
}

/** mailauth's ARC verdict on a message arriving at mx.test. */
async function mailauthArc(peer: MailauthPeer, message: string): Promise<string> {
  const theirs = await peer.authenticate(message, {
    ip: "203.0.113.1",
    helo: "mx.test",
    sender: "x@example.org",
    mta: "mx.test",
    resolver: mailauthResolver(resolver()),
  });
  return theirs.arc.status.result;
}

const rsa = (hop: Hop): Hop => ({ ...hop, selector: "rsa2048" });

warnSkippedPeers();
for (const peer of MAILAUTH_PEERS) {
  describe.skipIf(!peer.runs)(`ARC interop with ${peer.label}`, () => {
    it("mailauth verifies chains sealed by msgauth (RSA), over 1, 2 and 3 hops", async () => {
      let m = sample;
      for (const hop of hops) {
        m = await msgauthHop(m, rsa(hop));
        expect(await mailauthArc(peer, m)).toBe("pass");
      }
    });

    it("msgauth verifies chains sealed by mailauth (RSA), over 1, 2 and 3 hops", async () => {
      let m = sample;
      for (const [i, hop] of hops.entries()) {
        m = await mailauthHop(peer, m, rsa(hop));
        expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "pass", instances: i + 1 });
      }
    });

    it("mixed chains: mailauth, then msgauth, then mailauth", async () => {
      let m = await mailauthHop(peer, sample, rsa(hops[0]!));
      m = await msgauthHop(m, rsa(hops[1]!));
      m = await mailauthHop(peer, m, rsa(hops[2]!));
      expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "pass", instances: 3 });
      expect(await mailauthArc(peer, m)).toBe("pass");
    });

    // RFC 8617 4.1.1/4.1.3 take a= from DKIM's algorithm registry, where RFC 8463 added ed25519-sha256:
    // an Ed25519 seal is as valid as an RSA one. mailauth 4.13.3 verifies ARC with RSA only (a
    // disagreement, msgauth follows the RFCs); 7.x verifies Ed25519 seals and makes them.
    if (peer.major === 4) {
      it("disagreement: an Ed25519 seal passes in msgauth; mailauth 4.13.3's ARC reads RSA only (fail)", async () => {
        const m = await msgauthHop(await msgauthHop(sample, hops[0]!), hops[1]!); // hop 2 seals with Ed25519
        expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "pass", instances: 2 });
        expect(await mailauthArc(peer, m)).toBe("fail");
      });
    } else {
      it("an Ed25519 seal made by msgauth passes in both", async () => {
        const m = await msgauthHop(await msgauthHop(sample, hops[0]!), hops[1]!); // hop 2 seals with Ed25519
        expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "pass", instances: 2 });
        expect(await mailauthArc(peer, m)).toBe("pass");
      });
      it("an Ed25519 seal made by mailauth passes in msgauth", async () => {
        const m = await mailauthHop(peer, await mailauthHop(peer, sample, hops[0]!), hops[1]!); // hop 2: Ed25519
        expect(m).toMatch(/ARC-Seal: i=2; a=ed25519-sha256/);
        expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "pass", instances: 2 });
      });
    }

    it("a body changed after the last seal: both fail the chain", async () => {
      let m = await msgauthHop(sample, rsa(hops[0]!));
      m = await mailauthHop(peer, m, rsa(hops[1]!));
      m = footer(m);
      expect(await verifyArc(m, { resolver: resolver() })).toMatchObject({ result: "fail", failedInstance: 2 });
      expect(await mailauthArc(peer, m)).toBe("fail");
    });
  });
}
