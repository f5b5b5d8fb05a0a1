import { createHash, randomBytes } from "node:crypto";
import type { AuthenticationResult, Envelope } from "../authenticate.js";
import { type DkimSignOptions, signDkim } from "../dkim/sign.js";
import type { DmarcMode } from "../dmarc/discover.js";
import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { checkOptionKeys, checkTimerMs, invalidOption } from "../options.js";
import { rfc5322Date } from "./email.js";
import { headerBytes } from "./header-field.js";
import { checkCount, checkResolverShape, startDestinationChecks, withDeadline } from "./reporter.js";

/** What a failure report may carry (RFC 9991 7: privacy). */
export interface Redaction {
  /** "headers" (default): the original header block only (text/rfc822-headers); "full": the whole message. */
  include?: "headers" | "full";
  /** Replace the local parts of addresses (in the copied header block and the envelope fields) with an
   * opaque hash, as RFC 6590 describes. Default true. */
  localParts?: boolean;
  /** Include Original-Rcpt-To (the recipient). Default false. */
  recipients?: boolean;
  /** With "full": write http as hxxp so links in the copy are not live (RFC 9991 7.3). Default true. */
  defangLinks?: boolean;
}

export interface FailureReportIdentity {
  /** From of the report emails (sign it with DKIM aligned to this domain). */
  email: string;
  /** Authserv-id / reporting host, used in the text part and Message-ID. */
  receiver: string;
  /** User-Agent field. Default "msgauth/1". */
  userAgent?: string;
}

export type FailureType = "dmarc" | "dkim" | "spf";

/** What failure reporting needs from authenticate()'s result. */
export type FailureInput = Pick<AuthenticationResult, "dmarc" | "spf" | "dkim" | "headers">;

/**
 * Which failure reports the domain asked for (RFC 9989 fo=, RFC 9991 2): none when DMARC found no
 * record, no ruf=, or a PSD record (psd=y; ruf= must not be used). fo=0 (default): every mechanism
 * failed to give an aligned pass; fo=1: any did; d: a DKIM signature failed; s: SPF failed.
 */
export function failureReportsWanted(result: FailureInput): FailureType[] {
  const d = result.dmarc;
  const r = d?.record;
  if (!d || !r || r.ruf.length === 0 || r.psd === "y") return [];
  if (d.result !== "pass" && d.result !== "fail") return [];
  const out: FailureType[] = [];
  const dkimAligned = d.dkim.aligned;
  const spfAligned = d.spf.aligned;
  if (r.fo.includes("1") ? !dkimAligned || !spfAligned : !dkimAligned && !spfAligned) out.push("dmarc");
  if (r.fo.includes("d") && result.dkim.some((k) => k.result === "fail")) out.push("dkim");
  if (r.fo.includes("s") && result.spf?.result === "fail") out.push("spf");
  return out;
}

const opaque = (local: string) => `redacted-${createHash("sha256").update(local).digest("hex").slice(0, 12)}`;
const LOCAL_CHARS = /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]/;
const DOMAIN_CHARS = /[A-Za-z0-9.-]/;

/**
 * Replaces the local part of every local@domain in s with an opaque hash. One pass: each "@" is
 * found once and its local part read back only to the previous "@" or replacement (a regex over
 * runs of local-part characters without an "@" rescans each run from every start: quadratic).
 */
