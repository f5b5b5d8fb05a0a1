import { describe, expect, it } from "vitest";
import { authenticate, FixtureResolver, mergeZones, signMessage, zoneFromObject } from "../src/index.js";
import { ED_PEM, EXAMPLE_ZONE, fixture, mailauthResolver } from "./helpers/keys.js";
import { MAILAUTH_PEERS, warnSkippedPeers } from "./helpers/mailauth-peers.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const zone = mergeZones(
  EXAMPLE_ZONE,
  zoneFromObject({
    "sub.example.com": { A: "192.0.2.30" },
    "_dmarc.quiet.example": { TXT: "v=DMARC1; p=none" },
    "quiet.example": { TXT: "v=spf1 -all" },
  }),
);

interface Scenario {
  name: string;
  message: Buffer | (() => Promise<Buffer>);
  ip: string;
  helo: string;
  mailFrom: string;
}

const scenarios: Scenario[] = [
  {
    name: "signed sample from an authorized server",
    message: fixture("messages/sample.eml"),
    ip: "192.0.2.25",
    helo: "mx.example.com",
    mailFrom: "alice@example.com",
  },
  {
    name: "spoof from an unauthorized server",
    message: fixture("messages/spoofed.eml"),
    ip: "203.0.113.9",
    helo: "mail.attacker.example",
    mailFrom: "alice@example.com",
  },
  {
    name: "through a mailing list",
    message: fixture("messages/mailing-list.eml"),
    ip: "198.51.100.40",
    helo: "lists.example.net",
    mailFrom: "friends-bounces@lists.example.net",
  },
  {
    name: "signed sample relayed by an unlisted server (DKIM carries it)",
    message: fixture("messages/sample.eml"),
    ip: "203.0.113.50",
    helo: "relay.example.org",
    mailFrom: "bounce@relay.example.org",
  },
  {
    name: "null sender from an authorized server",
    message: fixture("messages/sample.eml"),
    ip: "192.0.2.25",
    helo: "example.com",
    mailFrom: "",
  },
  {
    name: "a subdomain From, signed by the parent (relaxed alignment, sp=)",
    message: () =>
      signMessage(fixture("messages/sample-unsigned.eml").toString().replace("alice@example.com", "alice@sub.example.com"), {
        domain: "example.com",
        selector: "ed25519",
        privateKey: ED_PEM,
        timestamp: 1_795_000_000,
      }),
    ip: "203.0.113.9",
    helo: "h.example",
    mailFrom: "x@sub.example.com",
  },
  {
    name: "a domain with p=none and SPF -all",
    message: Buffer.from(fixture("messages/spoofed.eml").toString().replace("alice@example.com", "alice@quiet.example")),
    ip: "203.0.113.9",
    helo: "h.example",
    mailFrom: "alice@quiet.example",
  },
];

interface Words {
  spf: string | undefined;
  dkim: string[];
  dmarc: string | undefined;
}

/**
 * Where msgauth and mailauth reach different result words, what each says, and why msgauth's is right.
 * The same for mailauth 4.13.3 and 7.1.0.
 */
const DISAGREEMENTS: Record<string, { ours: Words; mailauth: Words; why: string }> = {
  "through a mailing list": {
    ours: { spf: "pass", dkim: ["fail", "fail"], dmarc: "fail" },
    mailauth: { spf: "pass", dkim: ["neutral", "neutral"], dmarc: "fail" },
    why: "a body hash mismatch is a failed verification (RFC 6376 6.1.3 PERMFAIL 'body hash did not verify'), which RFC 8601 2.7.1 calls fail; neutral is for signatures that could not be processed",
  },
};

warnSkippedPeers();
for (const peer of MAILAUTH_PEERS) {
  describe.skipIf(!peer.runs)(`authenticate() interop with ${peer.label} on the same messages and answers`, () => {
    for (const s of scenarios) {
      it(s.name, async () => {
        const message = typeof s.message === "function" ? await s.message() : s.message;
        const resolver = new FixtureResolver(zone);
        const ours = await authenticate(
          message,
          { ip: s.ip, helo: s.helo, mailFrom: s.mailFrom },
          { resolver, authservId: "mx.test", now: NOW, dmarcMode: "rfc7489" },
        );
        const theirs = await peer.authenticate(message, {
          ip: s.ip,
          helo: s.helo,
          sender: s.mailFrom,
          mta: "mx.test",
          resolver: mailauthResolver(resolver),
          disableArc: true,
          disableBimi: true,
        });
        const mine: Words = { spf: ours.spf?.result, dkim: ours.dkim.map((d) => d.result), dmarc: ours.dmarc?.result };
        // mailauth lists an unsigned message as one dkim=none result; msgauth returns no results (and writes dkim=none).
        const theirDkim = theirs.dkim.results.map((d: { status: { result: string } }) => d.status.result);
        const other: Words = {
          spf: theirs.spf?.status?.result,
          dkim: theirDkim.length === 1 && theirDkim[0] === "none" ? [] : theirDkim,
          dmarc: theirs.dmarc?.status?.result,
        };
        const known = DISAGREEMENTS[s.name];
        if (known) {
          expect(mine).toEqual(known.ours);
          expect(other).toEqual(known.mailauth);
        } else {
          expect(mine).toEqual(other);
        }
      });
    }
  });
}
