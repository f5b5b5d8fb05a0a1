import type PostalMime from "postal-mime";
import { postalMime } from "../deps.js";
import { checkOptionKeys } from "../options.js";
import { mimeTooComplex } from "./mime-guard.js";

/** A parsed ARF authentication failure report (RFC 5965, RFC 6591, RFC 9991). */
export interface FailureReport {
  feedbackType: string;
  version?: string;
  userAgent?: string;
  /** Auth-Failure: dmarc, signature, bodyhash, spf, adsp, revoked. */
  authFailure?: string;
  reportedDomain?: string;
  sourceIp?: string;
  arrivalDate?: string;
  originalMailFrom?: string;
  originalRcptTo: string[];
  originalEnvelopeId?: string;
  authenticationResults: string[];
  /** RFC 9991: mechanisms that failed to authenticate an aligned identity; [] for "none". */
  identityAlignment?: string[];
  deliveryResult?: string;
  dkim?: { domain?: string; identity?: string; selector?: string };
  spfDns?: string;
  /** Every field of the message/feedback-report part, by lower-case name. */
  fields: Record<string, string[]>;
  /** The original message (message/rfc822) or its header block (text/rfc822-headers). */
  original?: { kind: "message" | "headers"; raw: Uint8Array; subject?: string; from?: string };
  /** The report email's own Subject. */
  subject?: string;
}

export type FailureReportParse =
  | { ok: true; report: FailureReport }
  | { ok: false; error: { code: "too-large" | "malformed-mime" | "mime-limits" | "not-arf"; message: string } };

/** Header-style fields (unfolded), at most maxFields. */
function readFields(text: string, maxFields = 1000): Record<string, string[]> {
  // Keyed by input: no prototype, so "__proto__" or "constructor" is an ordinary field name.
  const out: Record<string, string[]> = Object.create(null);
  const lines = text.split(/\r?\n/);
  let count = 0;
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (!current) return;
    (out[current.name] ??= []).push(current.value.trim());
    current = undefined;
  };
  for (const line of lines) {
    if (line === "") {
      flush();
      continue;
    }
    if ((line[0] === " " || line[0] === "\t") && current) {
      current.value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    if (colon <= 0 || ++count > maxFields) continue;
    current = { name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) };
  }
  flush();
  return out;
}

/**
 * Parses a failure report email (ARF: multipart/report; report-type=feedback-report) into typed
 * data, with the original message or headers. Never throws for bad input.
 */
export async function parseFailureReport(input: Uint8Array | string, limits: { maxInputBytes?: number } = {}): Promise<FailureReportParse> {
  checkOptionKeys(limits, ["maxInputBytes"], "limits", (k) => `unknown limit ${k}`);
  const data = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const max = limits.maxInputBytes ?? 20 * 1024 * 1024;
  if (data.length > max) return { ok: false, error: { code: "too-large", message: `the report is ${data.length} bytes, over ${max}` } };
  const complex = mimeTooComplex(data);
  if (complex) return { ok: false, error: { code: "mime-limits", message: complex } };
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await postalMime().parse(data, {
      forceRfc822Attachments: true,
      attachmentEncoding: "arraybuffer",
      maxNestingDepth: 20,
      maxHeadersSize: 1024 * 1024,
    });
  } catch (err) {
    return { ok: false, error: { code: "malformed-mime", message: `the email could not be parsed: ${(err as Error).message}` } };
  }
  const feedback = email.attachments.find((a) => a.mimeType.toLowerCase() === "message/feedback-report");
  if (!feedback) return { ok: false, error: { code: "not-arf", message: "no message/feedback-report part" } };
  const fields = readFields(Buffer.from(feedback.content as ArrayBuffer).toString("latin1"));
  const one = (name: string) => fields[name]?.[0];
  const feedbackType = one("feedback-type");
  if (!feedbackType) return { ok: false, error: { code: "not-arf", message: "the feedback report has no Feedback-Type" } };
  const report: FailureReport = {
    feedbackType: feedbackType.toLowerCase(),
    originalRcptTo: fields["original-rcpt-to"] ?? [],
    authenticationResults: fields["authentication-results"] ?? [],
    fields,
  };
  const set = <K extends keyof FailureReport>(key: K, value: FailureReport[K] | undefined) => {
    if (value !== undefined) report[key] = value;
  };
  set("version", one("version"));
  set("userAgent", one("user-agent"));
  set("authFailure", one("auth-failure")?.toLowerCase());
  set("reportedDomain", one("reported-domain")?.toLowerCase());
  set("sourceIp", one("source-ip"));
  set("arrivalDate", one("arrival-date") ?? one("received-date"));
  set("originalMailFrom", one("original-mail-from"));
  set("originalEnvelopeId", one("original-envelope-id"));
  set("deliveryResult", one("delivery-result")?.toLowerCase());
  set("spfDns", one("spf-dns"));
  set("subject", email.subject);
  const alignment = one("identity-alignment");
  if (alignment !== undefined) {
    const list = alignment
      .toLowerCase()
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    report.identityAlignment = list.length === 1 && list[0] === "none" ? [] : list;
  }
  if (one("dkim-domain") || one("dkim-identity") || one("dkim-selector")) {
    const dkim: NonNullable<FailureReport["dkim"]> = {};
    if (one("dkim-domain")) dkim.domain = one("dkim-domain")!.toLowerCase();
    if (one("dkim-identity")) dkim.identity = one("dkim-identity")!;
    if (one("dkim-selector")) dkim.selector = one("dkim-selector")!;
    report.dkim = dkim;
  }
  const orig = email.attachments.find((a) => /^(?:message\/rfc822|text\/rfc822-headers|message\/rfc822-headers)$/i.test(a.mimeType));
  if (orig) {
    const raw = new Uint8Array(orig.content as ArrayBuffer);
    const headers = readFields(
      Buffer.from(raw)
        .toString("latin1")
        .split(/\r?\n\r?\n/, 1)[0] ?? "",
    );
    const original: NonNullable<FailureReport["original"]> = {
      kind: orig.mimeType.toLowerCase() === "message/rfc822" ? "message" : "headers",
      raw,
    };
    if (headers.subject?.[0]) original.subject = headers.subject[0];
    if (headers.from?.[0]) original.from = headers.from[0];
    report.original = original;
  }
  return { ok: true, report };
}
