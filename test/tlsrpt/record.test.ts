import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { discoverTlsRpt, parseTlsRptRecord } from "../../src/tlsrpt/record.js";

describe("parseTlsRptRecord (RFC 8460 3)", () => {
  it("the mailto example", () => {
    expect(parseTlsRptRecord("v=TLSRPTv1;rua=mailto:reports@example.com")).toEqual({
      ok: true,
      record: {
        rua: [{ scheme: "mailto", uri: "mailto:reports@example.com", address: "reports@example.com" }],
        unsupported: [],
        extensions: {},
      },
    });
  });
  it("the https example", () => {
    const r = parseTlsRptRecord("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt");
    expect(r).toMatchObject({ ok: true, record: { rua: [{ scheme: "https", url: "https://reporting.example.com/v1/tlsrpt" }] } });
  });
  it("several URIs with white space around commas, in order", () => {
    const r = parseTlsRptRecord("v=TLSRPTv1; rua=mailto:a@example.com , https://r.example.net/x;");
    expect(r.ok && r.record.rua.map((d) => d.scheme)).toEqual(["mailto", "https"]);
  });
  const cases: Array<[string, string, boolean]> = [
    ["MUST accept unknown fields (ignored)", "v=TLSRPTv1; ext=1; rua=mailto:a@example.com", true],
    ["percent-encoded comma in a mailto address", "v=TLSRPTv1; rua=mailto:a%2Cb@example.com", false],
    ["version MUST equal TLSRPTv1", "v=TLSRPTv2; rua=mailto:a@example.com", false],
    ["version is case-sensitive", "v=tlsrptv1; rua=mailto:a@example.com", false],
    ["rua is required", "v=TLSRPTv1;", false],
    ["rua is required (only extensions)", "v=TLSRPTv1; foo=bar", false],
    ["an unencoded ! in a URI is refused (MUST be encoded)", "v=TLSRPTv1; rua=mailto:a@example.com!10m", false],
    ["a non-URI is refused", "v=TLSRPTv1; rua=reports@example.com", false],
    ["an empty URI between commas is refused", "v=TLSRPTv1; rua=mailto:a@example.com,,mailto:b@example.com", false],
    ["v= must come first", "rua=mailto:a@example.com; v=TLSRPTv1", false],
    ["an empty field between delimiters is refused", "v=TLSRPTv1;; rua=mailto:a@example.com", false],
  ];
  for (const [name, text, ok] of cases) it(name, () => expect(parseTlsRptRecord(text).ok).toBe(ok));
  it("other schemes are kept aside, not used", () => {
    const r = parseTlsRptRecord("v=TLSRPTv1; rua=http://insecure.example/x,mailto:a@example.com");
    expect(r).toMatchObject({ ok: true, record: { unsupported: ["http://insecure.example/x"], rua: [{ scheme: "mailto" }] } });
  });
  it("never throws, linear on long input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => typeof parseTlsRptRecord(`v=TLSRPTv1;${s}`).ok === "boolean"),
      { numRuns: 500 },
    );
    const t0 = Date.now();
    parseTlsRptRecord(`v=TLSRPTv1; rua=${"mailto:a@example.com,".repeat(20_000)}mailto:b@example.com`);
    parseTlsRptRecord(`v=TLSRPTv1;${" ".repeat(200_000)}`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("discoverTlsRpt (RFC 8460 3)", () => {
  const resolver = new FixtureResolver(
    zoneFromObject({
      "_smtp._tls.one.example": { TXT: ["v=TLSRPTv1; rua=mailto:tls@one.example"] },
      "_smtp._tls.split.example": { TXT: [["v=TLSRPTv1; rua=mailto:", "tls@split.example"]] },
      "_smtp._tls.two.example": { TXT: ["v=TLSRPTv1; rua=mailto:a@two.example", "v=TLSRPTv1; rua=mailto:b@two.example"] },
      "_smtp._tls.mixed.example": { TXT: ["v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@mixed.example"] },
      "_smtp._tls.slow.example": { timeout: true },
    }),
  );
  const cases: Array<[string, string, string]> = [
    ["one record", "one.example", "found"],
    ["MUST concatenate strings without spaces", "split.example", "found"],
    ["MUST assume no TLSRPT when more than one record", "two.example", "none"],
    ["records not beginning with v=TLSRPTv1; are discarded", "mixed.example", "found"],
    ["no record", "none.example", "none"],
    ["DNS failure is a temperror", "slow.example", "temperror"],
  ];
  for (const [name, domain, kind] of cases) it(name, async () => expect((await discoverTlsRpt(domain, resolver)).kind).toBe(kind));
  it("the split record's address is whole", async () => {
    const r = await discoverTlsRpt("split.example", resolver);
    expect(r.kind === "found" && r.record.rua[0]).toMatchObject({ address: "tls@split.example" });
  });
});
