import { z } from "zod";
import { fflate } from "../deps.js";
import { checkOptionKeys, invalidOption } from "../options.js";

/** RFC 8460 4.3 result types. Reports from others may carry newer ones: parsing keeps any string. */
export const TLSRPT_RESULT_TYPES = [
  "starttls-not-supported",
  "certificate-host-mismatch",
  "certificate-expired",
  "certificate-not-trusted",
  "validation-failure",
  "tlsa-invalid",
  "dnssec-invalid",
  "dane-required",
  "sts-policy-fetch-error",
  "sts-policy-invalid",
  "sts-webpki-invalid",
] as const;
export type TlsRptResultType = (typeof TLSRPT_RESULT_TYPES)[number];

/** The applied policy a report section is about (RFC 8460 4.4). */
export interface TlsReportPolicyId {
  type: "sts" | "tlsa" | "no-policy-found";
  /** The policy lines (RFC 8460 4.5); empty for no-policy-found. */
  string: string[];
  /** The Policy Domain, A-labels. */
  domain: string;
  /** For sts: the policy's mx patterns. */
  mxHost: string[];
}

export interface TlsFailureDetail {
  resultType: string;
  sendingMtaIp?: string;
  receivingMxHostname?: string;
  receivingMxHelo?: string;
  receivingIp?: string;
  failedSessionCount: number;
  additionalInformation?: string;
  failureReasonCode?: string;
}

export interface TlsReportPolicy {
  policy: TlsReportPolicyId;
  summary: { totalSuccessfulSessionCount: number; totalFailureSessionCount: number };
  failureDetails: TlsFailureDetail[];
}

/** An aggregate TLS report (RFC 8460 4.4) as typed data. */
export interface TlsReport {
  organizationName: string;
  dateRange: { startDatetime: string; endDatetime: string };
  contactInfo: string;
  reportId: string;
  policies: TlsReportPolicy[];
}

/** The report as RFC 8460 4.4 JSON (its field names). */
export function tlsReportToJson(report: TlsReport): Record<string, unknown> {
  return {
    "organization-name": report.organizationName,
    "date-range": { "start-datetime": report.dateRange.startDatetime, "end-datetime": report.dateRange.endDatetime },
    "contact-info": report.contactInfo,
    "report-id": report.reportId,
    policies: report.policies.map((p) => ({
      policy: {
        "policy-type": p.policy.type,
        "policy-string": p.policy.string,
        "policy-domain": p.policy.domain,
        ...(p.policy.type === "no-policy-found" && p.policy.mxHost.length === 0 ? {} : { "mx-host": p.policy.mxHost }),
      },
      summary: {
        "total-successful-session-count": p.summary.totalSuccessfulSessionCount,
        "total-failure-session-count": p.summary.totalFailureSessionCount,
      },
      ...(p.failureDetails.length > 0
        ? {
            "failure-details": p.failureDetails.map((f) => ({
              "result-type": f.resultType,
              ...(f.sendingMtaIp !== undefined ? { "sending-mta-ip": f.sendingMtaIp } : {}),
              ...(f.receivingMxHostname !== undefined ? { "receiving-mx-hostname": f.receivingMxHostname } : {}),
              ...(f.receivingMxHelo !== undefined ? { "receiving-mx-helo": f.receivingMxHelo } : {}),
              ...(f.receivingIp !== undefined ? { "receiving-ip": f.receivingIp } : {}),
              "failed-session-count": f.failedSessionCount,
              ...(f.additionalInformation !== undefined ? { "additional-information": f.additionalInformation } : {}),
              ...(f.failureReasonCode !== undefined ? { "failure-reason-code": f.failureReasonCode } : {}),
            })),
          }
        : {}),
    })),
  };
}

/** The report's JSON text (I-JSON, RFC 7493). */
export function serializeTlsReport(report: TlsReport): string {
  return JSON.stringify(tlsReportToJson(report));
}

/** The report gzipped (RFC 8460 5.2), with a fixed mtime so equal reports give equal bytes. */
export function gzipTlsReport(report: TlsReport): Uint8Array {
  return fflate().gzipSync(new TextEncoder().encode(serializeTlsReport(report)), { mtime: 0 });
}

/**
 * The RFC 8460 5.1 file name: `sender!policy-domain!begin!end[!unique-id].json[.gz]`, times in epoch
 * seconds.
 */
