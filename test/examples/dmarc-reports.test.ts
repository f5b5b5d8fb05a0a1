import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { dmarcReporting } from "../../examples/dmarc-reports.js";
import { MemoryStateStore, parseAggregateReport, verifyDkim } from "../../src/index.js";
import { authenticateTraffic, REPORT_DKIM, REPORTER, T0, worldResolver } from "../helpers/report-world.js";

describe("the DMARC reporting example with nodemailer", () => {
  it("collects, then sends one signed report through nodemailer when the day is over", async () => {
    let now = T0;
    const mailer = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const sent: Array<{ envelope: unknown; message: Buffer }> = [];
    const reporting = dmarcReporting({
      store: new MemoryStateStore(),
      resolver: worldResolver(),
      identity: REPORTER,
      dkim: REPORT_DKIM,
      now: () => now,
      mailer: {
        sendMail: (async (mail: Parameters<typeof mailer.sendMail>[0]) => {
          const info = await mailer.sendMail(mail);
          sent.push({ envelope: info.envelope, message: info.message as Buffer });
          return info;
        }) as typeof mailer.sendMail,
      },
    });
    for (const t of await authenticateTraffic()) await reporting.collect(t.result, t.envelope);
    expect(await reporting.sendClosedPeriods()).toEqual([]);
    now = T0 + 86_400_000;
    expect((await reporting.sendClosedPeriods()).map((o) => o.state)).toEqual(["sent"]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.envelope).toEqual({ from: REPORTER.email, to: ["dmarc-reports@example.com"] });
    const dkim = await verifyDkim(sent[0]!.message, { resolver: worldResolver(), now: () => now });
    expect(dkim.map((d) => d.result)).toEqual(["pass"]); // nodemailer sent the signed bytes unchanged
    const parsed = await parseAggregateReport(sent[0]!.message);
    expect(parsed.ok && parsed.report.records.reduce((n, r) => n + r.count, 0)).toBe(6);
  });
});
