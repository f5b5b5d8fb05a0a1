import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aggregateXml } from "../../src/report/generate.js";
import { parseAggregateXml } from "../../src/report/parse.js";
import type { AggregateRecord, AggregateReport } from "../../src/report/types.js";

// Any text: ASCII specials, controls, non-BMP characters, lone surrogates, white space at the ends.
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom("&", "<", ">", '"', "'", "]]>", "\u0001", "\t", " ", "\u{1F600}", "\ud800", "é", "&amp;"),
    fc.string({ maxLength: 1, unit: "binary" }),
  ),
  maxLength: 12,
});
const word = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
// What survives XML 1.0: characters it forbids are dropped; the parser trims values.
const expected = (s: string) =>
  s
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      "",
    )
    .trim();

const record: fc.Arbitrary<AggregateRecord> = fc.record({
  sourceIp: fc.oneof(fc.ipV4(), fc.ipV6()),
  count: fc.nat(1_000_000_000),
  disposition: fc.constantFrom("none", "pass", "quarantine", "reject"),
  dkim: fc.constantFrom("pass", "fail"),
  spf: fc.constantFrom("pass", "fail"),
  reasons: fc.array(
    fc.record({ type: fc.constantFrom("local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder"), comment: text }),
    { maxLength: 2 },
  ),
  headerFrom: word,
  dkimResults: fc.array(
    fc.record({
      domain: word,
      selector: word,
      result: fc.constantFrom("none", "pass", "fail", "policy", "neutral", "temperror", "permerror"),
      humanResult: text,
    }),
    { maxLength: 3 },
  ),
  spfResults: fc.array(
    fc.record({ domain: word, scope: fc.constant("mfrom"), result: fc.constantFrom("none", "pass", "fail", "softfail", "neutral") }),
    {
      maxLength: 1,
    },
  ),
}) as fc.Arbitrary<AggregateRecord>;

const report: fc.Arbitrary<AggregateReport> = fc
  .record({
    schema: fc.constant("rfc9990"),
    metadata: fc.record({
      orgName: text,
      email: word,
      reportId: word,
      begin: fc.nat(2 ** 31),
      end: fc.nat(2 ** 31),
      errors: fc.constant([]),
    }),
    policy: fc.record({ domain: word, p: fc.constantFrom("none", "quarantine", "reject") }),
    records: fc.array(record, { minLength: 1, maxLength: 4 }),
  })
  // The parser refuses a date range that begins after it ends (date-range): generate ordered ones.
  .map((r) => ({
    ...r,
    metadata: { ...r.metadata, end: Math.max(r.metadata.begin, r.metadata.end) },
  })) as unknown as fc.Arbitrary<AggregateReport>;

function normalized(r: AggregateReport) {
  return {
    orgName: expected(r.metadata.orgName),
    records: r.records.map((x) => ({
      ...x,
      reasons: x.reasons.map((y) => {
        const comment = expected(y.comment ?? "");
        return comment === "" ? { type: y.type } : { type: y.type, comment };
      }),
      dkimResults: x.dkimResults.map((d) => {
        const human = expected(d.humanResult ?? "");
        const o: Record<string, string> = { domain: d.domain, selector: d.selector!, result: d.result };
        if (human !== "") o.humanResult = human;
        return o;
      }),
    })),
  };
}

describe("the XML writer and the parser agree on any content", () => {
  it("property: write then parse gives the same report (forbidden characters dropped, values trimmed)", () => {
    fc.assert(
      fc.property(report, (r) => {
        const parsed = parseAggregateXml(aggregateXml(r));
        if (!parsed.ok) throw new Error(`${parsed.error.code}: ${parsed.error.message}`);
        expect({ orgName: parsed.report.metadata.orgName, records: parsed.report.records }).toEqual(normalized(r));
      }),
      { numRuns: 400 },
    );
  });

  const XSD = join(
    resolve(process.env.MSGAUTH_RFC ?? fileURLToPath(new URL("../../../shared/rfc", import.meta.url))),
    "rfc9990-schema.xsd",
  );
  const hasXmllint = (() => {
    try {
      execFileSync("xmllint", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!existsSync(XSD) || !hasXmllint)("random reports validate against the RFC 9990 schema", () => {
    const dir = mkdtempSync(join(tmpdir(), "msgauth-xsd-prop-"));
    const files = fc.sample(report, 40).map((r, i) => {
      const f = join(dir, `r${i}.xml`);
      writeFileSync(f, aggregateXml(r));
      return f;
    });
    expect(execFileSync("xmllint", ["--noout", "--schema", XSD, ...files], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })).toBe(
      "",
    );
  });
});
