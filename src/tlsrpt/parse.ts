import type PostalMime from "postal-mime";
import { fflate, postalMime } from "../deps.js";
import { verifyDkim } from "../dkim/verify.js";
import type { Resolver } from "../dns/types.js";
import { describeError } from "../errors.js";
import { invalidOption, unknownOption } from "../options.js";
import { mimeTooComplex } from "../report/mime-guard.js";
import { type TlsReport, tlsReportFromJson, tlsReportJsonSchema } from "./report.js";

export type TlsReportErrorCode =
  /** The input (or the report inside an email) is larger than allowed. */
  | "too-large"
  /** gzip data that inflates past the cap: refused before it is all inflated. */
  | "decompression-limit"
  | "bad-gzip"
  | "not-utf8"
  | "not-json"
  /** JSON nested deeper than `maxDepth`: refused before parsing. */
  | "too-deep"
  /** JSON that is not an RFC 8460 report (a field missing or of the wrong type). */
  | "invalid-report"
  /** An email that is not a TLS report (no tlsrpt part, no TLS-Report-Domain/Submitter). */
  | "not-a-report-email"
  /** An email with more MIME boundary lines than a report needs (see report/mime-guard.ts): refused before MIME parsing. */
  | "mime-limits"
  /** An email whose DKIM signature does not pass for the submitter's domain (RFC 8460 3: MUST be ignored). */
  | "dkim"
  | "submitter-mismatch"
  | "bad-input";

/** Why a report was refused: a value, never thrown. */
export interface TlsReportError {
  code: TlsReportErrorCode;
  message: string;
}

export type TlsReportParse = { ok: true; report: TlsReport; compressed: boolean } | { ok: false; error: TlsReportError };

export interface TlsReportLimits {
  /** Largest input accepted, bytes. Default 10 MiB. */
  maxBytes?: number;
  /** Largest JSON after inflating, bytes. Default 20 MiB. */
  maxJsonBytes?: number;
  /** Deepest JSON nesting accepted. Default 16 (a report needs 5). */
  maxDepth?: number;
}

const MiB = 1024 * 1024;
const fail = (code: TlsReportErrorCode, message: string): TlsReportParse => ({ ok: false, error: { code, message } });

function limitsOf(options: TlsReportLimits | undefined): Required<TlsReportLimits> {
  const out = { maxBytes: 10 * MiB, maxJsonBytes: 20 * MiB, maxDepth: 16 };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (!(key in out)) throw unknownOption(`options.${key}`, `TLS report limits: unknown option "${key}"`);
    if (!Number.isSafeInteger(value) || (value as number) < 1)
      throw invalidOption(`options.${key}`, `TLS report limits: ${key} must be a positive integer`);
    out[key as keyof typeof out] = value as number;
  }
  return out;
}

/** Inflates gzip data, stopping as soon as the output passes `cap` (a gzip bomb costs at most `cap` bytes). */
export function gunzipCapped(
  data: Uint8Array,
  cap: number,
): { ok: true; data: Uint8Array } | { ok: false; code: "decompression-limit" | "bad-gzip"; message: string } {
  const parts: Uint8Array[] = [];
  let size = 0;
  let over = false;
  let done = false;
  const gunzip = new (fflate().Gunzip)((chunk, final) => {
    size += chunk.length;
    if (size > cap) over = true;
    else parts.push(chunk);
    if (final) done = true;
  });
  try {
    // small slices: deflate expands at most ~1032:1, so one slice never inflates past ~1 MiB at once
    const step = 1024;
    for (let i = 0; i < data.length && !over; i += step)
      gunzip.push(data.subarray(i, Math.min(data.length, i + step)), i + step >= data.length);
  } catch (err) {
    return { ok: false, code: "bad-gzip", message: `not valid gzip: ${describeError(err)}` };
  }
  if (over) return { ok: false, code: "decompression-limit", message: `the report inflates past ${cap} bytes` };
  if (!done) return { ok: false, code: "bad-gzip", message: "the gzip data is truncated" };
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { ok: true, data: out };
}

/** The deepest nesting of arrays and objects in JSON text, scanned linearly (strings skipped). */
export function jsonDepth(text: string, stopAt: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAt) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * Parses a received TLS report (RFC 8460 4.4): JSON text or bytes, or gzip (detected by its magic
 * bytes). Every hostile form is a typed error value: over-large input, gzip bombs (inflation stops at
 * `maxJsonBytes`), invalid UTF-8, deep nesting (refused before JSON.parse), wrong types. Never throws
 * for content; throws OptionsError for bad limits.
 */
