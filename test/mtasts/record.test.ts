import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { discoverStsRecord, parseStsRecord } from "../../src/mtasts/record.js";

describe("parseStsRecord (RFC 8461 3.1)", () => {
  const cases: Array<[string, string, string | undefined]> = [
    ["the RFC example parses", "v=STSv1; id=20160831085700Z;", "20160831085700Z"],
    ["no trailing delimiter is fine", "v=STSv1;id=abc", "abc"],
    ["white space around delimiters is fine", "v=STSv1 ;\tid=abc ; ", "abc"],
    ["MUST accept unknown extension fields (ignored)", "v=STSv1; foo.bar=baz; id=1", "1"],
    ["a repeated id keeps the first (RFC 8461 3.2)", "v=STSv1; id=first; id=second", "first"],
    ["id of 32 characters", `v=STSv1; id=${"a".repeat(32)}`, "a".repeat(32)],
    ["MUST begin with v=STSv1", "id=1; v=STSv1", undefined],
    ["version is case-sensitive (%s)", "v=stsv1; id=1", undefined],
    ["an id is required", "v=STSv1;", undefined],
    ["an id of 33 characters is invalid", `v=STSv1; id=${"a".repeat(33)}`, undefined],
    ["an id with punctuation is invalid", "v=STSv1; id=2016-08-31", undefined],
    ["an empty field between delimiters is invalid", "v=STSv1;; id=1", undefined],
    ["MUST be US-ASCII", "v=STSv1; id=1; x=é", undefined],
    ["a space inside a value is invalid", "v=STSv1; id=1 2", undefined],
    ["an extension without = is invalid", "v=STSv1; id=1; flag", undefined],
    ["the id field name is case-sensitive", "v=STSv1; ID=1", undefined],
  ];
  for (const [name, text, id] of cases) {
    it(name, () => {
      const r = parseStsRecord(text);
      if (id === undefined) expect(r.ok).toBe(false);
      else expect(r).toMatchObject({ ok: true, record: { id } });
    });
  }
  it("keeps extension fields", () => {
    expect(parseStsRecord("v=STSv1; id=1; ext=x")).toEqual({ ok: true, record: { id: "1", extensions: { ext: "x" } } });
  });
  it("never throws and stays linear on any string", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = parseStsRecord(`v=STSv1;${s}`);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
    const t0 = Date.now();
    parseStsRecord(`v=STSv1;${" ".repeat(200_000)}x`);
    parseStsRecord(`v=STSv1; id=1${"; a=b".repeat(50_000)}`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("discoverStsRecord (RFC 8461 3.1)", () => {
  const resolver = new FixtureResolver(
    zoneFromObject({
      "_mta-sts.one.example": { TXT: ["v=STSv1; id=1"] },
      "_mta-sts.split.example": { TXT: [["v=STSv1; ", "id=20", "19"]] },
      "_mta-sts.two.example": { TXT: ["v=STSv1; id=1", "v=STSv1; id=2"] },
      "_mta-sts.other.example": { TXT: ["v=spf1 -all", "v=STSv1; id=7", "v=STSv10; id=3"] },
      "_mta-sts.bad.example": { TXT: ["v=STSv1; id=not-valid"] },
      "_mta-sts.cname.example": { CNAME: "_mta-sts.provider.example" },
      "_mta-sts.provider.example": { TXT: ["v=STSv1; id=delegated"] },
      "_mta-sts.slow.example": { timeout: true },
      "parent.example": { A: ["192.0.2.1"] },
      "_mta-sts.parent.example": { TXT: ["v=STSv1; id=parent"] },
    }),
  );
  const cases: Array<[string, string, string, string?]> = [
    ["one record is found", "one.example", "found", "1"],
    ["MUST concatenate several strings of one record without spaces", "split.example", "found", "2019"],
    ["MUST assume no policy when two records remain", "two.example", "none"],
    ["records not beginning with v=STSv1; are discarded", "other.example", "found", "7"],
    ["MUST assume no policy when the record is invalid", "bad.example", "none"],
    ["MUST follow CNAMEs (policy delegation, RFC 8461 8.2)", "cname.example", "found", "delegated"],
    ["no record: none", "nothing.example", "none"],
    ["a DNS timeout is a temperror, not none", "slow.example", "temperror"],
    ["MUST NOT use the parent zone's policy for a subdomain (RFC 8461 3.4)", "sub.parent.example", "none"],
  ];
  for (const [name, domain, kind, id] of cases) {
    it(name, async () => {
      const r = await discoverStsRecord(domain, resolver);
      expect(r.kind).toBe(kind);
      if (id !== undefined && r.kind === "found") expect(r.record.id).toBe(id);
    });
  }
  it("a resolver that throws is a temperror", async () => {
    const broken = { txt: async () => Promise.reject(new Error("boom")) } as unknown as FixtureResolver;
    expect((await discoverStsRecord("x.example", broken)).kind).toBe("temperror");
  });
});
