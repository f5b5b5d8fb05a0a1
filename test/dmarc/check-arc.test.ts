import { describe, expect, it } from "vitest";
import type { ArcResult } from "../../src/arc/index.js";
import type { DkimResult } from "../../src/dkim/index.js";
import { checkDmarc } from "../../src/dmarc/index.js";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import type { SpfResult } from "../../src/spf/index.js";
import { author, spf } from "../helpers/dmarc.js";

// checkDmarc sets `arc` on the evaluation's own result (one From mailbox), not in a then after it
// (issue 19): on every path the result must be what it was, `arc` its last property, and no result
// may carry an `arc` it was not given.
const resolver = () =>
  new FixtureResolver(
    zoneFromObject({
      "_dmarc.example.com": { TXT: "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@example.com" },
      "example.com": { A: "192.0.2.1" },
      "_dmarc.testing.example": { TXT: "v=DMARC1; p=reject; t=y" },
      "_dmarc.badp-norua.example": { TXT: "v=DMARC1; p=bogus" },
      "_dmarc.dnsfail.example": { timeout: true },
      "_dmarc.pct.example": { TXT: "v=DMARC1; p=reject; pct=50" },
    }),
  );
const dkim = (domain: string, result: DkimResult["result"]): DkimResult => ({ result, domain, selector: "s", reason: "" }) as DkimResult;
const arc = { result: "none", reason: "no ARC sets" } as unknown as ArcResult;

const cases: [string, string, SpfResult | undefined, DkimResult[]][] = [
  ["pass by SPF", "a@example.com", spf("example.com"), []],
  ["pass by DKIM", "a@example.com", undefined, [dkim("example.com", "pass")]],
  ["fail (policyTag, disposition)", "a@example.com", spf("other.example", "fail"), []],
  ["fail at a subdomain (sp=, np=)", "a@nx.sub.example.com", undefined, []],
  ["fail in testing", "a@testing.example", undefined, []],
  ["fail sampled (rfc7489 mode)", "a@pct.example", undefined, []],
  ["temperror of an aligned identifier", "a@example.com", undefined, [dkim("example.com", "temperror")]],
  ["temperror of the record", "a@dnsfail.example", undefined, []],
  ["none: no record", "a@nowhere.example", undefined, []],
  ["none: a bad p= without rua", "a@badp-norua.example", undefined, []],
  ["two mailboxes", "a@example.com, b@testing.example", undefined, []],
  ["a malformed From", "a@example.com <", undefined, []],
];

describe("checkDmarc's arc", () => {
  for (const [name, from, s, d] of cases)
    it(name, async () => {
      const options = { resolver: resolver(), random: () => 0.9, ...(from.includes("pct") ? { mode: "rfc7489" as const } : {}) };
      const without = await checkDmarc({ author: author(from), spf: s, dkim: d }, options);
      const withArc = await checkDmarc({ author: author(from), spf: s, dkim: d, arc }, { ...options, resolver: resolver() });
      expect("arc" in without).toBe(false);
      expect(withArc.arc).toBe(arc);
      const keys = Object.keys(withArc);
      expect(keys.at(-1)).toBe("arc");
      expect(keys.slice(0, -1)).toEqual(Object.keys(without));
      const { arc: _, ...rest } = withArc;
      expect(rest).toEqual(without);
      for (const r of withArc.domains ?? []) expect("arc" in r).toBe(false);
    });
});
