import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/authenticate.js";
import { parseDmarcRecord } from "../../src/dmarc/record.js";
import { parseFailureReport } from "../../src/report/arf.js";
import { FailureReporter, failureReportsWanted } from "../../src/report/failure.js";
import { fixture } from "../helpers/keys.js";
import { authenticateTraffic, REPORT_DKIM, T0, TRAFFIC, worldResolver } from "../helpers/report-world.js";

const IDENTITY = { email: "dmarc-noreply@receiver.example", receiver: "mx.receiver.example" };

async function withRecord(text: string) {
  const record = parseDmarcRecord(text);
  if (!record.ok) throw new Error(record.reason);
  return (await authenticateTraffic()).map((t, i) => ({
    message: fixture(TRAFFIC[i]!.file),
    envelope: t.envelope,
    result: {
      ...t.result,
      dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: record.record },
    },
  }));
}

describe("which failure reports a domain asks for (fo=)", () => {
  const cases: Array<{ record: string; message: number; want: string[] }> = [
    { record: "v=DMARC1; p=reject; ruf=mailto:r@other.example", message: 3, want: ["dmarc"] }, // fo=0: both failed
    { record: "v=DMARC1; p=reject; ruf=mailto:r@other.example", message: 0, want: [] }, // a pass
    { record: "v=DMARC1; p=reject; ruf=mailto:r@other.example; fo=1", message: 3, want: ["dmarc"] },
    { record: "v=DMARC1; p=reject; ruf=mailto:r@other.example; fo=1:s", message: 3, want: ["dmarc", "spf"] },
    { record: "v=DMARC1; p=reject; ruf=mailto:r@other.example; fo=d", message: 4, want: ["dmarc"] }, // no DKIM signature failed
    { record: "v=DMARC1; p=reject; fo=1", message: 3, want: [] }, // no ruf=: fo= is ignored
    { record: "v=DMARC1; p=reject; psd=y; ruf=mailto:r@other.example; fo=1", message: 3, want: [] }, // RFC 9991 2: not for PSDs
  ];
  for (const c of cases) {
    it(`${c.record} for message ${c.message} -> [${c.want.join(", ")}]`, async () => {
      const t = (await withRecord(c.record))[c.message]!;
      expect(failureReportsWanted(t.result)).toEqual(c.want);
    });
  }
});

