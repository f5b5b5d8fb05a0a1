import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { gzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { parseTlsReport } from "../../src/tlsrpt/parse.js";
import { gzipTlsReport, serializeTlsReport, tlsReportFilename, tlsReportToJson } from "../../src/tlsrpt/report.js";
import { SAMPLE } from "./sample.js";

const EXAMPLE = readFileSync(join(import.meta.dirname, "../../fixtures/tlsrpt/rfc8460-example.json"));

describe("TLS report JSON (RFC 8460 4.4)", () => {
  it("parses the RFC 8460 Appendix B example (mx-host given as a string)", () => {
    const r = parseTlsReport(EXAMPLE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.report.organizationName).toBe("Company-X");
    expect(r.report.policies[0]!.policy.mxHost).toEqual(["*.mail.company-y.example"]);
    expect(r.report.policies[0]!.summary).toEqual({ totalSuccessfulSessionCount: 5326, totalFailureSessionCount: 303 });
    expect(r.report.policies[0]!.failureDetails.map((f) => [f.resultType, f.failedSessionCount])).toEqual([
      ["certificate-expired", 100],
      ["starttls-not-supported", 200],
      ["validation-failure", 3],
    ]);
  });
  it("round-trips: generate, parse back, equal (JSON and gzip)", () => {
    const json = parseTlsReport(serializeTlsReport(SAMPLE));
    expect(json).toEqual({ ok: true, report: SAMPLE, compressed: false });
    const gz = parseTlsReport(gzipTlsReport(SAMPLE));
    expect(gz).toEqual({ ok: true, report: SAMPLE, compressed: true });
  });
  it("policies is an array even with one policy (RFC 8460 4 MUST); field names are the RFC's", () => {
    const json = tlsReportToJson({ ...SAMPLE, policies: [SAMPLE.policies[0]!] });
    expect(Array.isArray(json.policies)).toBe(true);
    expect(Object.keys(json)).toEqual(["organization-name", "date-range", "contact-info", "report-id", "policies"]);
    const p = (json.policies as Array<Record<string, Record<string, unknown>>>)[0]!;
    expect(Object.keys(p.policy!)).toEqual(["policy-type", "policy-string", "policy-domain", "mx-host"]);
  });
  it("round-trips arbitrary reports (property)", () => {
    const text = fc.string({ maxLength: 30 });
    const detail = fc.record({
      resultType: fc.constantFrom("certificate-expired", "sts-policy-invalid", "future-type"),
      failedSessionCount: fc.nat(),
    });
    const report = fc.record({
      organizationName: text,
      dateRange: fc.constant({ startDatetime: "2026-01-01T00:00:00Z", endDatetime: "2026-01-02T00:00:00Z" }),
      contactInfo: text,
      reportId: text,
      policies: fc.array(
        fc.record({
          policy: fc.record({
            type: fc.constantFrom("sts" as const, "tlsa" as const),
            string: fc.array(text),
            domain: text,
            mxHost: fc.array(text, { minLength: 1 }),
          }),
          summary: fc.record({ totalSuccessfulSessionCount: fc.nat(), totalFailureSessionCount: fc.nat() }),
          failureDetails: fc.array(detail, { minLength: 1 }),
        }),
      ),
    });
    fc.assert(
      fc.property(report, (r) => {
        expect(parseTlsReport(gzipTlsReport(r))).toEqual({ ok: true, report: r, compressed: true });
      }),
      { numRuns: 200 },
    );
  });
  it("the RFC 8460 5.1 file name", () => {
    const begin = Date.UTC(2026, 10, 30) / 1000;
    const end = begin + 86400;
    expect(tlsReportFilename(SAMPLE, "example.net")).toBe(`example.com!example.net!${begin}!${end}.json.gz`);
    expect(tlsReportFilename(SAMPLE, "example.net", { gzip: false, uniqueId: "001" })).toBe(
      `example.com!example.net!${begin}!${end}!001.json`,
    );
  });
});

describe("hostile report input is refused with a typed error, never a throw", () => {
  const good = JSON.parse(serializeTlsReport(SAMPLE));
  const enc = (s: string) => new TextEncoder().encode(s);
  const bomb = gzipSync(new Uint8Array(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KB
  const cases: Array<[string, Uint8Array | string, string, object?]> = [
    ["a gzip bomb (64 MiB of zeros) stops at the inflation cap", bomb, "decompression-limit"],
    ["truncated gzip", gzipTlsReport(SAMPLE).subarray(0, 40), "bad-gzip"],
    ["gzip magic then garbage", new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "bad-gzip"],
    ["input over maxBytes", enc(" ".repeat(2000)), "too-large", { maxBytes: 1000 }],
    ["deep nesting (100000 arrays) refused before JSON.parse", `${"[".repeat(100_000)}${"]".repeat(100_000)}`, "too-deep"],
    [
      "deep nesting inside a valid field",
      JSON.stringify({ ...good, "organization-name": JSON.parse(`${"[".repeat(40)}${"]".repeat(40)}`) }),
      "too-deep",
    ],
    ["not JSON", "hello", "not-json"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "not-utf8"],
    ["a JSON array", "[]", "invalid-report"],
    ["null", "null", "invalid-report"],
    ["policies as a single object, not an array", JSON.stringify({ ...good, policies: good.policies[0] }), "invalid-report"],
    [
      "a count as a string",
      JSON.stringify({
        ...good,
        policies: [{ ...good.policies[0], summary: { "total-successful-session-count": "10", "total-failure-session-count": 0 } }],
      }),
      "invalid-report",
    ],
    [
      "a negative count",
      JSON.stringify({
        ...good,
        policies: [{ ...good.policies[0], summary: { "total-successful-session-count": -1, "total-failure-session-count": 0 } }],
      }),
      "invalid-report",
    ],
    [
      "a fractional count",
      JSON.stringify({
        ...good,
        policies: [{ ...good.policies[0], summary: { "total-successful-session-count": 1.5, "total-failure-session-count": 0 } }],
      }),
      "invalid-report",
    ],
    [
      "an unknown policy-type",
      JSON.stringify({ ...good, policies: [{ ...good.policies[0], policy: { ...good.policies[0].policy, "policy-type": "dane" } }] }),
      "invalid-report",
    ],
    [
      "a date that is not RFC 3339",
      JSON.stringify({ ...good, "date-range": { "start-datetime": "yesterday", "end-datetime": "today" } }),
      "invalid-report",
    ],
    ["a missing organization-name", JSON.stringify({ ...good, "organization-name": undefined }), "invalid-report"],
    ["a huge string field", JSON.stringify({ ...good, "organization-name": "x".repeat(100_000) }), "invalid-report"],
  ];
  for (const [name, input, code, limits] of cases) {
    it(name, () => {
      const r = parseTlsReport(input, limits as never);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(code);
    });
  }
  it("a __proto__ key does not pollute anything", () => {
    const r = parseTlsReport(`{"__proto__":{"polluted":1},${serializeTlsReport(SAMPLE).slice(1)}`);
    expect(r.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it("a wrong input type is a typed error", () => {
    expect(parseTlsReport(42 as never)).toMatchObject({ ok: false, error: { code: "bad-input" } });
  });
  it("random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => typeof parseTlsReport(b).ok === "boolean"),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.json(), (j) => typeof parseTlsReport(j).ok === "boolean"),
      { numRuns: 300 },
    );
  });
  it("bad limits are a programming error", () => {
    expect(() => parseTlsReport("{}", { maxbytes: 5 } as never)).toThrow(TypeError);
  });
});
