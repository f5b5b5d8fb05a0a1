import { describe, expect, it } from "vitest";
import type { DkimResult } from "../../src/dkim/index.js";
import { checkDmarc, type DmarcResult, parseDmarcRecord, treeWalkTargets, verifyReportDestination } from "../../src/dmarc/index.js";
import { BudgetedResolver, type DnsQueryEvent, FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { parseAuthor } from "../../src/message/index.js";
import type { SpfResult } from "../../src/spf/index.js";
import { author, spf } from "../helpers/dmarc.js";

const zone = zoneFromObject({
  "_dmarc.example.com": { TXT: "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:d@example.com" },
  "example.com": { A: "192.0.2.1" },
  "sub.example.com": { A: "192.0.2.2" },
  "_dmarc.strict.example": { TXT: "v=DMARC1; p=reject; adkim=s; aspf=s" },
  "_dmarc.pct.example": { TXT: "v=DMARC1; p=reject; pct=50" },
  "_dmarc.testing.example": { TXT: "v=DMARC1; p=reject; t=y" },
  "_dmarc.badp.example": { TXT: "v=DMARC1; p=bogus; rua=mailto:x@badp.example" },
  "_dmarc.badp-norua.example": { TXT: "v=DMARC1; p=bogus" },
  "_dmarc.two.example": { TXT: ["v=DMARC1; p=reject", "v=DMARC1; p=none"] },
  "_dmarc.notfirst.example": { TXT: "p=reject; v=DMARC1" },
  "_dmarc.dnsfail.example": { timeout: true },
  // RFC 9989 appendix: a PSD publishing psd=y.
  "_dmarc.bank.example": { TXT: "v=DMARC1; p=reject; psd=y" },
  "_dmarc.giant.bank.example": { TXT: "v=DMARC1; p=quarantine" },
  // RFC 9989 appendix: the deep tree walk.
  "_dmarc.signing.example.org": { TXT: "v=DMARC1; p=none" },
  "_dmarc.example.org": { TXT: "v=DMARC1; p=reject" },
  // An org domain under a multi-label public suffix.
  "_dmarc.example.co.uk": { TXT: "v=DMARC1; p=quarantine" },
  // psd=n marks its own organizational domain.
  "_dmarc.corp.example.net": { TXT: "v=DMARC1; p=reject; psd=n" },
  "_dmarc.example.net": { TXT: "v=DMARC1; p=none" },
});

const dkim = (domain: string, result: DkimResult["result"] = "pass"): DkimResult =>
  ({ result, domain, selector: "s", reason: "", testing: false, signedHeaders: ["from"], signature: "" }) as unknown as DkimResult;

interface Case {
  name: string;
  from: string;
  spf?: SpfResult;
  dkim?: DkimResult[];
  mode?: "rfc9989" | "rfc7489";
  random?: number;
  expect: Partial<DmarcResult> & Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: "aligned DKIM passes",
    from: "a@example.com",
    dkim: [dkim("example.com")],
    expect: { result: "pass", disposition: "none", policy: "reject" },
  },
  { name: "aligned SPF passes", from: "a@example.com", spf: spf("example.com"), expect: { result: "pass" } },
  {
    name: "relaxed: a subdomain identifier aligns",
    from: "a@example.com",
    spf: spf("bounces.example.com"),
    expect: { result: "pass", spf: { aligned: true, mode: "r", domain: "bounces.example.com", result: "pass" } },
  },
  {
    name: "an unaligned DKIM pass does not count",
    from: "a@example.com",
    dkim: [dkim("evil.example")],
    expect: { result: "fail", policy: "reject", disposition: "reject" },
  },
  {
    name: "SPF fail does not align even with the same domain",
    from: "a@example.com",
    spf: spf("example.com", "fail"),
    expect: { result: "fail" },
  },
  {
    name: "strict: a subdomain does not align",
    from: "a@strict.example",
    dkim: [dkim("mail.strict.example")],
    expect: { result: "fail", dkim: { aligned: false, mode: "s" } },
  },
  { name: "strict: the same domain aligns", from: "a@strict.example", dkim: [dkim("strict.example")], expect: { result: "pass" } },
  {
    name: "an existing subdomain takes sp= from the org domain",
    from: "a@sub.example.com",
    expect: { result: "fail", policy: "quarantine", policyTag: "sp", policyDomain: "example.com" },
  },
  {
    name: "a non-existent subdomain takes np=",
    from: "a@nx.example.com",
    expect: { result: "fail", policy: "reject", policyTag: "np", nonExistent: true },
  },
  { name: "the From domain itself takes p=", from: "a@example.com", expect: { result: "fail", policy: "reject", policyTag: "p" } },
  { name: "no record anywhere is none", from: "a@nothing.example", expect: { result: "none", disposition: "none" } },
  { name: "two DMARC records are discarded: none", from: "a@two.example", expect: { result: "none" } },
  { name: "v=DMARC1 not first: not a record", from: "a@notfirst.example", expect: { result: "none" } },
  {
    name: "an invalid p= with a valid rua= acts as p=none",
    from: "a@badp.example",
    expect: { result: "fail", policy: "none", disposition: "none" },
  },
  { name: "an invalid p= without rua=: DMARC does not apply", from: "a@badp-norua.example", expect: { result: "none" } },
  { name: "a DNS failure finding the record is temperror", from: "a@dnsfail.example", expect: { result: "temperror" } },
  {
    name: "an aligned SPF temperror with no pass is temperror",
    from: "a@example.com",
    spf: spf("example.com", "temperror"),
    expect: { result: "temperror" },
  },
  {
    name: "t=y: fail, but the policy is not applied",
    from: "a@testing.example",
    expect: { result: "fail", policy: "reject", disposition: "none", testing: true },
  },
  { name: "RFC 9989 ignores pct= (historic)", from: "a@pct.example", random: 0.99, expect: { result: "fail", disposition: "reject" } },
  {
    name: "RFC 7489: inside the pct= sample the policy applies",
    from: "a@pct.example",
    mode: "rfc7489",
    random: 0.2,
    expect: { disposition: "reject" },
  },
  {
    name: "RFC 7489: outside the pct= sample the policy is lowered one step",
    from: "a@pct.example",
    mode: "rfc7489",
    random: 0.7,
    expect: { disposition: "quarantine", sampledOut: true },
  },
  {
    name: "RFC 9989 appendix, PSD example: SPF from mail.giant.bank.example aligns",
    from: "a@giant.bank.example",
    spf: spf("mail.giant.bank.example"),
    expect: { result: "pass", orgDomain: "giant.bank.example", policyDomain: "giant.bank.example" },
  },
  {
    name: "RFC 9989 appendix, PSD example: DKIM from mail.mega.bank.example does not align",
    from: "a@giant.bank.example",
    dkim: [dkim("mail.mega.bank.example")],
    expect: { result: "fail", policy: "quarantine" },
  },
  {
    name: "a subdomain of a PSD with no org record takes the PSD's policy",
    from: "a@x.small.bank.example",
    expect: { result: "fail", policyDomain: "bank.example", policy: "reject" },
  },
  {
    name: "RFC 9989 appendix, deep tree walk: the org domain is example.org",
    from: "a@a.b.c.d.e.f.g.h.i.j.k.example.org",
    spf: spf("example.org"),
    dkim: [dkim("signing.example.org")],
    expect: { result: "pass", orgDomain: "example.org", policyDomain: "example.org" },
  },
  {
    name: "psd=n makes a domain its own organizational domain",
    from: "a@corp.example.net",
    spf: spf("example.net"),
    expect: { result: "fail", orgDomain: "corp.example.net" },
  },
  {
    name: "a multi-label public suffix: tree walk finds example.co.uk",
    from: "a@mail.example.co.uk",
    dkim: [dkim("example.co.uk")],
    expect: { result: "pass", policyDomain: "example.co.uk" },
  },
  {
    name: "a multi-label public suffix: the PSL finds example.co.uk",
    from: "a@mail.example.co.uk",
    mode: "rfc7489",
    dkim: [dkim("other.example.co.uk")],
    expect: { result: "pass", policyDomain: "example.co.uk", orgDomain: "example.co.uk" },
  },
  {
    name: "RFC 7489 mode checks only the From domain and its PSL org domain",
    from: "a@x.y.example.com",
    mode: "rfc7489",
    expect: { result: "fail", policyDomain: "example.com", policy: "quarantine" },
  },
  {
    name: "an IDN From domain is evaluated as its A-label",
    from: "a@bücher.example",
    expect: { result: "none", fromDomain: "xn--bcher-kva.example" },
  },
  { name: "no From is a permerror", from: "", expect: { result: "permerror" } },
  {
    name: "two From mailboxes in different domains: each is evaluated, strictest policy",
    from: "a@example.com, b@giant.bank.example",
    dkim: [dkim("example.com")],
    expect: { result: "fail", disposition: "quarantine", policy: "reject" },
  },
  {
    name: "two From mailboxes in one domain: evaluated for it",
    from: "a@example.com, b@example.com",
    dkim: [dkim("example.com")],
    expect: { result: "pass" },
  },
  {
    name: "group syntax in From: its mailboxes' domains are evaluated, and the result lists them",
    from: "G: a@example.com;",
    dkim: [dkim("example.com")],
    expect: { result: "pass", domains: expect.any(Array) },
  },
];

