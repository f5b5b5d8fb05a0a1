// A small world for report tests: example.com (a sender with a DMARC record asking for reports),
// receiver.example (the Mail Receiver that signs its report mail), and an authenticate() helper.
import { authenticate, type Envelope } from "../../src/authenticate.js";
import { FixtureResolver, type Zone } from "../../src/dns/zone.js";
import { parseZoneFile } from "../../src/dns/zonefile.js";
import { EXAMPLE_ZONE, fixture, RSA_PEM } from "./keys.js";

export const RECEIVER_ZONE = parseZoneFile(
  `$ORIGIN receiver.example.
_dmarc   TXT "v=DMARC1; p=reject"
@        TXT "v=spf1 ip4:203.0.113.0/24 -all"
$ORIGIN other.example.
_dmarc   TXT "v=DMARC1; p=quarantine; rua=mailto:agg@reports.example,mailto:dmarc@other.example!1k; fo=1; ruf=mailto:ruf@other.example"
$ORIGIN example.com._report._dmarc.reports.example.
@        TXT "v=DMARC1"
`,
  { file: "receiver.zone" },
);

export function worldResolver(): FixtureResolver {
  return new FixtureResolver([EXAMPLE_ZONE, RECEIVER_ZONE, keyZone()]);
}

function keyZone(): Zone {
  // receiver.example publishes the same test key as example.com under selector rsa2048.
  const key = EXAMPLE_ZONE.get("rsa2048._domainkey.example.com")!;
  return new Map([["rsa2048._domainkey.receiver.example", key]]);
}

export const REPORTER = { orgName: "Receiver Example", email: "dmarc-noreply@receiver.example", receiver: "mx.receiver.example" };
export const REPORT_DKIM = { domain: "receiver.example", selector: "rsa2048", privateKey: RSA_PEM };
export const T0 = Date.UTC(2026, 10, 20, 10, 0, 0); // inside the daily period starting 2026-11-20 00:00 UTC

/** Messages a receiver sees: signed mail from example.com's servers, and spoofs from elsewhere. */
export const TRAFFIC: Array<{ file: string; envelope: Envelope }> = [
  {
    file: "messages/sample.eml",
    envelope: { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com", rcptTo: ["bob@example.org"] },
  },
  {
    file: "messages/sample.eml",
    envelope: { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com", rcptTo: ["bob@example.org"] },
  },
  {
    file: "messages/sample.eml",
    envelope: { ip: "192.0.2.26", helo: "mx2.example.com", mailFrom: "alice@example.com", rcptTo: ["carol@example.org"] },
  },
  {
    file: "messages/spoofed.eml",
    envelope: { ip: "203.0.113.99", helo: "bad.example", mailFrom: "alice@example.com", rcptTo: ["bob@example.org"] },
  },
  {
    file: "messages/spoofed.eml",
    envelope: { ip: "203.0.113.99", helo: "bad.example", mailFrom: "x@attacker.example", rcptTo: ["bob@example.org"] },
  },
  {
    file: "messages/spoofed.eml",
    envelope: { ip: "203.0.113.99", helo: "bad.example", mailFrom: "x@attacker.example", rcptTo: ["bob@example.org"] },
  },
];

export async function authenticateTraffic(resolver = worldResolver()) {
  return Promise.all(
    TRAFFIC.map(async (t) => ({
      envelope: t.envelope,
      result: await authenticate(fixture(t.file), t.envelope, {
        resolver,
        authservId: "mx.receiver.example",
        now: () => T0,
        checks: { iprev: false },
      }),
    })),
  );
}