export function tlsReportFilename(report: TlsReport, policyDomain: string, options: { gzip?: boolean; uniqueId?: string } = {}): string {
  const sender = report.contactInfo.slice(report.contactInfo.lastIndexOf("@") + 1);
  const begin = Math.floor(instant(report.dateRange.startDatetime) / 1000);
  const end = Math.floor(instant(report.dateRange.endDatetime) / 1000);
  checkOptionKeys(options, ["gzip", "uniqueId"], "options", (k) => `tlsReportFilename: unknown option "${k}"`);
  if (options.uniqueId !== undefined && !/^[A-Za-z0-9]+$/.test(options.uniqueId))
    throw invalidOption("options.uniqueId", "tlsReportFilename: uniqueId must be letters and digits");
  return `${sender}!${policyDomain}!${begin}!${end}${options.uniqueId ? `!${options.uniqueId}` : ""}.${options.gzip === false ? "json" : "json.gz"}`;
}

// RFC 3339 5.6 date-time
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 5.7: a real date and time (month 01-12, the month's days, leap years; 23:59:60 a leap second). */
export function isRealDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (days === undefined || d < 1 || d > days || h > 23 || mi > 59 || sec > 60) return false;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  return true;
}

// The instant of a date-time, a leap second read as the second before it; NaN when not a date-time.
const instant = (s: string) => (isRealDateTime(s) ? Date.parse(s.replace(/:60(?=[.Zz+-])/, ":59")) : Number.NaN);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const str = (max: number) => z.string().max(max);

/** RFC 8460 4.4 in zod: types checked, sizes bounded; unknown fields are allowed and dropped. */
export const tlsReportJsonSchema = z.object({
  "organization-name": str(1024),
  "date-range": z
    .object({
      "start-datetime": str(64).refine(isRealDateTime, "not an RFC 3339 date-time"),
      "end-datetime": str(64).refine(isRealDateTime, "not an RFC 3339 date-time"),
    })
    .refine((r) => !(instant(r["start-datetime"]) > instant(r["end-datetime"])), "the date range begins after it ends"),
  "contact-info": str(1024),
  "report-id": str(1024),
  // RFC 8460 4: MUST be an array even with one policy
  policies: z
    .array(
      z.object({
        policy: z.object({
          "policy-type": z.enum(["sts", "tlsa", "no-policy-found"]),
          "policy-string": z.array(str(4096)).max(10_000).optional(),
          "policy-domain": str(255),
          "mx-host": z.union([z.array(str(255)).max(10_000), str(255)]).optional(),
        }),
        summary: z.object({ "total-successful-session-count": count, "total-failure-session-count": count }),
        "failure-details": z
          .array(
            z.object({
              "result-type": str(128),
              "sending-mta-ip": str(64).optional(),
              "receiving-mx-hostname": str(255).optional(),
              "receiving-mx-helo": str(1024).optional(),
              "receiving-ip": str(64).optional(),
              "failed-session-count": count,
              "additional-information": str(4096).optional(),
              "failure-reason-code": str(4096).optional(),
            }),
          )
          .max(100_000)
          .optional(),
      }),
    )
    .max(100_000),
});

/** Typed data from report JSON already checked by {@link tlsReportJsonSchema}. */
export function tlsReportFromJson(json: z.infer<typeof tlsReportJsonSchema>): TlsReport {
  return {
    organizationName: json["organization-name"],
    dateRange: { startDatetime: json["date-range"]["start-datetime"], endDatetime: json["date-range"]["end-datetime"] },
    contactInfo: json["contact-info"],
    reportId: json["report-id"],
    policies: json.policies.map((p) => {
      const mx = p.policy["mx-host"];
      return {
        policy: {
          type: p.policy["policy-type"],
          string: p.policy["policy-string"] ?? [],
          domain: p.policy["policy-domain"],
          mxHost: mx === undefined ? [] : typeof mx === "string" ? [mx] : mx,
        },
        summary: {
          totalSuccessfulSessionCount: p.summary["total-successful-session-count"],
          totalFailureSessionCount: p.summary["total-failure-session-count"],
        },
        failureDetails: (p["failure-details"] ?? []).map((f) => {
          const d: TlsFailureDetail = { resultType: f["result-type"], failedSessionCount: f["failed-session-count"] };
          if (f["sending-mta-ip"] !== undefined) d.sendingMtaIp = f["sending-mta-ip"];
          if (f["receiving-mx-hostname"] !== undefined) d.receivingMxHostname = f["receiving-mx-hostname"];
          if (f["receiving-mx-helo"] !== undefined) d.receivingMxHelo = f["receiving-mx-helo"];
          if (f["receiving-ip"] !== undefined) d.receivingIp = f["receiving-ip"];
          if (f["additional-information"] !== undefined) d.additionalInformation = f["additional-information"];
          if (f["failure-reason-code"] !== undefined) d.failureReasonCode = f["failure-reason-code"];
          return d;
        }),
      };
    }),
  };
}