describe("DMARC over fixture zones", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = await checkDmarc(
        { author: c.from === "" ? parseAuthor([]) : author(c.from), spf: c.spf, dkim: c.dkim ?? [] },
        { resolver: new FixtureResolver(zone), mode: c.mode ?? "rfc9989", random: () => c.random ?? 0 },
      );
      expect(r).toMatchObject(c.expect);
    });
  }

  it("the deep tree walk makes the RFC's eight queries, no more", async () => {
    const names: string[] = [];
    const resolver = new BudgetedResolver(new FixtureResolver(zone), { onQuery: (e: DnsQueryEvent) => names.push(e.name) });
    await checkDmarc({ author: author("a@a.b.c.d.e.f.g.h.i.j.k.example.org"), dkim: [] }, { resolver });
    expect(names).toEqual([
      "_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.org",
      "_dmarc.g.h.i.j.k.example.org",
      "_dmarc.h.i.j.k.example.org",
      "_dmarc.i.j.k.example.org",
      "_dmarc.j.k.example.org",
      "_dmarc.k.example.org",
      "_dmarc.example.org",
      "_dmarc.org",
    ]);
  });

  it("tree walk targets follow RFC 9989 4.10", () => {
    expect(treeWalkTargets("a.mail.example.com")).toEqual(["a.mail.example.com", "mail.example.com", "example.com", "com"]);
    expect(treeWalkTargets("a.b.c.d.e.f.g.h.i.j.mail.example.com")).toHaveLength(8);
    expect(treeWalkTargets("a.b.c.d.e.f.g.h.i.j.mail.example.com")[1]).toBe("g.h.i.j.mail.example.com");
  });
});

