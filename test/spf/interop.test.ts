import { describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/index.js";
import { checkSpf } from "../../src/spf/index.js";
import { mailauthResolver } from "../helpers/keys.js";
import { MAILAUTH_PEERS, warnSkippedPeers } from "../helpers/mailauth-peers.js";
import { loadSpfSuite } from "../helpers/spf-suite.js";
import { suitePath } from "../helpers/suites.js";

/**
 * Every suite case where mailauth 4.13.3 (which has no strict mode) reaches another result than
 * msgauth, with the rule msgauth follows. msgauth's result is the suite's in each.
 */
const DISAGREEMENTS: Record<string, { ours: string; mailauth: string; rfc: string }> = {
  "invalid-domain-empty-label": {
    ours: "fail",
    mailauth: "permerror",
    rfc: "suite accepts fail|permerror; a name with an empty label matches nothing (RFC 7208 4.8)",
  },
  "bare-ip6": {
    ours: "permerror",
    mailauth: "fail",
    rfc: "ip6 needs ':' ip6-network (RFC 7208 5.6, 12): a syntax error is permerror (4.6)",
  },
  "exp-syntax-error": {
    ours: "permerror",
    mailauth: "neutral",
    rfc: "exp= must hold a valid domain-spec (RFC 7208 6.2, 12); syntax errors anywhere are permerror (4.6)",
  },
  "exp-twice": { ours: "permerror", mailauth: "fail", rfc: "exp and redirect MUST NOT appear more than once (RFC 7208 6)" },
  "exp-only-macro-char": { ours: "permerror", mailauth: "fail", rfc: "c, r, t are allowed only in exp text (RFC 7208 7.1)" },
  "p-macro-multiple": {
    ours: "pass",
    mailauth: "neutral",
    rfc: "%{p} picks a validated name, preferring the target domain (RFC 7208 7.3)",
  },
  "invalid-hello-macro": {
    ours: "fail",
    mailauth: "permerror",
    rfc: "an %{h} expansion that is not a valid name just fails to match (RFC 7208 4.8, 7.3)",
  },
  "hello-domain-literal": {
    ours: "fail",
    mailauth: "permerror",
    rfc: "an %{h} expansion that is not a valid name just fails to match (RFC 7208 4.8, 7.3)",
  },
  "require-valid-helo": {
    ours: "fail",
    mailauth: "permerror",
    rfc: "an %{h} expansion that is not a valid name just fails to match (RFC 7208 4.8, 7.3)",
  },
};

/**
 * mailauth 7.x: the same, except that it now expands %{p} to the validated name as RFC 7208 7.3
 * says (p-macro-multiple agrees).
 */
const DISAGREEMENTS_7 = Object.fromEntries(Object.entries(DISAGREEMENTS).filter(([name]) => name !== "p-macro-multiple"));

const suite = suitePath("spf/rfc7208-tests.yml");

warnSkippedPeers();
for (const peer of MAILAUTH_PEERS) {
  describe.skipIf(!suite.present || !peer.runs)(`SPF interop with ${peer.label} over the RFC 7208 suite's zones`, () => {
    it("disagrees only where documented, and then msgauth gives the suite's answer", async () => {
      const found: Record<string, { ours: string; mailauth: string }> = {};
      for (const c of loadSpfSuite(suite.path)) {
        const resolver = new FixtureResolver(c.zone);
        const ours = await checkSpf({ ip: c.host, helo: c.helo, mailFrom: c.mailfrom }, { resolver });
        const theirs = await peer.spf({
          sender: c.mailfrom,
          ip: c.host,
          helo: c.helo,
          mta: "mx.test",
          resolver: mailauthResolver(resolver),
        });
        if (ours.result !== theirs.status.result) {
          found[c.name] = { ours: ours.result, mailauth: theirs.status.result };
          expect(c.results, c.name).toContain(ours.result);
        }
      }
      const known = peer.major === 4 ? DISAGREEMENTS : DISAGREEMENTS_7;
      const expected = Object.fromEntries(Object.entries(known).map(([k, v]) => [k, { ours: v.ours, mailauth: v.mailauth }]));
      expect(found).toEqual(expected);
    });
  });
}
