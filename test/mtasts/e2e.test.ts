// A sending app that honours MTA-STS: nodemailer delivering to local smtp-server MX hosts (STARTTLS
// with certificates from a test CA) under an enforce policy fetched over real HTTPS, with every
// session's outcome recorded for TLS-RPT.
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext } from "node:tls";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWithMtaSts } from "../../examples/mta-sts-sender.js";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { MtaSts } from "../../src/mtasts/client.js";
import { createNodePolicyFetcher } from "../../src/mtasts/node-fetch.js";
import { MemoryStateStore } from "../../src/store/memory.js";
import { parseTlsReport, parseTlsReportEmail } from "../../src/tlsrpt/parse.js";
import { discoverTlsRpt } from "../../src/tlsrpt/record.js";
import { TlsRptRecorder } from "../../src/tlsrpt/recorder.js";
import { gzipTlsReport } from "../../src/tlsrpt/report.js";
import { submitTlsReport } from "../../src/tlsrpt/submit.js";
import { ED_PEM, exampleResolver } from "../helpers/keys.js";
import { createTestPki, hasOpenssl } from "../helpers/pki.js";

const skip = !hasOpenssl();
if (skip) console.warn("openssl is not installed: the MTA-STS end-to-end test is skipped");

const POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmx: *.mail.example.net\r\nmax_age: 604800\r\n";
const TESTING_POLICY = "version: STSv1\nmode: testing\nmx: mx.testing.example\nmax_age: 86400\n";
const DAY = Date.UTC(2026, 10, 30, 9);