describe("DMARC records", () => {
  it("parses every tag, with defaults", () => {
    const r = parseDmarcRecord(
      "v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=r; pct=25; t=y; psd=n; rua=mailto:a@x.example!10m, mailto:b@y.example; ruf=mailto:f@x.example; fo=1:d; ri=3600; unknown=ignored",
    );
    expect(r).toMatchObject({
      ok: true,
      record: {
        p: "quarantine",
        sp: "reject",
        np: "none",
        adkim: "s",
        aspf: "r",
        pct: 25,
        testing: true,
        psd: "n",
        fo: ["1", "d"],
        ri: 3600,
        warnings: [],
      },
    });
    if (r.ok) expect(r.record.rua).toEqual([{ uri: "mailto:a@x.example", maxSize: 10 * 1024 * 1024 }, { uri: "mailto:b@y.example" }]);
  });
  const lenient: Array<[string, string, Record<string, unknown>]> = [
    ["a bad adkim falls back to r", "v=DMARC1; p=none; adkim=x", { adkim: "r" }],
    ["a bad pct falls back to 100", "v=DMARC1; p=none; pct=200", { pct: 100 }],
    ["a repeated tag keeps the first", "v=DMARC1; p=none; p=reject", { p: "none" }],
    ["an invalid URI is dropped", "v=DMARC1; p=none; rua=not a uri,mailto:ok@x.example", { rua: [{ uri: "mailto:ok@x.example" }] }],
    ["upper-case values are read", "v=DMARC1; p=REJECT", { p: "reject" }],
  ];
  for (const [name, text, expected] of lenient)
    it(name, () => expect(parseDmarcRecord(text)).toMatchObject({ ok: true, record: expected }));
  const bad = ["", "v=DMARC2; p=none", "v=dmarc1; p=none", "p=none", " v=DMARC1"];
  for (const text of bad) it(`refuses ${JSON.stringify(text)}`, () => expect(parseDmarcRecord(text).ok).toBe(false));
  it("stays linear on 1 MB of semicolons and equals signs", () => {
    expect(parseDmarcRecord(`v=DMARC1; ${";=".repeat(500_000)}`).ok).toBe(true);
  });
});

describe("external report destinations (RFC 7489 7.1)", () => {
  const resolver = new FixtureResolver(
    zoneFromObject({
      "example.com._report._dmarc.reports.example.net": { TXT: "v=DMARC1" },
      "_dmarc.example.com": { TXT: "v=DMARC1; p=none" },
      "slow.example._report._dmarc.reports.example.net": { timeout: true },
    }),
  );
  const cases: Array<[string, string, string]> = [
    ["the same organizational domain needs no check", "mailto:d@reports.example.com", "authorized"],
    ["a third party that published the record", "mailto:d@reports.example.net", "authorized"],
    ["a third party that did not", "mailto:d@elsewhere.example", "unauthorized"],
    ["not a mailto: URI", "https://example.net/r", "unauthorized"],
  ];
  for (const [name, uri, expected] of cases) {
    it(name, async () => expect((await verifyReportDestination("example.com", uri, { resolver })).result).toBe(expected));
  }
  it("a DNS failure is temperror", async () => {
    expect((await verifyReportDestination("slow.example", "mailto:d@reports.example.net", { resolver })).result).toBe("temperror");
  });
});