export function redactAddresses(s: string): string {
  let out = "";
  let copied = 0; // s[0, copied) is in out
  let floor = 0; // no local part reaches back before this
  for (let at = s.indexOf("@"); at >= 0; at = s.indexOf("@", at + 1)) {
    let a = at;
    while (a > floor && LOCAL_CHARS.test(s[a - 1]!)) a--;
    let b = at + 1;
    while (b < s.length && DOMAIN_CHARS.test(s[b]!)) b++;
    floor = at + 1;
    if (a === at || b === at + 1) continue;
    out += `${s.slice(copied, a)}${opaque(s.slice(a, at))}@${s.slice(at + 1, b)}`;
    copied = b;
    floor = b;
    at = b - 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

function headerBlock(message: Uint8Array): { headers: string; body: Uint8Array } {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  let end = buf.indexOf("\r\n\r\n");
  let skip = 4;
  const lf = buf.indexOf("\n\n");
  if (end < 0 || (lf >= 0 && lf < end)) {
    end = lf;
    skip = 2;
  }
  if (end < 0) return { headers: buf.toString("latin1"), body: new Uint8Array() };
  return { headers: buf.subarray(0, end).toString("latin1"), body: buf.subarray(end + skip) };
}

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");
// Every generated value goes through headerBytes (header-field.ts): UTF-8 bytes, no control byte.
// The message is a binary string (the copied header block is latin1-read bytes) written as latin1.
const oneLine = (s: string) => headerBytes(s.replace(/[\r\n]+[ \t]*/g, " "));

export interface FailureReportParams {
  message: Uint8Array;
  envelope: Envelope;
  result: FailureInput;
  type: FailureType;
  to: string;
  identity: FailureReportIdentity;
  redaction?: Redaction;
  /** The SPF record text for SPF-DNS (RFC 9991 4: required for an aligned SPF failure). */
  spfRecord?: string;
  now?: () => number;
}

/** Builds one ARF failure report email (RFC 5965, RFC 6591, RFC 9991 4). CRLF line endings. */
export function failureReportEmail(p: FailureReportParams): string {
  const d = p.result.dmarc!;
  const red = { include: "headers", localParts: true, recipients: false, defangLinks: true, ...p.redaction } satisfies Redaction;
  const fix = (s: string) => (red.localParts ? redactAddresses(s) : s);
  const now = p.now?.() ?? Date.now();
  const boundary = `=_msgauth_arf_${randomBytes(10).toString("hex")}`;
  const failed = [d.dkim.aligned ? undefined : "dkim", d.spf.aligned ? undefined : "spf"].filter(Boolean) as string[];
  const authFailure =
    p.type === "dmarc"
      ? "dmarc"
      : p.type === "spf"
        ? "spf"
        : p.result.dkim.some((k) => k.failure === "body-hash")
          ? "bodyhash"
          : "signature";
  const fields: string[] = [
    "Feedback-Type: auth-failure",
    "Version: 1",
    `User-Agent: ${oneLine(p.identity.userAgent ?? "msgauth/1")}`,
    `Auth-Failure: ${authFailure}`,
    `Authentication-Results: ${oneLine(p.result.headers.authenticationResults.replace(/^Authentication-Results:\s*/i, ""))}`,
    `Identity-Alignment: ${failed.length ? failed.join(", ") : "none"}`,
  ];
  const disposition = d.disposition;
  fields.push(`Delivery-Result: ${disposition === "reject" ? "reject" : disposition === "quarantine" ? "spam" : "delivered"}`);
  // RFC 9991 4: DKIM-Domain/Identity/Selector for a DKIM failure of an aligned identifier.
  const from = d.fromDomain;
  const fromField = oneLine(from);
  const alignedDkim = p.result.dkim.find(
    (k) => k.result !== "pass" && k.domain !== "" && (k.domain === from || from.endsWith(`.${k.domain}`) || k.domain.endsWith(`.${from}`)),
  );
  if (alignedDkim && (p.type === "dmarc" || p.type === "dkim")) {
    fields.push(`DKIM-Domain: ${oneLine(alignedDkim.domain)}`);
    fields.push(`DKIM-Identity: ${oneLine(fix(alignedDkim.identity ?? `@${alignedDkim.domain}`))}`);
    fields.push(`DKIM-Selector: ${oneLine(alignedDkim.selector)}`);
  }
  const spf = p.result.spf;
  if (spf && spf.result !== "pass" && spf.domain !== "" && p.spfRecord !== undefined) {
    fields.push(`SPF-DNS: txt : ${oneLine(spf.domain)} : "${oneLine(p.spfRecord).replace(/["\\]/g, "\\$&")}"`);
  }
  const mailFrom = p.envelope.mailFrom?.replace(/^<|>$/g, "") ?? "";
  fields.push(`Original-Mail-From: <${oneLine(fix(mailFrom))}>`);
  if (red.recipients) for (const r of p.envelope.rcptTo ?? []) fields.push(`Original-Rcpt-To: <${oneLine(fix(r.replace(/^<|>$/g, "")))}>`);
  fields.push(`Arrival-Date: ${rfc5322Date(now)}`, `Source-IP: ${oneLine(p.envelope.ip)}`, `Reported-Domain: ${fromField}`);

  const { headers, body } = headerBlock(p.message);
  let original: string;
  let originalType: string;
  if (red.include === "full") {
    let text = Buffer.from(body).toString("latin1");
    if (red.defangLinks) text = text.replace(/\bhttp(s?):\/\//gi, "hxxp$1://");
    original = `${crlf(fix(headers))}\r\n\r\n${crlf(text)}`;
    originalType = "message/rfc822";
  } else {
    original = `${crlf(fix(headers))}\r\n`;
    originalType = "text/rfc822-headers";
  }
  const receiver = oneLine(p.identity.receiver);
  const rid = `${now}.${randomBytes(6).toString("hex")}@${receiver.replace(/[<>\s]/g, "")}`;
  const head = [
    `From: <${oneLine(p.identity.email)}>`,
    `To: <${oneLine(p.to)}>`,
    `Subject: DMARC failure report for ${fromField} from ${oneLine(p.envelope.ip)}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${rid}>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
  ];
  return [
    ...head,
    "",
    "This is an authentication failure report (RFC 6591, RFC 9991).",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    `This is an authentication failure report for a message claiming to be from ${fromField},`,
    `received by ${receiver} from IP ${oneLine(p.envelope.ip)} on ${rfc5322Date(now)}.`,
    `--${boundary}`,
    "Content-Type: message/feedback-report",
    "Content-Transfer-Encoding: 7bit",
    "",
    ...fields,
    "",
    `--${boundary}`,
    `Content-Type: ${originalType}`,
    "Content-Transfer-Encoding: 8bit",
    "",
    original,
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

export interface FailureReporterOptions {
  identity: FailureReportIdentity;
  transport: (mail: { from: string; to: string; raw: Uint8Array }) => Promise<void>;
  resolver: Resolver;
  dmarcMode?: DmarcMode;
  dkim?: DkimSignOptions | readonly DkimSignOptions[];
  redaction?: Redaction;
  /** Reports per destination per hour, in this process (RFC 9991 2: a rate limit MUST be applied). Default 10. */
  perDestinationPerHour?: number;
  /** Milliseconds one transport call may take before it counts as failed. Default 120,000; at most 2^31-1. */
  transportTimeoutMs?: number;
  /** Reports per policy domain (the one whose DMARC record asked; its From subdomains share the count) per hour, in this process, whatever its ruf= lists. Default 20. */
  perDomainPerHour?: number;
  /** Reports per hour in all, in this process. Default 200. */
  perHour?: number;
  /** ruf= URIs used per message, the first ones listed (RFC 7489 6.2: at least two). Default 2. */
  maxDestinations?: number;
  /** Milliseconds all destination checks for one message may take together (side by side). Default 10,000; at most 2^31-1. */
  checkTimeoutMs?: number;
  now?: () => number;
}

export interface FailureOutcome {
  types: FailureType[];
  deliveries: Array<{ to: string; type: FailureType; result: "sent" | "skipped" | "failed"; reason?: string }>;
}

const FR_OPTIONS = new Set([
  "identity",
  "transport",
  "resolver",
  "dmarcMode",
  "dkim",
  "redaction",
  "perDestinationPerHour",
  "transportTimeoutMs",
  "perDomainPerHour",
  "perHour",
  "maxDestinations",
  "checkTimeoutMs",
  "now",
]);

/**
 * Sends failure reports (RFC 9991) for one message when its domain asks (ruf=, fo=). Nothing is sent
 * unless you create one of these: failure reports are off by default. External destinations are
 * verified (side by side, under one deadline); only the first `maxDestinations` ruf= URIs are used;
 * reports are rate limited per destination, per policy domain and in all (per hour, in this
 * process). Never throws for DNS or transport failures.
 */
export class FailureReporter {
  readonly #o: FailureReporterOptions;
  readonly #sent = new Map<string, number[]>();

  constructor(options: FailureReporterOptions) {
    checkOptionKeys(options, FR_OPTIONS, "options", (k) => `unknown failure reporter option ${k}`);
    if (typeof options.transport !== "function") throw invalidOption("options.transport", "transport must be a function");
    checkResolverShape(options.resolver, "options.resolver");
    for (const k of ["perDestinationPerHour", "perDomainPerHour", "perHour", "maxDestinations"] as const)
      checkCount(options[k], `options.${k}`, k.endsWith("PerHour") || k === "perHour" ? 0 : 1);
    for (const k of ["transportTimeoutMs", "checkTimeoutMs"] as const) checkTimerMs(options[k], `options.${k}`);
    if (!options.identity?.email || !options.identity.receiver)
      throw invalidOption("options.identity", "identity needs email and receiver");
    this.#o = options;
  }

  readonly #byDomain = new Map<string, number[]>();
  readonly #all: number[] = [];

  /** RFC 9991 2: rate limits, per destination, per policy domain and in all; a report counts on all three. */
  #allow(to: string, domain: string, now: number): string | undefined {
    const hourAgo = now - 3_600_000;
    const recent = (map: Map<string, number[]>, key: string) => {
      const times = (map.get(key) ?? []).filter((t) => t > hourAgo);
      map.set(key, times);
      if (map.size > 10_000) map.delete(map.keys().next().value as string);
      return times;
    };
    while (this.#all.length > 0 && this.#all[0]! <= hourAgo) this.#all.shift();
    if (this.#all.length >= (this.#o.perHour ?? 200)) return "rate limit for all failure reports reached";
    const byDomain = recent(this.#byDomain, domain);
    if (byDomain.length >= (this.#o.perDomainPerHour ?? 20)) return "rate limit for this reported domain reached";
    const byDest = recent(this.#sent, to);
    if (byDest.length >= (this.#o.perDestinationPerHour ?? 10)) return "rate limit for this destination reached";
    this.#all.push(now);
    byDomain.push(now);
    byDest.push(now);
    return undefined;
  }

  async report(message: Uint8Array, envelope: Envelope, result: FailureInput): Promise<FailureOutcome> {
    const types = failureReportsWanted(result);
    const out: FailureOutcome = { types, deliveries: [] };
    if (types.length === 0) return out;
    const d = result.dmarc!;
    let spfRecord: string | undefined;
    if (result.spf && result.spf.domain !== "" && result.spf.result !== "pass") {
      const a = await guardResolver(this.#o.resolver).txt(result.spf.domain); // validated, bounded
      if (a?.kind === "ok") spfRecord = a.records.find((r) => /^v=spf1(?:\s|$)/i.test(r));
    }
    const now = this.#o.now ?? Date.now;
    const max = this.#o.maxDestinations ?? 2;
    const ruf = d.record!.ruf;
    for (const dest of ruf.slice(max))
      for (const type of types)
        out.deliveries.push({
          to: dest.uri.slice(0, 200),
          type,
          result: "skipped",
          reason: `only the first ${max} ruf= destinations are used`,
        });
    // The destination checks run side by side under one deadline.
    const targets = startDestinationChecks(d.policyDomain!, ruf.slice(0, max), this.#o);
    for (const { dest, m, to, check: pending } of targets) {
      if (!m) continue;
      if (!to || !pending) {
        for (const type of types)
          out.deliveries.push({ to: m[1]!.slice(0, 200), type, result: "skipped", reason: "not a plain email address" });
        continue;
      }
      const check = await pending;
      for (const type of types) {
        if (check.result !== "authorized") {
          out.deliveries.push({ to, type, result: check.result === "temperror" ? "failed" : "skipped", reason: check.reason });
          continue;
        }
        const limited = this.#allow(to, d.policyDomain ?? "", now());
        if (limited) {
          out.deliveries.push({ to, type, result: "skipped", reason: limited });
          continue;
        }
        try {
          const text = failureReportEmail({
            message,
            envelope,
            result,
            type,
            to,
            identity: this.#o.identity,
            ...(this.#o.redaction ? { redaction: this.#o.redaction } : {}),
            ...(spfRecord !== undefined ? { spfRecord } : {}),
            now,
          });
          let raw: Buffer = Buffer.from(text, "latin1"); // the copied header block was read as latin1: bytes kept
          if (dest.maxSize !== undefined && raw.length > dest.maxSize) {
            out.deliveries.push({
              to,
              type,
              result: "skipped",
              reason: `the report is over the destination's limit of ${dest.maxSize} bytes`,
            });
            continue;
          }
          if (this.#o.dkim) {
            const list = Array.isArray(this.#o.dkim) ? this.#o.dkim : [this.#o.dkim as DkimSignOptions];
            const signature = await signDkim(
              raw,
              list.map((o) => (o.now ? o : { ...o, now })),
            );
            raw = Buffer.concat([Buffer.from(signature, "latin1"), raw]);
          }
          await withDeadline(this.#o.transport({ from: this.#o.identity.email, to, raw }), this.#o.transportTimeoutMs ?? 120_000);
          out.deliveries.push({ to, type, result: "sent" });
        } catch (err) {
          out.deliveries.push({ to, type, result: "failed", reason: `transport: ${(err as Error).message}` });
        }
      }
    }
    return out;
  }
}