export function parseTlsReport(input: Uint8Array | string, limits?: TlsReportLimits): TlsReportParse {
  const lim = limitsOf(limits);
  let bytes: Uint8Array;
  if (typeof input === "string") {
    if (input.length > lim.maxBytes) return fail("too-large", `the report is over ${lim.maxBytes} bytes`);
    bytes = new TextEncoder().encode(input);
  } else if (input instanceof Uint8Array) bytes = input;
  else return fail("bad-input", "a report is a string or a Uint8Array");
  if (bytes.length > lim.maxBytes) return fail("too-large", `the report is over ${lim.maxBytes} bytes`);
  const compressed = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (compressed) {
    const inflated = gunzipCapped(bytes, lim.maxJsonBytes);
    if (!inflated.ok) return fail(inflated.code, inflated.message);
    bytes = inflated.data;
  } else if (bytes.length > lim.maxJsonBytes) return fail("too-large", `the report is over ${lim.maxJsonBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("not-utf8", "the report is not valid UTF-8 (RFC 7493 I-JSON)");
  }
  const depth = jsonDepth(text, lim.maxDepth);
  if (depth > lim.maxDepth) return fail("too-deep", `the JSON is nested deeper than ${lim.maxDepth}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail("not-json", `not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  const checked = tlsReportJsonSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    return fail("invalid-report", `${issue.path.map(String).join(".") || "report"}: ${issue.message}`);
  }
  return { ok: true, report: tlsReportFromJson(checked.data), compressed };
}

export interface TlsReportEmailOptions extends TlsReportLimits {
  /**
   * Resolver for the DKIM check: a report email must carry a passing DKIM signature of the submitter's
   * domain (or a parent of it) or be ignored (RFC 8460 3). `false` skips the check (for mail already
   * verified upstream): say so explicitly.
   */
  resolver: Resolver | false;
  /** Largest email accepted, bytes. Default 20 MiB. */
  maxEmailBytes?: number;
}

export type TlsReportEmailParse =
  | { ok: true; report: TlsReport; compressed: boolean; policyDomain: string; submitter: string; dkimDomain?: string }
  | { ok: false; error: TlsReportError };

function headerValue(headers: Array<{ key: string; value: string }>, name: string): string | undefined {
  const found = headers.filter((h) => h.key === name);
  return found.length === 1 ? found[0]!.value.trim() : undefined;
}

/**
 * Parses a TLS report email (RFC 8460 5.3): a `multipart/report; report-type=tlsrpt` message with
 * TLS-Report-Domain and TLS-Report-Submitter, carrying `application/tlsrpt+gzip` or
 * `application/tlsrpt+json`. The submitter must be the domain of the report's contact-info, and the
 * message must pass DKIM for it. The report body is authoritative over the subject and file name
 * (RFC 8460 5.6). Never throws for content.
 */
export async function parseTlsReportEmail(raw: Uint8Array | string, options: TlsReportEmailOptions): Promise<TlsReportEmailParse> {
  if (!options || typeof options !== "object")
    throw invalidOption("options", "parseTlsReportEmail: options with a resolver (or resolver: false) are required");
  const { resolver, maxEmailBytes, ...limits } = options;
  if (resolver !== false && (typeof resolver !== "object" || typeof resolver?.txt !== "function"))
    throw invalidOption("options.resolver", "parseTlsReportEmail: resolver must be a Resolver or false");
  const lim = limitsOf(limits);
  const cap = maxEmailBytes ?? 20 * MiB;
  if (!Number.isSafeInteger(cap) || cap < 1)
    throw invalidOption("options.maxEmailBytes", "parseTlsReportEmail: maxEmailBytes must be a positive integer");
  const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
  if (!(bytes instanceof Uint8Array)) return { ok: false, error: { code: "bad-input", message: "an email is a string or a Uint8Array" } };
  if (bytes.length > cap) return { ok: false, error: { code: "too-large", message: `the email is over ${cap} bytes` } };
  const complex = mimeTooComplex(bytes);
  if (complex) return { ok: false, error: { code: "mime-limits", message: complex } };
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await postalMime().parse(bytes, { maxNestingDepth: 20, maxHeadersSize: 256 * 1024 });
  } catch (err) {
    return { ok: false, error: { code: "not-a-report-email", message: `unreadable MIME: ${describeError(err)}` } };
  }
  const bad = (code: TlsReportErrorCode, message: string): TlsReportEmailParse => ({ ok: false, error: { code, message } });
  const policyDomain = headerValue(email.headers, "tls-report-domain");
  const submitter = headerValue(email.headers, "tls-report-submitter");
  if (!policyDomain || !submitter)
    return bad("not-a-report-email", "TLS-Report-Domain and TLS-Report-Submitter must each appear once (RFC 8460 5.3)");
  const part =
    email.attachments.find((a) => /^application\/tlsrpt\+(gzip|json)$/i.test(a.mimeType)) ??
    email.attachments.find((a) => /\.json(\.gz)?$/i.test(a.filename ?? ""));
  if (!part) return bad("not-a-report-email", "no application/tlsrpt+gzip or application/tlsrpt+json part");
  const content = typeof part.content === "string" ? new TextEncoder().encode(part.content) : new Uint8Array(part.content);
  const parsed = parseTlsReport(content, lim);
  if (!parsed.ok) return parsed;
  const contact = parsed.report.contactInfo;
  const contactDomain = contact.slice(contact.lastIndexOf("@") + 1).toLowerCase();
  if (contactDomain !== submitter.toLowerCase())
    return bad("submitter-mismatch", `TLS-Report-Submitter ${submitter} is not the domain of contact-info ${contact} (RFC 8460 5.3)`);
  let dkimDomain: string | undefined;
  if (resolver !== false) {
    let results: Awaited<ReturnType<typeof verifyDkim>>;
    try {
      results = await verifyDkim(bytes, { resolver });
    } catch (err) {
      return bad("dkim", `DKIM could not be checked: ${describeError(err)}`);
    }
    const sub = submitter.toLowerCase();
    // RFC 8460 3: a valid DKIM signature by the reporting domain, without l=
    const good = results.find(
      (r) => r.result === "pass" && r.bodyLength === undefined && (sub === r.domain || sub.endsWith(`.${r.domain}`)),
    );
    if (!good) return bad("dkim", `no passing DKIM signature (without l=) of ${submitter}: the report must be ignored (RFC 8460 3)`);
    dkimDomain = good.domain;
  }
  return { ok: true, report: parsed.report, compressed: parsed.compressed, policyDomain, submitter, ...(dkimDomain ? { dkimDomain } : {}) };
}
