import { readFileSync } from "node:fs";
import { gzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { aggregateXml } from "../../src/report/generate.js";
import { parseAggregateReport, parseAggregateXml } from "../../src/report/parse.js";
import { fixture } from "../helpers/keys.js";

const xml = (name: string) => fixture(`reports/${name}`);

/** A report email as providers send them: one attachment, base64. */
function email(attachment: Uint8Array, filename: string, type: string): string {
  const b64 = Buffer.from(attachment).toString("base64").replace(/.{76}/g, "$&\r\n");
  return [
    "From: noreply@provider.example",
    "To: dmarc@example.com",
    `Subject: Report Domain: example.com Submitter: provider.example Report-ID: <${filename}>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "Report attached.",
    "--b1",
    `Content-Type: ${type}; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    "Content-Transfer-Encoding: base64",
    "",
    b64,
    "--b1--",
    "",
  ].join("\r\n");
}

describe("reports written by others parse", () => {
  it("Google style: zipped, RFC 7489 schema, pct and np, SPF without scope", async () => {
    const zip = zipSync({ "google.com!example.com!1795132800!1795219199.xml": new Uint8Array(xml("google-style.xml")) });
    const r = await parseAggregateReport(email(zip, "google.com!example.com!1795132800!1795219199.zip", "application/zip"));
    if (!r.ok) throw new Error(r.error.message);
    expect(r).toMatchObject({ container: "zip", email: true });
    expect(r.report.schema).toBe("rfc7489");
    expect(r.report.policy).toEqual({ domain: "example.com", p: "reject", sp: "reject", np: "reject", adkim: "r", aspf: "r", pct: 100 });
    expect(r.report.metadata).toMatchObject({
      orgName: "google.com",
      reportId: "11853244296128311475",
      begin: 1795132800,
      end: 1795219199,
    });
    expect(r.report.records).toEqual([
      {
        sourceIp: "192.0.2.25",
        count: 12,
        disposition: "none",
        dkim: "pass",
        spf: "pass",
        reasons: [],
        headerFrom: "example.com",
        dkimResults: [{ domain: "example.com", selector: "rsa2048", result: "pass" }],
        spfResults: [{ domain: "example.com", result: "pass" }],
      },
      {
        sourceIp: "2001:db8:ffff::25",
        count: 3,
        disposition: "reject",
        dkim: "fail",
        spf: "fail",
        reasons: [],
        headerFrom: "example.com",
        dkimResults: [],
        spfResults: [{ domain: "attacker.example", result: "softfail" }],
      },
    ]);
  });

  it("Microsoft style: gzipped, other namespaces declared, envelope_to and scope", async () => {
    const r = await parseAggregateReport(
      email(
        gzipSync(new Uint8Array(xml("microsoft-style.xml"))),
        "enterprise.protection.outlook.com!example.com!1795132800!1795219200.xml.gz",
        "application/gzip",
      ),
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.report).toMatchObject({ schema: "rfc7489", version: "1.0", policy: { p: "quarantine", fo: "1", pct: 100 } });
    expect(r.report.records[0]).toMatchObject({
      envelopeTo: "outlook.com",
      envelopeFrom: "bounces.example.com",
      spfResults: [{ domain: "bounces.example.com", scope: "mfrom", result: "fail" }],
      dkimResults: [{ domain: "example.com", selector: "ed25519", result: "pass" }],
    });
  });

  it("Yahoo style: bare .xml.gz, no selector, a forwarded reason (RFC 7489 only)", async () => {
    const r = await parseAggregateReport(gzipSync(new Uint8Array(xml("yahoo-style.xml"))));
    if (!r.ok) throw new Error(r.error.message);
    expect(r).toMatchObject({ container: "gzip", email: false });
    expect(r.report.records[0]).toMatchObject({
      reasons: [{ type: "forwarded", comment: "looks forwarded, downgraded to none" }],
      dkimResults: [{ domain: "example.com", result: "fail" }],
    });
    expect(r.report.records[0]!.dkimResults[0]).not.toHaveProperty("selector");
  });

  it("RFC 9990 style: the namespace, extensions ignored, lang attributes, an empty auth_results, entities decoded", async () => {
    const r = await parseAggregateReport(xml("rfc9990-style.xml"));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.report.schema).toBe("rfc9990");
    expect(r.report.metadata).toMatchObject({ orgName: "Sample Reporter & Co", generator: "Example DMARC Aggregate Reporter v1.2" });
    expect(r.report.policy).toEqual({
      domain: "example.com",
      p: "quarantine",
      sp: "none",
      np: "reject",
      testing: "n",
      discoveryMethod: "treewalk",
    });
    expect(r.report.records[1]).toMatchObject({
      headerFrom: "sub.example.com",
      dkimResults: [],
      spfResults: [],
      reasons: [{ type: "trusted_forwarder" }],
    });
    expect(r.report.records[0]!.spfResults[0]!.humanResult).toBe("no match in v=spf1 -all");
  });

  it("the RFC 7489 Appendix B.5 report email (folded filename, multipart/alternative)", async () => {
    const gz = Buffer.from(gzipSync(new Uint8Array(xml("yahoo-style.xml"))))
      .toString("base64")
      .replace(/.{76}/g, "$&\n");
    const eml = readFileSync(new URL("../../fixtures/reports/rfc7489-b5.eml", import.meta.url), "utf8").replace(
      "<gzipped content of report>",
      gz,
    );
    const r = await parseAggregateReport(eml);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.email).toBe(true);
    expect(r.report.metadata.orgName).toBe("Yahoo");
  });

  it("a parsed report written back as RFC 9990 XML parses to the same records", () => {
    for (const name of ["google-style.xml", "microsoft-style.xml", "rfc9990-style.xml"]) {
      const first = parseAggregateXml(xml(name).toString("utf8"));
      if (!first.ok) throw new Error(first.error.message);
      const again = parseAggregateXml(aggregateXml(first.report));
      if (!again.ok) throw new Error(again.error.message);
      expect(again.report.records).toEqual(first.report.records);
      expect(again.report.schema).toBe("rfc9990");
    }
  });
});

describe("leniency", () => {
  it("a report without records is read as empty (RFC 9990 requires one; some senders send none)", () => {
    const xml = fixture("reports/yahoo-style.xml")
      .toString("utf8")
      .replace(/<record>[\s\S]*<\/record>/, "");
    const r = parseAggregateXml(xml);
    expect(r.ok && r.report.records).toEqual([]);
  });
});
