import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync, gzipSync } from "fflate";
import PostalMime from "postal-mime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signMessage } from "../../src/dkim/sign.js";
import { parseTlsReportEmail } from "../../src/tlsrpt/parse.js";
import { parseTlsRptRecord, type TlsRptDestination } from "../../src/tlsrpt/record.js";
import { serializeTlsReport, type TlsReport } from "../../src/tlsrpt/report.js";
import { buildTlsReportEmail, createNodeReportPoster, submitTlsReport } from "../../src/tlsrpt/submit.js";
import { ED_PEM, exampleResolver, RSA_PEM } from "../helpers/keys.js";
import { createTestPki, hasOpenssl } from "../helpers/pki.js";
import { SAMPLE } from "./sample.js";

// the fixture zone publishes DKIM keys for example.com: the report's submitter
const REPORT: TlsReport = SAMPLE;
const DKIM = { domain: "example.com", selector: "ed25519", privateKey: ED_PEM };
const NOW = () => Date.UTC(2026, 11, 1, 6);

const email = (over: Partial<Parameters<typeof buildTlsReportEmail>[0]> = {}) =>
  buildTlsReportEmail({
    report: REPORT,
    policyDomain: "example.net",
    from: "tlsrpt@example.com",
    to: "tls@example.net",
    dkim: DKIM,
    now: NOW,
    ...over,
  });