describe("failure reports sent", () => {
  it("an ARF report, DKIM-signed, redacted by default, that parses back", async () => {
    const sent: Array<{ to: string; raw: Uint8Array }> = [];
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m),
      resolver: worldResolver(),
      dkim: REPORT_DKIM,
      now: () => T0,
    });
    const t = (await withRecord("v=DMARC1; p=quarantine; ruf=mailto:ruf@other.example; fo=1"))[3]!;
    const out = await reporter.report(t.message, t.envelope, t.result);
    expect(out).toEqual({ types: ["dmarc"], deliveries: [{ to: "ruf@other.example", type: "dmarc", result: "sent" }] });
    const raw = sent[0]!.raw;
    const verified = await authenticate(
      raw,
      { ip: "203.0.113.5", mailFrom: IDENTITY.email },
      { resolver: worldResolver(), now: () => T0, checks: { iprev: false } },
    );
    expect(verified.dkim[0]?.result).toBe("pass");
    const parsed = await parseFailureReport(raw);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const r = parsed.report;
    expect(r).toMatchObject({
      feedbackType: "auth-failure",
      version: "1",
      authFailure: "dmarc",
      identityAlignment: ["dkim", "spf"],
      deliveryResult: "reject", // the disposition applied (the message came with p=reject)
      sourceIp: "203.0.113.99",
      reportedDomain: "other.example",
      originalRcptTo: [],
      original: { kind: "headers", subject: "Urgent: update your payment details" },
    });
    expect(r.originalMailFrom).toMatch(/^<redacted-[0-9a-f]{12}@example\.com>$/);
    expect(r.original!.from).toMatch(/<redacted-[0-9a-f]{12}@example\.com>/);
    expect(Buffer.from(r.original!.raw).toString()).not.toContain("alice@");
    expect(Buffer.from(raw).toString()).not.toContain("Please send the invoice"); // headers only by default
  });

  it("full copies on request, links defanged; recipients only when asked", async () => {
    const sent: Array<{ raw: Uint8Array }> = [];
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m),
      resolver: worldResolver(),
      redaction: { include: "full", localParts: false, recipients: true },
    });
    const t = (await withRecord("v=DMARC1; p=reject; ruf=mailto:ruf@other.example; fo=1"))[3]!;
    const message = Buffer.concat([t.message, Buffer.from("See http://pay.attacker.example/now\r\n")]);
    await reporter.report(message, t.envelope, t.result);
    const parsed = await parseFailureReport(sent[0]!.raw);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.report.original?.kind).toBe("message");
    expect(parsed.report.originalRcptTo).toEqual(["<bob@example.org>"]);
    const copy = Buffer.from(parsed.report.original!.raw).toString();
    expect(copy).toContain("hxxp://pay.attacker.example/now");
    expect(copy).toContain("alice@example.com");
  });

  it("a per-destination rate limit; unauthorized external destinations are skipped", async () => {
    let now = T0;
    const sent: string[] = [];
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m.to),
      resolver: worldResolver(),
      perDestinationPerHour: 2,
      now: () => now,
    });
    const t = (await withRecord("v=DMARC1; p=reject; ruf=mailto:ruf@other.example,mailto:x@reports.example; fo=1"))[3]!;
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push((await reporter.report(t.message, t.envelope, t.result)).deliveries.map((d) => `${d.to}:${d.result}`));
    expect(results).toEqual([
      ["ruf@other.example:sent", "x@reports.example:skipped"],
      ["ruf@other.example:sent", "x@reports.example:skipped"],
      ["ruf@other.example:skipped", "x@reports.example:skipped"],
    ]);
    now += 3_600_001;
    expect((await reporter.report(t.message, t.envelope, t.result)).deliveries[0]!.result).toBe("sent");
    expect(sent).toEqual(["ruf@other.example", "ruf@other.example", "ruf@other.example"]);
  });
});

// RFC 9991 Appendix A, read from the RFC text where it is kept (never copied into the project).
const RFC_DIR = resolve(process.env.MSGAUTH_RFC ?? fileURLToPath(new URL("../../../shared/rfc", import.meta.url)));
const RFC9991 = join(RFC_DIR, "rfc9991.txt");
if (!existsSync(RFC9991)) console.warn(`RFC ABSENT: ${RFC9991} not found (set MSGAUTH_RFC); the RFC 9991 example test is skipped`);

describe("parsing failure reports", () => {
  it.skipIf(!existsSync(RFC9991))("the RFC 9991 Appendix A example", async () => {
    const text = readFileSync(RFC9991, "utf8");
    const start = text.indexOf("   Received: from gen.example");
    const end = text.indexOf("\n", text.indexOf("   --=_mime_boundary_--", start));
    const example = text
      .slice(start, end)
      .split("\n")
      .map((l) => l.replace(/^ {3}/, ""))
      .join("\r\n");
    const parsed = await parseFailureReport(example);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.report).toMatchObject({
      feedbackType: "auth-failure",
      authFailure: "dmarc",
      identityAlignment: ["dkim"],
      dkim: { domain: "consumer.example", identity: "@consumer.example", selector: "epsilon" },
      sourceIp: "192.0.2.2",
      reportedDomain: "consumer.example",
      originalEnvelopeId: "65E1A3F0A0",
      original: { kind: "message" },
    });
    expect(parsed.report.authenticationResults[0]).toMatch(/dmarc=fail header\.from=consumer\.example/);
  });

  it("refuses what is not ARF, and never throws", async () => {
    expect(await parseFailureReport("From: a@example.com\r\n\r\nhello\r\n")).toMatchObject({ ok: false, error: { code: "not-arf" } });
    expect(await parseFailureReport(new Uint8Array(30 * 1024 * 1024))).toMatchObject({ ok: false, error: { code: "too-large" } });
    const deep = `MIME-Version: 1.0\r\n${Array.from({ length: 60 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join("")}`;
    expect(await parseFailureReport(deep)).toMatchObject({ ok: false });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (b) => {
        expect(typeof (await parseFailureReport(b)).ok).toBe("boolean");
      }),
      { numRuns: 200 },
    );
  });
});
