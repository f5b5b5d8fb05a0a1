import { randomBytes } from "node:crypto";
import { request } from "node:https";
import { z } from "zod";
import { DEFAULT_SIGNED_HEADERS, type DkimSignOptions, signMessage } from "../dkim/sign.js";
import { describeError, OptionsError } from "../errors.js";
import { anyObject, checkOptionKeys, checkTimerMs, fn, invalidOption, optionsChecker, timerMs } from "../options.js";
import { headerText } from "../report/header-field.js";
import type { TlsRptDestination } from "./record.js";
import { gzipTlsReport, serializeTlsReport, type TlsReport, tlsReportFilename } from "./report.js";

export interface TlsReportEmailOptions {
  report: TlsReport;
  /** The Policy Domain the report is about (TLS-Report-Domain). */
  policyDomain: string;
  /** From: an address at the submitter's domain. */
  from: string;
  /** To: the mailto: address from the rua. */
  to: string;
  /**
   * DKIM signing for the submitter's domain (RFC 8460 3: reports by mail MUST be DKIM-signed, never
   * with l=). TLS-Report-Domain and TLS-Report-Submitter are signed too.
   */
  dkim: DkimSignOptions | readonly DkimSignOptions[];
  /** Milliseconds clock for Date:. Default Date.now. */
  now?: () => number;
  /** gzip the report (RFC 8460 5.2 SHOULD). Default true. */
  gzip?: boolean;
}

const checkEmailOptions = optionsChecker<TlsReportEmailOptions>("options", {
  report: anyObject,
  policyDomain: z.string(),
  from: z.string(),
  to: z.string(),
  dkim: z.union([anyObject, z.array(anyObject).min(1)]),
  now: fn<() => number>("now").optional(),
  gzip: z.boolean().optional(),
});
const checkSubmitOptions = optionsChecker<SubmitTlsReportOptions>("options", {
  report: anyObject,
  policyDomain: z.string(),
  rua: z.array(anyObject),
  transports: z.object({ mail: fn<ReportMailTransport>("mail").optional(), https: fn<ReportHttpsTransport>("https").optional() }).strict(),
  from: z.string().optional(),
  dkim: z.union([anyObject, z.array(anyObject).min(1)]).optional(),
  timeoutMs: timerMs.optional(),
  now: fn<() => number>("now").optional(),
});
// No controls (C0, DEL, C1) in the local part: the address is written into From:/To: (header-field.ts).
const ADDRESS = /^[^@\s<>"(),;:\\[\]\u0000-\u001f\u007f-\u009f]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function wrap64(data: Uint8Array): string {
  const b64 = Buffer.from(data).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join("\r\n");
}

/**
 * Builds the report email of RFC 8460 5.3, DKIM-signed: `multipart/report; report-type="tlsrpt"` with a
 * text part and the report as `application/tlsrpt+gzip` (or `+json`), the RFC's Subject, and the
 * TLS-Report-Domain and TLS-Report-Submitter fields (the submitter is the domain of contact-info, as
 * RFC 8460 5.3 requires). Throws OptionsError for bad options.
 */
export async function buildTlsReportEmail(options: TlsReportEmailOptions): Promise<Buffer> {
  checkEmailOptions(options);
  const { report, policyDomain, from, to } = options;
  if (!report || typeof report.contactInfo !== "string") throw invalidOption("options.report", "buildTlsReportEmail: report is required");
  if (typeof policyDomain !== "string" || !DOMAIN.test(policyDomain))
    throw invalidOption("options.policyDomain", "buildTlsReportEmail: policyDomain must be an A-label domain");
  if (typeof from !== "string" || !ADDRESS.test(from)) throw invalidOption("options.from", "buildTlsReportEmail: from must be an address");
  if (typeof to !== "string" || !ADDRESS.test(to)) throw invalidOption("options.to", "buildTlsReportEmail: to must be an address");
  const submitter = report.contactInfo.slice(report.contactInfo.lastIndexOf("@") + 1).toLowerCase();
  if (!DOMAIN.test(submitter))
    throw invalidOption("options.report.contactInfo", "buildTlsReportEmail: the report's contactInfo has no domain");
  const dkims = Array.isArray(options.dkim) ? options.dkim : [options.dkim as DkimSignOptions];
  if (dkims.length === 0) throw invalidOption("options.dkim", "buildTlsReportEmail: a DKIM signing key is required (RFC 8460 3)");
  for (const d of dkims) {
    if (d.bodyLength)
      throw invalidOption("options.dkim.bodyLength", "buildTlsReportEmail: DKIM signatures of reports MUST NOT use l= (RFC 8460 3)");
    const dd = String(d.domain ?? "").toLowerCase();
    if (submitter !== dd && !submitter.endsWith(`.${dd}`))
      throw invalidOption("options.dkim.domain", `buildTlsReportEmail: DKIM domain ${d.domain} is not the submitter's (${submitter})`);
  }
  const gzip = options.gzip !== false;
  const now = (options.now ?? Date.now)();
  const boundary = `tlsrpt-${randomBytes(12).toString("hex")}`;
  const filename = tlsReportFilename(report, policyDomain, { gzip });
  const body = gzip ? gzipTlsReport(report) : new TextEncoder().encode(serializeTlsReport(report));
  const reportId = report.reportId.includes("@") ? report.reportId : `${report.reportId}@${submitter}`;
  const headers = [
    `From: ${from}`,
    `To: ${to}`,
    `Date: ${new Date(now).toUTCString().replace("GMT", "+0000")}`,
    `Subject: Report Domain: ${policyDomain}`,
    ` Submitter: ${submitter}`,
    ` Report-ID: <${headerText(reportId).replace(/[<>\s]/g, "")}>`,
    `Message-ID: <${randomBytes(12).toString("hex")}@${submitter}>`,
    `TLS-Report-Domain: ${policyDomain}`,
    `TLS-Report-Submitter: ${submitter}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type="tlsrpt";`,
    ` boundary="${boundary}"`,
  ];
  const text = `This is an aggregate TLS report from ${submitter} about ${policyDomain}\r\nfor ${report.dateRange.startDatetime} to ${report.dateRange.endDatetime}.\r\n`;
  const message = [
    ...headers,
    "",
    "This is a multipart message in MIME format.",
    "",
    `--${boundary}`,
    'Content-Type: text/plain; charset="us-ascii"',
    "Content-Transfer-Encoding: 7bit",
    "",
    text,
    `--${boundary}`,
    `Content-Type: application/tlsrpt+${gzip ? "gzip" : "json"}`,
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment;",
    ` filename="${filename}"`,
    "",
    wrap64(body),
    `--${boundary}--`,
    "",
  ].join("\r\n");
  const signed = dkims.map((d) => ({
    ...d,
    bodyLength: false,
    headers: [...(d.headers ?? DEFAULT_SIGNED_HEADERS), "tls-report-domain", "tls-report-submitter"],
  }));
  return signMessage(message, signed);
}

