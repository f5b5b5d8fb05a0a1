import { randomUUID } from "node:crypto";
import { stripControls } from "../message/fold.js";
import { findHeaderEnd } from "../message/split.js";
import { checkDsnOptions } from "../options.js";
import { isEnhancedCode, type Reply } from "../smtp/reply.js";

export interface DsnRecipient {
  /** Final-Recipient: the address the attempt was for. */
  address: string;
  /** Original-Recipient from ORCPT ("rfc822;addr"), when the client gave one. */
  originalRecipient?: string;
  action: "failed" | "delayed" | "delivered" | "relayed" | "expanded";
  /** Status: an RFC 3463 code, e.g. "5.1.1". */
  status: string;
  /** The reply of the remote server (Diagnostic-Code: smtp; ...). */
  reply?: Reply;
  /** Remote-MTA: the server that gave the reply. */
  remoteMta?: string;
  lastAttempt?: Date;
  /** Will-Retry-Until, for delayed. */
  retryUntil?: Date;
}

export interface DsnOptions {
  /** Reporting-MTA: this server's name. */
  reportingMta: string;
  /** From of the report. Default MAILER-DAEMON@<reportingMta>. */
  from?: string;
  /** The original transaction: MAIL FROM (the report goes there), ENVID and RET. */
  envelope: { mailFrom: string; envid?: string; ret?: "FULL" | "HDRS" };
  recipients: DsnRecipient[];
  /** The original message. */
  original: Uint8Array;
  arrivalDate?: Date;
  now?: () => number;
  /** For reproducible output. */
  boundary?: string;
  messageId?: string;
}

export type DsnBuild = { ok: true; to: string; message: Buffer } | { ok: false; reason: string };

/** RFC 5322 date-time, "+0000" zone. */
export function formatDate(d: Date): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const clean = (s: string) => stripControls(s.replace(/[\r\n]+/g, " ")).trim();

/**
 * Builds a delivery status notification (RFC 3464, RFC 6522 multipart/report) from the envelope and
 * the remote server's reply. Never bounces to the null sender (RFC 5321 4.5.5, RFC 3461 6.2): that
 * would loop. RET=FULL returns the whole message, otherwise its header only.
 */
export function buildDsn(options: DsnOptions): DsnBuild {
  checkDsnOptions(options);
  const to = options.envelope.mailFrom.replace(/^<|>$/g, "").trim();
  if (to === "") return { ok: false, reason: "the original sender is null (<>): no report is sent (RFC 5321 4.5.5)" };
  if (/[\r\n]/.test(to)) return { ok: false, reason: "the original sender is not a valid address" };
  if (options.recipients.length === 0) return { ok: false, reason: "no recipients to report" };
  for (const r of options.recipients)
    if (!isEnhancedCode(r.status)) return { ok: false, reason: `status ${r.status} is not an RFC 3463 code` };
  const now = new Date(options.now?.() ?? Date.now());
  const host = clean(options.reportingMta);
  const boundary = options.boundary ?? `msgauth-${randomUUID()}`;
  const failed = options.recipients.some((r) => r.action === "failed");
  const subject = failed
    ? "Undelivered Mail Returned to Sender"
    : options.recipients.every((r) => r.action === "delayed")
      ? "Delayed Mail (still being retried)"
      : "Delivery Status Notification";
  const human: string[] = [`This is the mail system at ${host}.`, ""];
  for (const r of options.recipients) {
    const why = r.reply ? `${r.reply.code} ${r.reply.enhanced ?? ""} ${r.reply.lines.join(" ")}`.replace(/\s+/g, " ") : r.status;
    human.push(`<${clean(r.address)}>: ${r.action}${r.remoteMta ? ` (${clean(r.remoteMta)} said: ${clean(why)})` : ` (${clean(why)})`}`);
  }
  const perMessage = [`Reporting-MTA: dns; ${host}`];
  if (options.envelope.envid) perMessage.push(`Original-Envelope-Id: ${clean(options.envelope.envid)}`);
  if (options.arrivalDate) perMessage.push(`Arrival-Date: ${formatDate(options.arrivalDate)}`);
  const perRecipient = options.recipients.map((r) => {
    const f: string[] = [];
    if (r.originalRecipient)
      f.push(`Original-Recipient: ${clean(r.originalRecipient.includes(";") ? r.originalRecipient : `rfc822;${r.originalRecipient}`)}`);
    f.push(`Final-Recipient: rfc822; ${clean(r.address)}`, `Action: ${r.action}`, `Status: ${r.status}`);
    if (r.remoteMta) f.push(`Remote-MTA: dns; ${clean(r.remoteMta)}`);
    if (r.reply)
      f.push(
        `Diagnostic-Code: smtp; ${clean(`${r.reply.code} ${r.reply.enhanced ? `${r.reply.enhanced} ` : ""}${r.reply.lines.join(" ")}`)}`,
      );
    if (r.lastAttempt) f.push(`Last-Attempt-Date: ${formatDate(r.lastAttempt)}`);
    if (r.retryUntil) f.push(`Will-Retry-Until: ${formatDate(r.retryUntil)}`);
    return f.join("\r\n");
  });
  const full = options.envelope.ret === "FULL";
  const original = Buffer.from(options.original);
  const headerEnd = findHeaderEnd(original);
  const returned = full ? original : original.subarray(0, headerEnd < 0 ? original.length : headerEnd);
  const head = [
    `From: Mail Delivery System <${clean(options.from ?? `MAILER-DAEMON@${host}`)}>`,
    `To: <${clean(to)}>`,
    `Subject: ${subject}`,
    `Date: ${formatDate(now)}`,
    `Message-ID: <${clean(options.messageId ?? `${randomUUID()}@${host}`)}>`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"`,
    "",
    "This is a MIME-encapsulated message.",
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Description: Notification",
    "",
    ...human,
    "",
    `--${boundary}`,
    "Content-Type: message/delivery-status",
    "Content-Description: Delivery report",
    "",
    perMessage.join("\r\n"),
    "",
    perRecipient.join("\r\n\r\n"),
    "",
    `--${boundary}`,
    `Content-Type: ${full ? "message/rfc822" : "text/rfc822-headers"}`,
    `Content-Description: ${full ? "Undelivered Message" : "Undelivered Message Headers"}`,
    "",
    "",
  ].join("\r\n");
  const tail = `\r\n--${boundary}--\r\n`;
  return { ok: true, to, message: Buffer.concat([Buffer.from(head), returned, Buffer.from(tail)]) };
}
