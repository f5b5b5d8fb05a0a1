/**
 * DMARC reporting on a receiving mail server: collect every authenticate() result, and every few
 * minutes send the reports of the periods that closed, through nodemailer. With a Redis store, run
 * this on every MX host: each period is reported once, by whichever host takes it first.
 *
 *   const store = await openSqliteStore("/var/lib/msgauth/state.db"); // or openRedisStore({ url })
 *   const reporting = dmarcReporting({ store, resolver, mailer: nodemailer.createTransport({ host: "localhost", port: 25 }),
 *     identity: { orgName: "Example Mail", email: "dmarc-noreply@example.org", receiver: "mx.example.org" },
 *     dkim: { domain: "example.org", selector: "reports", privateKey: pem } });
 *   // in the SMTP server, after authenticate():
 *   await reporting.collect(result, envelope);
 *   // on a timer:
 *   setInterval(() => void reporting.sendClosedPeriods().then(log), 5 * 60_000);
 */
import type { Transporter } from "nodemailer";
import {
  AggregateCollector,
  AggregateReporter,
  type AuthenticationResult,
  type DkimSignOptions,
  type Envelope,
  type PeriodOutcome,
  type ReporterIdentity,
  type Resolver,
  type Store,
} from "../src/index.js";

export interface DmarcReportingOptions {
  store: Store;
  resolver: Resolver;
  mailer: Pick<Transporter, "sendMail">;
  identity: ReporterIdentity;
  dkim?: DkimSignOptions;
  now?: () => number;
}

export function dmarcReporting(o: DmarcReportingOptions) {
  const collector = new AggregateCollector({ store: o.store, ...(o.now ? { now: o.now } : {}) });
  const reporter = new AggregateReporter({
    store: o.store,
    resolver: o.resolver,
    identity: o.identity,
    ...(o.dkim ? { dkim: o.dkim } : {}),
    ...(o.now ? { now: o.now } : {}),
    // The report email is complete and signed: nodemailer sends it as it is (raw), to one recipient.
    transport: async ({ from, to, raw }) => {
      await o.mailer.sendMail({ envelope: { from, to: [to] }, raw: Buffer.from(raw) });
    },
  });
  return {
    collect: (result: AuthenticationResult, envelope: Envelope) => collector.collect(result, envelope),
    sendClosedPeriods: (): Promise<PeriodOutcome[]> => reporter.run(),
  };
}