/** Sends one email: the envelope and the raw message (nodemailer's `envelope` + `raw` fit). */
export type ReportMailTransport = (envelope: { from: string; to: string[] }, raw: Buffer) => Promise<void>;
/** POSTs one report; resolves with the HTTP status. */
export type ReportHttpsTransport = (url: string, body: Uint8Array, headers: Record<string, string>) => Promise<{ status: number }>;

export interface SubmitTlsReportOptions {
  report: TlsReport;
  policyDomain: string;
  /** The destinations from the domain's `_smtp._tls` record. */
  rua: readonly TlsRptDestination[];
  transports: { mail?: ReportMailTransport; https?: ReportHttpsTransport };
  /** For mail: From address and DKIM keys (see {@link buildTlsReportEmail}). */
  from?: string;
  dkim?: DkimSignOptions | readonly DkimSignOptions[];
  /** Milliseconds each delivery may take. Default 30000. */
  timeoutMs?: number;
  now?: () => number;
}

export interface SubmitResult {
  /** True when at least one destination accepted the report (RFC 8460 3). */
  delivered: boolean;
  attempts: Array<{ uri: string; ok: boolean; detail: string }>;
}

async function withDeadline<T>(work: () => Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(work),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Delivers a report to every supported destination of the record through the injected transports:
 * mailto: as the DKIM-signed report email, https: as a POST of the gzipped report
 * (`application/tlsrpt+gzip`); a 2xx answer is success (RFC 8460 5.4). Never throws for a delivery
 * failure: each attempt is in the result.
 */
export async function submitTlsReport(options: SubmitTlsReportOptions): Promise<SubmitResult> {
  checkSubmitOptions(options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const attempts: SubmitResult["attempts"] = [];
  const gz = gzipTlsReport(options.report);
  for (const dest of options.rua) {
    try {
      if (dest.scheme === "https") {
        const post = options.transports.https;
        if (!post) {
          attempts.push({ uri: dest.uri, ok: false, detail: "no https transport" });
          continue;
        }
        const r = await withDeadline(() => post(dest.url, gz, { "content-type": "application/tlsrpt+gzip" }), timeoutMs);
        const ok = r.status >= 200 && r.status < 300;
        attempts.push({ uri: dest.uri, ok, detail: `HTTP ${r.status}` });
      } else {
        const mail = options.transports.mail;
        if (!mail || !options.from || !options.dkim) {
          attempts.push({ uri: dest.uri, ok: false, detail: "no mail transport, from or dkim" });
          continue;
        }
        const raw = await buildTlsReportEmail({
          report: options.report,
          policyDomain: options.policyDomain,
          from: options.from,
          to: dest.address,
          dkim: options.dkim,
          ...(options.now ? { now: options.now } : {}),
        });
        await withDeadline(() => mail({ from: options.from!, to: [dest.address] }, raw), timeoutMs);
        attempts.push({ uri: dest.uri, ok: true, detail: "accepted" });
      }
    } catch (err) {
      if (err instanceof OptionsError && err.message.startsWith("buildTlsReportEmail")) throw err;
      attempts.push({ uri: dest.uri, ok: false, detail: describeError(err) });
    }
  }
  return { delivered: attempts.some((a) => a.ok), attempts };
}

/**
 * An HTTPS transport on `node:https`: certificates are verified (RFC 8460 3 allows skipping that; this
 * does not), redirects are not followed, the answer body is discarded. `ca` replaces the trusted roots.
 */
export function createNodeReportPoster(
  options: { ca?: string | Buffer | Array<string | Buffer>; timeoutMs?: number } = {},
): ReportHttpsTransport {
  checkOptionKeys(options, ["ca", "timeoutMs"], "options", (key) => `createNodeReportPoster: unknown option "${key}"`);
  checkTimerMs(options.timeoutMs, "options.timeoutMs");
  const timeoutMs = options.timeoutMs ?? 30_000;
  return (url, body, headers) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      if (u.protocol !== "https:") return reject(new Error("only https: URLs"));
      const r = request(
        u,
        {
          method: "POST",
          headers: { ...headers, "content-length": String(body.length) },
          agent: false,
          minVersion: "TLSv1.2",
          signal: AbortSignal.timeout(timeoutMs),
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
          res.on("error", reject);
        },
      );
      r.on("error", reject);
      r.end(body);
    });
}
