import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { gzipTlsReport, serializeTlsReport } from "../../src/tlsrpt/report.js";
import { buildTlsReportEmail } from "../../src/tlsrpt/submit.js";
import { ED_PEM, exampleResolver } from "../helpers/keys.js";
import { SAMPLE } from "../tlsrpt/sample.js";

const root = join(import.meta.dirname, "../..");
const EXAMPLE = join(root, "fixtures/tlsrpt/rfc8460-example.json");

async function run(argv: string[], stdin: string | Uint8Array = "") {
  let out = "";
  let err = "";
  const code = await main(argv, {
    stdout: (t) => {
      out += typeof t === "string" ? t : Buffer.from(t).toString();
    },
    stderr: (t) => {
      err += t;
    },
    stdin: async function* () {
      yield typeof stdin === "string" ? Buffer.from(stdin) : stdin;
    },
    resolver: exampleResolver,
  });
  return { code, out, err };
}

describe("msgauth tlsrpt", () => {
  const dir = mkdtempSync(join(tmpdir(), "msgauth-tlsrpt-"));
  const gz = join(dir, "r.json.gz");
  writeFileSync(gz, gzipTlsReport(SAMPLE));

  it("parse prints RFC 8460 JSON that equals the input report", async () => {
    const r = await run(["tlsrpt", "parse", gz]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(JSON.parse(serializeTlsReport(SAMPLE)));
  });
  it("summary shows policies, counts and failures of the RFC example", async () => {
    const r = await run(["tlsrpt", "summary", EXAMPLE]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("company-y.example sts (mx *.mail.company-y.example): 5326 successful, 303 failed");
    expect(r.out).toContain("100 certificate-expired at mx1.mail.company-y.example (from 2001:db8:abcd:0012::1)");
    expect(r.out).toContain(
      "3 validation-failure at mx-backup.mail.company-y.example [203.0.113.58] (from 198.51.100.62, reason X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED)",
    );
  });
  it("reads a DKIM-signed report email from standard input", async () => {
    const raw = await buildTlsReportEmail({
      report: SAMPLE,
      policyDomain: "example.net",
      from: "tlsrpt@example.com",
      to: "tls@example.net",
      dkim: { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
    });
    const r = await run(["tlsrpt", "summary", "-"], raw);
    expect(r.err).toBe("");
    expect(r.out).toContain("<stdin> (email from example.com about example.net)");
  });
  it("a gzip bomb is refused with exit 4 and the reason, others still read", async () => {
    const bomb = join(dir, "bomb.json.gz");
    writeFileSync(bomb, gzipSync(new Uint8Array(64 * 1024 * 1024)));
    const r = await run(["tlsrpt", "parse", bomb, gz]);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/bomb\.json\.gz: not accepted as a TLS report \(decompression-limit\)/);
    expect(JSON.parse(r.out)["report-id"]).toBe(SAMPLE.reportId);
  });
  it("an unsigned report email is refused unless --no-dkim", async () => {
    const raw = `From: a@example.com\r\nTLS-Report-Domain: example.net\r\nTLS-Report-Submitter: example.com\r\nContent-Type: application/tlsrpt+json\r\nContent-Disposition: attachment; filename=r.json\r\n\r\n${serializeTlsReport(SAMPLE)}\r\n`;
    expect((await run(["tlsrpt", "parse", "-"], raw)).err).toMatch(/\(dkim\)/);
    expect((await run(["tlsrpt", "parse", "--no-dkim", "-"], raw)).code).toBe(0);
  });
  const usage: Array<[string, string[]]> = [
    ["no subcommand", ["tlsrpt"]],
    ["an unknown subcommand", ["tlsrpt", "show", gz]],
    ["no file", ["tlsrpt", "parse"]],
    ["an unknown option", ["tlsrpt", "parse", "--insecure", gz]],
  ];
  for (const [name, argv] of usage) it(`${name} is a usage error (exit 2)`, async () => expect((await run(argv)).code).toBe(2));
  it("a missing file is exit 4", async () => {
    expect((await run(["tlsrpt", "parse", join(dir, "nope.json")])).code).toBe(4);
  });
  it("--help", async () => {
    const r = await run(["tlsrpt", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: msgauth tlsrpt/);
  });
});
