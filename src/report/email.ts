import { randomBytes } from "node:crypto";
import { type DkimSignOptions, signDkim } from "../dkim/sign.js";
import { checkOptionKeys } from "../options.js";
import type { GeneratedReport, ReporterIdentity } from "./generate.js";
import { headerText } from "./header-field.js";

/** RFC 5322 date-time in UTC. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** ISO 8601 of a time in seconds, or "?" when it is not a date. */
const isoTime = (seconds: number) => {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? "?" : d.toISOString();
};

/** Base64 in 76-column lines (RFC 2045 6.8). */
export function base64Lines(data: Uint8Array): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join("\r\n");
}

// Every generated value goes through headerText (header-field.ts); the message is written as UTF-8.
const headerSafe = headerText;
// A quoted MIME parameter value (RFC 2045): no quote or backslash to end it early.
const quotedParam = (s: string) => headerText(s).replace(/["\\]/g, "_");

/** A display name as one quoted-string (RFC 5322 3.2.4), or an encoded word when it is not ASCII. */
export function displayName(name: string): string {
  const clean = headerText(name).trim();
  if (clean === "") return "";
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/["\\]/g, "\\$&")}" `;
  return `=?utf-8?B?${Buffer.from(clean, "utf8").toString("base64")}?= `;
}

/**
 * The aggregate report email (RFC 9990 3.5.2): Subject "Report Domain: <policy domain> Submitter:
 * <receiver> Report-ID: <id>", multipart/mixed with a short text part and the gzip attachment named
 * as the RFC gives; Message-ID carries the report ID. Signed with DKIM when `dkim` is given (report
 * mail MUST pass DMARC: sign with a domain aligned with `identity.email`). CRLF line endings.
 */
export async function reportEmail(
  report: GeneratedReport,
  to: string,
  identity: ReporterIdentity,
  options: { dkim?: DkimSignOptions | readonly DkimSignOptions[]; now?: () => number } = {},
): Promise<Uint8Array> {
  checkOptionKeys(options, ["dkim", "now"], "options", (k) => `options.${k}: unknown option (known: dkim, now)`);
  const boundary = `=_msgauth_${randomBytes(12).toString("hex")}`;
  const rid = report.metadata.reportId;
  const begin = isoTime(report.metadata.begin);
  const end = isoTime(report.metadata.end + 1);
  const head = [
    `From: ${displayName(identity.orgName)}<${headerSafe(identity.email)}>`,
    `To: <${headerSafe(to)}>`,
    `Subject: Report Domain: ${headerSafe(report.policyDomain)}\r\n Submitter: ${headerSafe(identity.receiver)}\r\n Report-ID: <${headerSafe(rid)}>`,
    `Date: ${rfc5322Date(options.now?.() ?? Date.now())}`,
    `Message-ID: <${headerSafe(rid).replace(/[<>\s]/g, "")}>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
  ];
  const text =
    `This is a DMARC aggregate report (RFC 9990) from ${headerSafe(identity.receiver)} for ${headerSafe(report.policyDomain)},\r\n` +
    `covering ${begin} to ${end}: ${report.messages} messages in ${report.records} records.\r\n`;
  const body = [
    "This is a multi-part message in MIME format.",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 7bit",
    "",
    text,
    `--${boundary}`,
    `Content-Type: application/gzip; name="${quotedParam(report.filename)}"`,
    `Content-Disposition: attachment; filename="${quotedParam(report.filename)}"`,
    "Content-Transfer-Encoding: base64",
    "",
    base64Lines(report.gzip),
    `--${boundary}--`,
    "",
  ];
  const message = `${head.join("\r\n")}\r\n\r\n${body.join("\r\n")}`;
  if (!options.dkim) return Buffer.from(message, "utf8");
  const now = options.now;
  const withClock = (o: DkimSignOptions): DkimSignOptions => (o.now || !now ? o : { ...o, now });
  const dkim = Array.isArray(options.dkim) ? options.dkim.map(withClock) : withClock(options.dkim as DkimSignOptions);
  const signature = await signDkim(message, dkim);
  return Buffer.from(signature + message, "utf8");
}