describe.skipIf(skip)("nodemailer under an enforce MTA-STS policy (end to end)", () => {
  const ports: Record<string, number> = {};
  const received: Record<string, number> = {};
  const sni: Record<string, string | undefined> = {};
  const servers: SMTPServer[] = [];
  let https: HttpsServer;
  let ca = "";
  let sts: MtaSts;
  const resolver = new FixtureResolver(
    zoneFromObject({
      "example.net": { MX: [[10, "mx.example.net"]] },
      "_mta-sts.example.net": { TXT: "v=STSv1; id=20261130" },
      "_smtp._tls.example.net": { TXT: "v=TLSRPTv1; rua=mailto:tlsrpt@example.net" },
      "mx.example.net": { A: "127.0.0.1" },
      "b.mail.example.net": { A: "127.0.0.1" },
      "c.mail.example.net": { A: "127.0.0.1" },
      "d.mail.example.net": { A: "127.0.0.1" },
      "e.mail.example.net": { A: "127.0.0.1" },
      "evil.example.org": { A: "127.0.0.1" },
      "testing.example": { MX: [[10, "b.mail.example.net"]] },
      "_mta-sts.testing.example": { TXT: "v=STSv1; id=1" },
    }),
  );
  const clock = { now: DAY };
  const recorder = new TlsRptRecorder({ store: new MemoryStateStore(), now: () => clock.now });

  beforeAll(async () => {
    const pki = createTestPki();
    ca = pki.ca;
    const policyCert = pki.issue({ names: ["mta-sts.example.net"] });
    const testingCert = pki.issue({ names: ["mta-sts.testing.example"] });
    const testingContext = createSecureContext({ key: testingCert.key, cert: testingCert.cert });
    https = createHttpsServer(
      {
        key: policyCert.key,
        cert: policyCert.cert,
        SNICallback: (name, cb) => cb(null, name === "mta-sts.testing.example" ? testingContext : undefined),
      },
      (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(req.headers.host === "mta-sts.testing.example" ? TESTING_POLICY : POLICY);
      },
    );
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    const httpsPort = (https.address() as AddressInfo).port;
    sts = new MtaSts({
      resolver,
      fetch: createNodePolicyFetcher({ ca, connect: () => ({ host: "127.0.0.1", port: httpsPort }) }),
      timeoutMs: 5000,
    });

    // each MX host: which certificate it presents, or no STARTTLS at all
    const mx: Record<string, { names?: string[]; expired?: boolean; selfSigned?: boolean; noTls?: boolean }> = {
      "mx.example.net": { names: ["mx.example.net"] },
      "b.mail.example.net": { names: ["other.example.com"] }, // in the policy, wrong certificate
      "c.mail.example.net": { noTls: true },
      "d.mail.example.net": { names: ["d.mail.example.net"], expired: true },
      "e.mail.example.net": { names: ["e.mail.example.net"], selfSigned: true },
      "evil.example.org": { names: ["evil.example.org"] }, // a valid certificate, not in the policy
    };
    for (const [host, spec] of Object.entries(mx)) {
      const cert = spec.names
        ? pki.issue({ names: spec.names, ...(spec.expired ? { expired: true } : {}), ...(spec.selfSigned ? { selfSigned: true } : {}) })
        : undefined;
      received[host] = 0;
      const server = new SMTPServer({
        logger: false,
        authOptional: true,
        disabledCommands: spec.noTls ? ["AUTH", "STARTTLS"] : ["AUTH"],
        ...(cert ? { key: cert.key, cert: cert.cert } : {}),
        onData(stream, session, callback) {
          sni[host] = session.servername || undefined;
          stream.resume();
          stream.on("end", () => {
            received[host]!++;
            callback();
          });
        },
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      ports[host] = (server.server.address() as AddressInfo).port;
    }
  });
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    await new Promise<void>((r) => https.close(() => r()));
  });

  const deliver = async (to: string) => {
    const r = await sendWithMtaSts(
      { from: "app@sender.example.com", to, subject: "hello", text: "over TLS\n" },
      { resolver, sts, recorder, helo: "sender.example.com", ca, connectTo: (host) => ({ host: "127.0.0.1", port: ports[host]! }) },
    );
    return { delivered: r.host, errors: r.errors, ...(r.delivered ? {} : { reply: r.reply }) };
  };

  const setMx = (...hosts: string[]) =>
    resolver.zone.set("example.net", { MX: hosts.map((exchange, i) => ({ priority: 10 + i, exchange })) });

  it("delivers over validated TLS to an MX the policy names", async () => {
    setMx("mx.example.net");
    expect(await deliver("bob@example.net")).toEqual({ delivered: "mx.example.net", errors: [] });
    expect(received["mx.example.net"]).toBe(1);
    // RFC 8461 7.1: the SNI of the SMTP connection MUST be the MX host name
    expect(sni["mx.example.net"]).toBe("mx.example.net");
  });

  it("refuses an MX outside the policy without connecting, with a temporary reply", async () => {
    setMx("evil.example.org");
    const r = await deliver("bob@example.net");
    expect(r.delivered).toBeUndefined();
    expect(r.reply).toMatchObject({ code: 451, enhanced: "4.7.5" });
    expect(received["evil.example.org"]).toBe(0);
  });

  const refused: Array<[string, string, string]> = [
    ["a certificate that does not name the MX", "b.mail.example.net", "certificate-host-mismatch"],
    ["an MX without STARTTLS", "c.mail.example.net", "starttls-not-supported"],
    ["an expired certificate", "d.mail.example.net", "certificate-expired"],
    ["a certificate that does not chain to a trusted root", "e.mail.example.net", "certificate-not-trusted"],
  ];
  for (const [name, host, resultType] of refused) {
    it(`refuses ${name} (${resultType}) and no message reaches it`, async () => {
      setMx(host);
      const r = await deliver("bob@example.net");
      expect(r).toMatchObject({ delivered: undefined, errors: [`${host}: ${resultType}`], reply: { code: 451 } });
      expect(received[host]).toBe(0);
    });
  }

  it("falls through a failing MX to the next allowed one", async () => {
    setMx("evil.example.org", "b.mail.example.net", "mx.example.net");
    const r = await deliver("bob@example.net");
    expect(r).toEqual({
      delivered: "mx.example.net",
      errors: ["evil.example.org: not in the MTA-STS policy", "b.mail.example.net: certificate-host-mismatch"],
    });
  });

  it("under a testing policy, delivers despite an MX outside the policy and a wrong certificate, and reports both", async () => {
    const before = received["b.mail.example.net"]!;
    const r = await deliver("carol@testing.example");
    expect(r).toEqual({ delivered: "b.mail.example.net", errors: ["b.mail.example.net: certificate-host-mismatch"] });
    expect(received["b.mail.example.net"]).toBe(before + 1);
  });

  it("the TLS-RPT report of the day holds every outcome and round-trips", async () => {
    clock.now = DAY + 86_400_000;
    const reports = await recorder.takeReports("2026-11-30", { organizationName: "Sender", contactInfo: "tlsrpt@sender.example.com" });
    const taken = reports.find((r) => r.policyDomain === "example.net");
    const testing = reports.find((r) => r.policyDomain === "testing.example")!.report.policies[0]!;
    expect(testing.policy.string).toContain("mode: testing");
    expect(testing.summary).toEqual({ totalSuccessfulSessionCount: 0, totalFailureSessionCount: 1 });
    expect(testing.failureDetails.map((f) => f.resultType).sort()).toEqual(["certificate-host-mismatch", "validation-failure"]);
    const sts = taken!.report.policies.find((p) => p.policy.type === "sts")!;
    expect(sts.policy.mxHost).toEqual(["mx.example.net", "*.mail.example.net"]);
    expect(sts.summary).toEqual({ totalSuccessfulSessionCount: 2, totalFailureSessionCount: 7 });
    const byType = Object.fromEntries(sts.failureDetails.map((f) => [`${f.resultType} ${f.receivingMxHostname}`, f.failedSessionCount]));
    expect(byType).toEqual({
      "validation-failure evil.example.org": 2,
      "certificate-host-mismatch b.mail.example.net": 2,
      "starttls-not-supported c.mail.example.net": 1,
      "certificate-expired d.mail.example.net": 1,
      "certificate-not-trusted e.mail.example.net": 1,
    });
    expect(parseTlsReport(gzipTlsReport(taken!.report))).toEqual({ ok: true, report: taken!.report, compressed: true });

    // the daily job: each report to the domain's rua, DKIM-signed; then done()
    const sent: Buffer[] = [];
    for (const r of reports) {
      const found = await discoverTlsRpt(r.policyDomain, resolver);
      if (found.kind !== "found") continue; // testing.example publishes no _smtp._tls record
      const result = await submitTlsReport({
        report: r.report,
        policyDomain: r.policyDomain,
        rua: found.record.rua,
        from: "tlsrpt@sender.example.com",
        dkim: { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
        transports: { mail: async (_envelope, raw) => void sent.push(raw) },
      });
      expect(result.delivered).toBe(true);
      await r.done();
    }
    expect(sent).toHaveLength(1);
    const received = await parseTlsReportEmail(sent[0]!, { resolver: exampleResolver() });
    expect(received).toMatchObject({ ok: true, policyDomain: "example.net", submitter: "sender.example.com", dkimDomain: "example.com" });
    expect(received.ok && received.report).toEqual(taken!.report);
    expect(await recorder.pending({ organizationName: "Sender", contactInfo: "tlsrpt@sender.example.com" })).toHaveLength(1); // testing.example's
  });
});