describe("the report email (RFC 8460 5.3)", () => {
  it("has the RFC's media types, fields and subject, is DKIM-signed, and parses back to the same report", async () => {
    const raw = await email();
    const parsed = await PostalMime.parse(raw);
    const header = (name: string) => parsed.headers.find((h) => h.key === name)?.value;
    expect(header("content-type")).toMatch(/^multipart\/report; report-type="tlsrpt";/);
    expect(header("tls-report-domain")).toBe("example.net");
    // MUST match the domain of contact-info
    expect(header("tls-report-submitter")).toBe("example.com");
    expect(parsed.subject?.replace(/\s+/g, " ")).toBe(
      "Report Domain: example.net Submitter: example.com Report-ID: <2026-11-30.example.net.abc@example.com>",
    );
    const part = parsed.attachments[0]!;
    expect(part.mimeType).toBe("application/tlsrpt+gzip");
    expect(part.filename).toMatch(/^example\.com!example\.net!\d+!\d+\.json\.gz$/);
    expect(JSON.parse(new TextDecoder().decode(gunzipSync(new Uint8Array(part.content as ArrayBuffer))))).toEqual(
      JSON.parse(serializeTlsReport(REPORT)),
    );
    const dkim = header("dkim-signature") ?? "";
    // MUST be DKIM-signed without l=; the TLS-Report fields are signed
    expect(dkim).not.toMatch(/(^|;)\s*l=/);
    expect(dkim.replace(/\s+/g, "")).toMatch(/h=[^;]*tls-report-domain:tls-report-submitter/);
    const back = await parseTlsReportEmail(raw, { resolver: exampleResolver() });
    expect(back).toEqual({
      ok: true,
      report: REPORT,
      compressed: true,
      policyDomain: "example.net",
      submitter: "example.com",
      dkimDomain: "example.com",
    });
  });

  it("an uncompressed report uses application/tlsrpt+json and parses back", async () => {
    const raw = await email({ gzip: false, dkim: { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM } });
    expect(raw.toString()).toContain("Content-Type: application/tlsrpt+json");
    expect(await parseTlsReportEmail(raw, { resolver: exampleResolver() })).toMatchObject({ ok: true, compressed: false });
  });

  it("a report email without a passing DKIM signature MUST be ignored", async () => {
    const raw = (await email()).toString().replace("TLS-Report-Domain: example.net", "TLS-Report-Domain: example.org");
    expect(await parseTlsReportEmail(raw, { resolver: exampleResolver() })).toMatchObject({ ok: false, error: { code: "dkim" } });
    const unsigned = (await email()).toString().replace(/^DKIM-Signature:[^\r]*(\r\n[ \t][^\r]*)*\r\n/, "");
    expect(await parseTlsReportEmail(unsigned, { resolver: exampleResolver() })).toMatchObject({ ok: false, error: { code: "dkim" } });
    expect(await parseTlsReportEmail(unsigned, { resolver: false })).toMatchObject({ ok: true });
  });

  it("a report signed with l= is ignored (RFC 8460 3: DKIM signatures MUST NOT use l=)", async () => {
    const unsigned = (await email()).toString().replace(/^DKIM-Signature:[^\r]*(\r\n[ \t][^\r]*)*\r\n/, "");
    const withL = await signMessage(unsigned, { ...DKIM, bodyLength: true });
    expect(withL.toString()).toMatch(/l=\d+/);
    expect(await parseTlsReportEmail(withL, { resolver: exampleResolver() })).toMatchObject({ ok: false, error: { code: "dkim" } });
    const without = await signMessage(unsigned, DKIM);
    expect(await parseTlsReportEmail(without, { resolver: exampleResolver() })).toMatchObject({ ok: true });
  });

  it("the report body is authoritative over the subject and file name (RFC 8460 5.6)", async () => {
    const raw = (await email()).toString().replace("Report Domain: example.net", "Report Domain: wrong.example");
    const r = await parseTlsReportEmail(raw, { resolver: false });
    expect(r.ok && r.report.policies[0]!.policy.domain).toBe("example.net");
  });

  it("a submitter that is not the contact-info domain is refused", async () => {
    const raw = (await email()).toString().replace("TLS-Report-Submitter: example.com", "TLS-Report-Submitter: evil.example");
    expect(await parseTlsReportEmail(raw, { resolver: false })).toMatchObject({ ok: false, error: { code: "submitter-mismatch" } });
  });

  const hostile: Array<[string, string | Uint8Array, string]> = [
    ["not MIME at all", "\u0000\u0001garbage", "not-a-report-email"],
    ["no TLS-Report fields", "From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n", "not-a-report-email"],
    [
      "the fields but no report part",
      "From: a@b.example\r\nTLS-Report-Domain: x.example\r\nTLS-Report-Submitter: b.example\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
      "not-a-report-email",
    ],
    [
      "a report part that is a gzip bomb",
      `From: a@example.com\r\nTLS-Report-Domain: x.example\r\nTLS-Report-Submitter: example.com\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Disposition: attachment; filename=r.json.gz\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(
        // 40 MiB of zeros (~40 KB compressed) passes the 20 MiB cap
        gzipSync(new Uint8Array(40 * 1024 * 1024)),
      ).toString("base64")}\r\n`,
      "decompression-limit",
    ],
  ];
  for (const [name, raw, code] of hostile) {
    it(`refuses ${name} with a typed error`, async () => {
      expect(await parseTlsReportEmail(raw, { resolver: false })).toMatchObject({ ok: false, error: { code } });
    });
  }
  it("an email over the size cap is refused before MIME parsing", async () => {
    expect(await parseTlsReportEmail("x".repeat(2000), { resolver: false, maxEmailBytes: 1000 })).toMatchObject({
      ok: false,
      error: { code: "too-large" },
    });
  });
  it("a missing resolver choice is a programming error", async () => {
    await expect(parseTlsReportEmail("", {} as never)).rejects.toThrow(TypeError);
  });

  it("building refuses l=, a DKIM domain that is not the submitter's, and unknown options", async () => {
    await expect(email({ dkim: { ...DKIM, bodyLength: true } })).rejects.toThrow(/l=/);
    await expect(email({ dkim: { ...DKIM, domain: "other.example" } })).rejects.toThrow(/submitter/);
    await expect(email({ bcc: "x" } as never)).rejects.toThrow(/unknown option/);
  });
});

