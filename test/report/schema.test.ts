import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { generateReport } from "../../src/report/generate.js";
import type { AggregateRecord } from "../../src/report/types.js";
import { REPORTER } from "../helpers/report-world.js";

// The RFC 9990 schema is read where it is kept ($MSGAUTH_RFC or ../shared/rfc), never copied here.
const RFC_DIR = resolve(process.env.MSGAUTH_RFC ?? fileURLToPath(new URL("../../../shared/rfc", import.meta.url)));
const XSD = join(RFC_DIR, "rfc9990-schema.xsd");
const HAS_XSD = existsSync(XSD);
const HAS_XMLLINT = (() => {
  try {
    execFileSync("xmllint", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!HAS_XSD) console.warn(`SCHEMA ABSENT: ${XSD} not found (set MSGAUTH_RFC); the XSD validation test is skipped`);
if (!HAS_XMLLINT) console.warn("XMLLINT ABSENT: the XSD validation test is skipped (apt-get install libxml2-utils)");

const records: AggregateRecord[] = [
  {
    sourceIp: "192.0.2.1",
    count: 5,
    disposition: "pass",
    dkim: "pass",
    spf: "pass",
    reasons: [],
    headerFrom: "example.com",
    envelopeFrom: "example.com",
    envelopeTo: "example.org",
    dkimResults: [
      { domain: "example.com", selector: "s1", result: "pass" },
      { domain: "esp.example", selector: "s2", result: "fail" },
    ],
    spfResults: [{ domain: "example.com", scope: "mfrom", result: "pass" }],
  },
  {
    sourceIp: "2001:db8::1",
    count: 1,
    disposition: "none",
    dkim: "fail",
    spf: "fail",
    reasons: [
      { type: "trusted_forwarder", comment: "ARC <sealer> & friends \u0001" },
      { type: "policy_test_mode" },
      { type: "sampled_out" },
    ],
    headerFrom: "example.com",
    dkimResults: [],
    spfResults: [{ domain: "helo.example", result: "softfail" }],
  },
];

describe.skipIf(!HAS_XSD || !HAS_XMLLINT)("generated XML against the RFC 9990 schema", () => {
  it("validates with xmllint --schema", () => {
    const report = generateReport(
      {
        domain: "example.com",
        p: "reject",
        sp: "quarantine",
        np: "reject",
        adkim: "s",
        aspf: "r",
        discoveryMethod: "treewalk",
        fo: "0:d",
        testing: "n",
      },
      records,
      { begin: 1795132800, end: 1795219199 },
      { ...REPORTER, extraContactInfo: "https://receiver.example/dmarc" },
    );
    const file = join(mkdtempSync(join(tmpdir(), "msgauth-xsd-")), "report.xml");
    writeFileSync(file, gunzipSync(report.gzip));
    const out = execFileSync("xmllint", ["--noout", "--schema", XSD, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toBe("");
  });

  it("the validation can fail: a report without records is refused by the schema", () => {
    const report = generateReport({ domain: "example.com", p: "none" }, [], { begin: 1, end: 2 }, REPORTER);
    const file = join(mkdtempSync(join(tmpdir(), "msgauth-xsd-")), "empty.xml");
    writeFileSync(file, gunzipSync(report.gzip));
    expect(() => execFileSync("xmllint", ["--noout", "--schema", XSD, file], { stdio: "ignore" })).toThrow();
  });
});