const skip = !hasOpenssl();
describe("submitTlsReport through injected transports", () => {
  const rua = (text: string): TlsRptDestination[] => {
    const r = parseTlsRptRecord(text);
    if (!r.ok) throw new Error(r.reason);
    return r.record.rua;
  };
  it("mails the signed report to mailto: and POSTs the gzip to https:", async () => {
    const mails: Array<{ to: string[]; raw: Buffer }> = [];
    const posts: Array<{ url: string; type: string | undefined; body: Uint8Array }> = [];
    const r = await submitTlsReport({
      report: REPORT,
      policyDomain: "example.net",
      rua: rua("v=TLSRPTv1; rua=mailto:tls@example.net,https://reports.example.net/tlsrpt"),
      from: "tlsrpt@example.com",
      dkim: DKIM,
      now: NOW,
      transports: {
        mail: async (envelope, raw) => void mails.push({ to: envelope.to, raw }),
        https: async (url, body, headers) => {
          posts.push({ url, type: headers["content-type"], body });
          return { status: 201 };
        },
      },
    });
    expect(r).toEqual({
      delivered: true,
      attempts: [
        { uri: "mailto:tls@example.net", ok: true, detail: "accepted" },
        { uri: "https://reports.example.net/tlsrpt", ok: true, detail: "HTTP 201" },
      ],
    });
    expect(mails[0]!.to).toEqual(["tls@example.net"]);
    expect(await parseTlsReportEmail(mails[0]!.raw, { resolver: exampleResolver() })).toMatchObject({ ok: true });
    expect(posts[0]).toMatchObject({ url: "https://reports.example.net/tlsrpt", type: "application/tlsrpt+gzip" });
    expect(JSON.parse(new TextDecoder().decode(gunzipSync(posts[0]!.body)))["report-id"]).toBe(REPORT.reportId);
  });
  it("a non-2xx answer, a failing or hanging transport is an unsuccessful attempt, never a throw", async () => {
    const r = await submitTlsReport({
      report: REPORT,
      policyDomain: "example.net",
      rua: rua("v=TLSRPTv1; rua=https://a.example/1,https://b.example/2,https://c.example/3"),
      timeoutMs: 100,
      transports: {
        https: async (url) => {
          if (url.includes("a.example")) return { status: 500 };
          if (url.includes("b.example")) throw new Error("ECONNREFUSED");
          return new Promise(() => {});
        },
      },
    });
    expect(r.delivered).toBe(false);
    expect(r.attempts.map((a) => a.detail)).toEqual(["HTTP 500", "ECONNREFUSED", "no answer within 100 ms"]);
  });

  describe.skipIf(skip)("createNodeReportPoster against a local HTTPS server", () => {
    let server: Server;
    let ca = "";
    let port = 0;
    const got: Array<{ type: string | undefined; size: number }> = [];
    beforeAll(async () => {
      const pki = createTestPki();
      ca = pki.ca;
      const leaf = pki.issue({ names: ["localhost"] });
      server = createServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
        let size = 0;
        req.on("data", (c: Buffer) => {
          size += c.length;
        });
        req.on("end", () => {
          got.push({ type: req.headers["content-type"], size });
          res.writeHead(200);
          res.end("ok");
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    it("POSTs the report and reports the status", async () => {
      const r = await submitTlsReport({
        report: REPORT,
        policyDomain: "example.net",
        rua: rua(`v=TLSRPTv1; rua=https://localhost:${port}/tlsrpt`),
        transports: { https: createNodeReportPoster({ ca }) },
      });
      expect(r).toMatchObject({ delivered: true, attempts: [{ detail: "HTTP 200" }] });
      expect(got[0]?.type).toBe("application/tlsrpt+gzip");
    });
    it("verifies the certificate by default", async () => {
      const r = await submitTlsReport({
        report: REPORT,
        policyDomain: "example.net",
        rua: rua(`v=TLSRPTv1; rua=https://localhost:${port}/tlsrpt`),
        transports: { https: createNodeReportPoster() },
      });
      expect(r.delivered).toBe(false);
    });
  });
});
