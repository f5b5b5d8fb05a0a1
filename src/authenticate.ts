import { hostname } from "node:os";
import { z } from "zod";
import { isAbortSignal, listenAbort, signalAborted, unlistenAbort } from "./abort.js";
import {
  type ArcSealResult,
  type AuthenticateSealerOptions,
  type AuthenticateSealOptions,
  arcSet,
  prepareSealer,
  type Sealer,
} from "./arc/seal.js";
import { type ArcResult, ArcVerifier, type ArcVerifyOptions } from "./arc/verify.js";
import { arcEntry, dkimEntries, dmarcEntry, iprevEntry, spfEntry } from "./authres/entries.js";
import { parseAuthResults, type TrustedAuthResults, trustedAuthResults } from "./authres/read.js";
import { type AuthResEntry, authservIdValue, formatAuthResults } from "./authres/write.js";
import { BodyHashes } from "./dkim/body-hash.js";
import { type DkimResult, DkimVerifier, type DkimVerifyOptions } from "./dkim/verify.js";
import { DmarcLookups, type DmarcMode, pslOrgDomain } from "./dmarc/discover.js";
import { checkDmarc, type DmarcOptions, type DmarcResult } from "./dmarc/evaluate.js";
import { BudgetedResolver, CallDeadline, type DnsQueryEvent, type QueryBudgetOptions } from "./dns/budget.js";
import { NodeResolver } from "./dns/node.js";
import type { Resolver } from "./dns/types.js";
import { ArgumentError, describeError, OptionsError } from "./errors.js";
import { checkIprev, type IprevResult } from "./iprev/check.js";
import { abortableStream } from "./message/abortable.js";
import type { AuthorResult } from "./message/from.js";
import { parseAuthor } from "./message/from.js";
import type { HeaderField } from "./message/header.js";
import { isMessageInput, type MessageInput, openMessage, openWhole } from "./message/input.js";
import {
  AUTHENTICATE_HINTS,
  anyObject,
  checkArcOverrideOptions,
  dropObserved,
  ENVELOPE_HINTS,
  isPlainObject,
  isResolver,
  refuseOptions,
  timerMs,
  VOUCH_TOKEN,
  VOUCHED,
  type Vouched,
  vouch,
} from "./options.js";
import { checkSpf, type SpfOptions, type SpfParams, type SpfResult } from "./spf/check.js";
import { writeReceivedSpf } from "./spf/received-spf.js";

/** The SMTP envelope of a message: what the SMTP session recorded. */
export interface Envelope {
  /** The client's IP address. */
  ip: string;
  /** The HELO/EHLO name. */
  helo?: string;
  /** MAIL FROM, "" or "<>" for the null sender. */
  mailFrom?: string;
  rcptTo?: string[];
  /** The session used TLS (true, or details from the TLS socket). */
  tls?: boolean | Record<string, unknown>;
  /** The SMTP AUTH identity, for submitted mail. */
  authenticatedUser?: string;
}

/** One check's duration, for logs and metrics. */
export interface CheckTiming {
  check: "iprev" | "spf" | "dkim" | "arc" | "dmarc" | "total";
  durationMs: number;
}

export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

export interface AuthenticateOptions {
  /** Where DNS answers come from. Default: a NodeResolver (node:dns). */
  resolver?: Resolver;
  /** This receiver's authserv-id for Authentication-Results. Default: the host name. */
  authservId?: string;
  /** Milliseconds clock (DKIM x=/t=, SPF %{t}). */
  now?: () => number;
  /** DMARC rules: "rfc9989" (default) or "rfc7489". */
  dmarcMode?: DmarcMode;
  /** Random source in [0, 1) for RFC 7489 pct= sampling. */
  random?: () => number;
  /** Which checks to run; all by default. DMARC needs SPF and DKIM results to pass. */
  checks?: { spf?: boolean; dkim?: boolean; dmarc?: boolean; arc?: boolean; iprev?: boolean };
  limits?: {
    /** DNS queries for the whole message, all checks together. Default 100. */
    maxDnsQueries?: number;
    /**
     * Milliseconds authenticate() may take, from the call: DNS and reading a message stream. When it
     * runs out, pending lookups are abandoned (temperror), no more are sent, a stream still being read
     * is abandoned (the message is "unreadable"), and the result is returned at once. Default 20,000;
     * at most 2^31-1 (MAX_TIMER_MS, the longest a Node.js timer waits), like every timer option.
     */
    timeBudgetMs?: number;
    /** Milliseconds to wait for one DNS answer before it counts as failed (temperror). Default 5,000; at most 2^31-1. */
    dnsQueryTimeoutMs?: number;
    /** DKIM signatures verified. Default 10. */
    maxSignatures?: number;
    /** Header block size and field count. Defaults 4 MiB and 20,000. */
    maxHeaderBytes?: number;
    maxHeaderFields?: number;
    /** SPF lookup and void-lookup limits (RFC 7208 4.6.4). Defaults 10 and 2. */
    spfMaxLookups?: number;
    spfMaxVoidLookups?: number;
  };
  dkim?: { allowSha1?: boolean; minRsaBits?: number };
  /** authserv-ids whose Authentication-Results already in the message you trust (your own MTAs). */
  trustedAuthservIds?: string[];
  /**
   * Stops the evaluation as the time budget running out does: pending lookups and stream reads are
   * abandoned, checks that needed them report temperror, and the result is returned at once.
   */
  signal?: AbortSignal;
  /**
   * Observability: each DNS query, and each check's duration. Observers: what they throw is
   * dropped and changes nothing in the result.
   */
  onQuery?: (event: DnsQueryEvent) => void;
  onTiming?: (timing: CheckTiming) => void;
  logger?: Logger;
  /**
   * Seal the message with ARC in the same call, as a forwarder or mailing list does (RFC 8617 5.1):
   * the ARC-Authentication-Results is the Authentication-Results computed here, cv= is this call's
   * validation of the chain as received. The set is in `arcSeal` and at the top of `prepend`. Needs
   * the ARC check (checks.arc not false). `{ sealer }` (an ArcSealer, createArcSealer) seals with a key
   * loaded once instead of parsing `privateKey` on every call.
   */
  seal?: AuthenticateSealOptions | AuthenticateSealerOptions;
}

export interface AuthenticationResult {
  /** Forward-confirmed reverse DNS of the client (RFC 8601 3). */
  iprev?: IprevResult;
  spf?: SpfResult;
  dkim: DkimResult[];
  /** The ARC chain as received (RFC 8617); also on dmarc.arc. */
  arc?: ArcResult;
  dmarc?: DmarcResult;
  author: AuthorResult;
  /** The method results in Authentication-Results order. */
  entries: AuthResEntry[];
  /** Header fields to prepend, each without its final CRLF. */
  headers: { authenticationResults: string; receivedSpf?: string };
  /**
   * All new header fields, each ending in CRLF, ready to put on top of the message: the ARC set when
   * `seal` was asked and sealed, then Authentication-Results and Received-SPF.
   */
  prepend: string;
  /** With the `seal` option: the ARC set (its three fields, each ending in CRLF), or why none was added. */
  arcSeal?: ArcSealResult;
  /** Authentication-Results fields already in the message from trusted authserv-ids. */
  trusted: TrustedAuthResults[];
  message: { headerFields: number; defects: number; error?: "header-too-large" | "too-many-fields" | "unreadable" };
  /**
   * DNS queries the checks made, as a sequential evaluation counts them (the limit applies to these),
   * those refused, and those sent ahead of need that no check used (SPF terms never reached, names
   * above where a DMARC tree walk stopped): the network saw queries + speculative.
   */
  dns: { queries: number; refused: number; speculative: number };
  timings: CheckTiming[];
}

const fn = <T extends (...args: never[]) => unknown>(name: string) =>
  z.custom<T>((v) => typeof v === "function", { message: `${name} must be a function` });
const resolverSchema = z.custom<Resolver>((v) => isResolver(v), {
  message: "resolver must implement txt, a, aaaa, mx and ptr (readable without throwing)",
});
const positive = z.number().int().positive();

// Strict: a key msgauth does not read (mailauth's `sender`) is refused, never ignored.
export const envelopeSchema = z
  .object({
    ip: z.string().max(64),
    helo: z.string().max(1024).optional(),
    mailFrom: z.string().max(2048).optional(),
    rcptTo: z.array(z.string()).optional(),
    tls: z.union([z.boolean(), z.record(z.string(), z.unknown())]).optional(),
    authenticatedUser: z.string().optional(),
  })
  .strict();

export const optionsSchema = z
  .object({
    resolver: resolverSchema.optional(),
    authservId: z.string().min(1).max(255).optional(),
    now: fn<() => number>("now").optional(),
    dmarcMode: z.enum(["rfc9989", "rfc7489"]).optional(),
    random: fn<() => number>("random").optional(),
    checks: z
      .object({ spf: z.boolean(), dkim: z.boolean(), dmarc: z.boolean(), arc: z.boolean(), iprev: z.boolean() })
      .partial()
      .strict()
      .optional(),
    limits: z
      .object({
        maxDnsQueries: positive,
        timeBudgetMs: timerMs,
        dnsQueryTimeoutMs: timerMs,
        maxSignatures: positive,
        maxHeaderBytes: positive,
        maxHeaderFields: positive,
        spfMaxLookups: positive,
        spfMaxVoidLookups: z.number().int().min(0),
      })
      .partial()
      .strict()
      .optional(),
    dkim: z.object({ allowSha1: z.boolean(), minRsaBits: positive }).partial().strict().optional(),
    trustedAuthservIds: z.array(z.string()).optional(),
    signal: z.custom<AbortSignal>((v) => isAbortSignal(v), { message: "signal must be an AbortSignal" }).optional(),
    onQuery: fn<(e: DnsQueryEvent) => void>("onQuery").optional(),
    onTiming: fn<(t: CheckTiming) => void>("onTiming").optional(),
    logger: z.custom<Logger>((v) => typeof v === "object" && v !== null).optional(),
    seal: anyObject.optional(), // checked by prepareSealer
  })
  .strict();

let defaultResolver: Resolver | undefined;

/** Every check on: `checks` when options.checks is not given (no object made per call). */
const ALL_CHECKS: Readonly<Required<NonNullable<AuthenticateOptions["checks"]>>> = Object.freeze({
  spf: true,
  dkim: true,
  dmarc: true,
  arc: true,
  iprev: true,
});

const optionalString = (v: unknown, max: number) => v === undefined || (typeof v === "string" && v.length <= max);
const optionalFunction = (v: unknown) => v === undefined || typeof v === "function";

/**
 * The envelope as envelopeSchema would accept it, for the usual shape (ip, helo, mailFrom): a copy,
 * or undefined to leave the decision (and any refusal) to the schema. Never accepts what the schema
 * refuses (test/authenticate-options.test.ts compares the two).
 */
export function plainEnvelope(v: unknown): Envelope | undefined {
  if (!isPlainObject(v)) return undefined;
  for (const key in v) if (key !== "ip" && key !== "helo" && key !== "mailFrom") return undefined;
  const { ip, helo, mailFrom } = v;
  if (typeof ip !== "string" || ip.length > 64 || !optionalString(helo, 1024) || !optionalString(mailFrom, 2048)) return undefined;
  const out: Envelope = { ip };
  if (helo !== undefined) out.helo = helo as string;
  if (mailFrom !== undefined) out.mailFrom = mailFrom as string;
  return out;
}

const PLAIN_OPTION_KEYS = new Set(["resolver", "authservId", "now", "random", "onQuery", "onTiming", "dmarcMode", "signal"]);

/** The options as optionsSchema would accept them, for the usual keys with no nested objects; see plainEnvelope. */
export function plainOptions(v: unknown): AuthenticateOptions | undefined {
  if (v === undefined) return {};
  if (!isPlainObject(v)) return undefined;
  for (const key in v) if (!PLAIN_OPTION_KEYS.has(key)) return undefined;
  const { resolver, authservId, now, random, onQuery, onTiming, dmarcMode, signal } = v;
  // A resolver whose methods cannot be read without a throw is left to the schema, which refuses it.
  if (resolver !== undefined && !isResolver(resolver)) return undefined;
  if (authservId !== undefined && (typeof authservId !== "string" || authservId.length < 1 || authservId.length > 255)) return undefined;
  if (!optionalFunction(now) || !optionalFunction(random) || !optionalFunction(onQuery) || !optionalFunction(onTiming)) return undefined;
  if (dmarcMode !== undefined && dmarcMode !== "rfc9989" && dmarcMode !== "rfc7489") return undefined;
  if (signal !== undefined && !isAbortSignal(signal)) return undefined;
  // A copy of what was read (each property read once), as the schema's output is.
  const out: AuthenticateOptions = {};
  if (resolver !== undefined) out.resolver = resolver as Resolver;
  if (authservId !== undefined) out.authservId = authservId;
  if (now !== undefined) out.now = now as () => number;
  if (random !== undefined) out.random = random as () => number;
  if (onQuery !== undefined) out.onQuery = onQuery as (e: DnsQueryEvent) => void;
  if (onTiming !== undefined) out.onTiming = onTiming as (t: CheckTiming) => void;
  if (dmarcMode !== undefined) out.dmarcMode = dmarcMode;
  if (signal !== undefined) out.signal = signal;
  return out;
}

/**
 * Authenticates a message: SPF, DKIM and DMARC, with DNS work running concurrently, and returns
 * one typed result plus header fields ready to prepend (Authentication-Results, Received-SPF).
 *
 * Never throws for anything about the message or DNS: bad input becomes a result. Rejects with a
 * MsgauthError (a TypeError) only for a wrong call: ArgumentError for a message that is not bytes,
 * text or a stream; OptionsError for an unknown or invalid envelope or option key; KeyError for a
 * `seal` key that cannot sign.
 */
export function authenticate(message: MessageInput, envelope: Envelope, options: AuthenticateOptions = {}): Promise<AuthenticationResult> {
  // Not an async function: the checks below reject the call's promise as one would, and the
  // evaluation's own promise is returned as it is (one async frame and its await fewer a call).
  let e: Envelope | undefined;
  let o: AuthenticateOptions | undefined;
  let seal: PreparedSeal | undefined;
  try {
    if (!isMessageInput(message)) throw new ArgumentError("message must be a Uint8Array, a string, or an async iterable of chunks");
    // The common shapes are checked by hand (a measurable share of a small message's time in zod);
    // anything else, and every refusal with its message, goes through the schemas.
    e = plainEnvelope(envelope);
    if (!e) {
      const env = envelopeSchema.safeParse(envelope);
      if (!env.success) refuseOptions("envelope", env.error, Object.keys(envelopeSchema.shape), ENVELOPE_HINTS);
      e = env.data as Envelope;
    }
    o = plainOptions(options);
    if (!o) {
      const opts = optionsSchema.safeParse(options);
      if (!opts.success) refuseOptions("options", opts.error, Object.keys(optionsSchema.shape), AUTHENTICATE_HINTS);
      o = opts.data as AuthenticateOptions;
    }
    if (o.seal && o.checks?.arc === false)
      throw new OptionsError(
        "ERR_MSGAUTH_INVALID_OPTION",
        "options.seal",
        "options.seal: sealing needs the ARC check (checks.arc is false)",
      );
    seal = o.seal ? prepareSealer(o.seal) : undefined;
  } catch (err) {
    return Promise.reject(err);
  }
  return evaluate(message, e, o, seal);
}

type PreparedSeal = { sealer: Sealer; options: Pick<AuthenticateSealOptions, "headers" | "timestamp"> };

/** No limits given: the limits read, and the header limits for the message's split (none made per call). */
const NO_LIMITS: NonNullable<AuthenticateOptions["limits"]> = Object.freeze({});

// The defaults of limits.timeBudgetMs, maxDnsQueries and dnsQueryTimeoutMs.
const DEFAULT_TIME_BUDGET_MS = 20_000;
const DEFAULT_MAX_QUERIES = 100;
const DEFAULT_QUERY_TIMEOUT_MS = 5000;
/** No trusted authserv-ids (none made per call). */
const NO_IDS: readonly string[] = Object.freeze([]);
/** The DNS budget with no limits or onQuery given: read by BudgetedResolver's constructor, never kept or changed. */
const DEFAULT_BUDGET: QueryBudgetOptions & Vouched = Object.freeze({
  [VOUCHED]: VOUCH_TOKEN as typeof VOUCH_TOKEN,
  maxQueries: DEFAULT_MAX_QUERIES,
  timeBudgetMs: DEFAULT_TIME_BUDGET_MS,
  queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
});

/** The host name, read once (see docs/authenticate.md: a process-lifetime value, as MTAs keep it). */
let hostName: string | undefined;

async function evaluate(
  message: MessageInput,
  e: Envelope,
  o: AuthenticateOptions,
  seal: PreparedSeal | undefined,
): Promise<AuthenticationResult> {
  // One deadline for the whole call: the time budget or the caller's signal, whichever comes first.
  // Every wait (DNS answers, stream chunks) gives up when it fires, so the call settles within the
  // budget plus the CPU work left, whatever the resolver or the stream does. The DNS queries are
  // bounded by it directly (no timer, AbortController or listener per call: about 3 us); a timer
  // and a signal are made only for a message stream (see CallDeadline).
  const budgetMs = o.limits?.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
  const started = performance.now(); // the call's start: its deadline's and its "total" timing's (one clock read, 45 ns)
  const deadline = new CallDeadline(budgetMs, started);
  const callerSignal = o.signal;
  const onCallerAbort = callerSignal ? () => deadline.abort("aborted by the caller") : undefined;
  if (callerSignal !== undefined && signalAborted(callerSignal)) deadline.abort("aborted by the caller");
  else if (onCallerAbort) listenAbort(callerSignal!, onCallerAbort);
  try {
    // When a message stream's chunks must stop coming (Date.now() milliseconds; not read for a message given whole).
    const budgetEnds = typeof message === "string" || message instanceof Uint8Array ? 0 : Date.now() + budgetMs;
    const timings: CheckTiming[] = [];
    const onTiming = o.onTiming;
    const authservId = o.authservId ?? (hostName ??= hostname());
    authservIdValue(authservId); // an id A-R cannot carry throws an AuthResError now, before any work
    const checks = o.checks === undefined ? ALL_CHECKS : { ...ALL_CHECKS, ...o.checks };
    const limits = o.limits ?? NO_LIMITS;
    // The checks' options below are made here from options checked above: vouch() spares each
    // check parsing them again (a measurable share of a small message's time).
    const resolver = new BudgetedResolver(
      o.resolver ?? (defaultResolver ??= new NodeResolver()),
      budgetOptions(limits, budgetMs, o.onQuery),
    );
    deadline.bind(resolver);

    // SPF and iprev need only the envelope: started before the message is read. Each is timed when it
    // settles; its result is kept then, and read below without a wait when it is already there (no
    // Promise.all of settled promises). spfDone and iprevDone are set while each runs, never reject.
    let spf = undefined as SpfResult | undefined;
    let iprev = undefined as IprevResult | undefined;
    let spfDone = undefined as Promise<void> | undefined;
    let iprevDone = undefined as Promise<void> | undefined;
    // What SPF or iprev rejected with, or a timing hook threw as they settled: the call rejects with
    // the first once both are read (as with Promise.all), and no rejected promise is left unawaited
    // while the message is read (an unhandled rejection).
    let failed = undefined as { error: unknown } | undefined;
    if (checks.spf) {
      const spfStart = performance.now();
      spfDone = checkSpf(
        spfParams(e),
        o.now === undefined && o.limits === undefined
          ? spfOptions(resolver, authservId)
          : vouch({
              resolver,
              receiver: authservId,
              ...(o.now ? { now: o.now } : {}),
              ...(limits.spfMaxLookups !== undefined ? { maxLookups: limits.spfMaxLookups } : {}),
              ...(limits.spfMaxVoidLookups !== undefined ? { maxVoidLookups: limits.spfMaxVoidLookups } : {}),
            }),
      ).then(
        (r) => {
          spfDone = undefined;
          spf = r;
          time(timings, onTiming, "spf", spfStart, performance.now());
        },
        (error: unknown) => {
          spfDone = undefined;
          failed ??= { error };
        },
      );
    }
    if (checks.iprev) {
      const iprevStart = performance.now();
      iprevDone = checkIprev(e.ip, iprevOptions(resolver)).then(
        (r) => {
          iprevDone = undefined;
          iprev = r;
          time(timings, onTiming, "iprev", iprevStart, performance.now());
        },
        (error: unknown) => {
          iprevDone = undefined;
          failed ??= { error };
        },
      );
    }

    let messageInfo: AuthenticationResult["message"] | undefined;
    let dkim: DkimResult[] = [];
    let arc: ArcResult | undefined;
    let author: AuthorResult | undefined;
    let trusted: TrustedAuthResults[] | undefined;
    let unreadable: string | undefined;
    let verifier: DkimVerifier | undefined;
    let arcVerifier: ArcVerifier | undefined;
    let sealInput: { headers: readonly HeaderField[]; body: () => { digest: Uint8Array } } | undefined;
    /** performance.now() when DKIM and ARC were done: DMARC's start too when nothing is awaited in between. */
    let checksDone: number | undefined;
    const dmarcLookups = new DmarcLookups(resolver);
    try {
      // The budget is also checked by clock at each chunk: a stream whose chunks are all ready at once
      // never lets the budget's timer fire.
      const input =
        typeof message === "string" || message instanceof Uint8Array
          ? message
          : abortableStream(message, deadline.signal, { at: budgetEnds, reason: `time budget of ${budgetMs} ms exceeded` });
      const splitLimits =
        limits === NO_LIMITS
          ? NO_LIMITS
          : {
              ...(limits.maxHeaderBytes !== undefined ? { maxHeaderBytes: limits.maxHeaderBytes } : {}),
              ...(limits.maxHeaderFields !== undefined ? { maxHeaderFields: limits.maxHeaderFields } : {}),
            };
      // A message given whole is read synchronously, its body one view (no async iteration for one chunk).
      const opened =
        typeof input === "string" || input instanceof Uint8Array ? openWhole(input, splitLimits) : await openMessage(input, splitLimits);
      messageInfo =
        opened.error === undefined
          ? { headerFields: opened.headers.length, defects: opened.defects }
          : { headerFields: opened.headers.length, defects: opened.defects, error: opened.error };
      author = parseAuthor(opened.headers, opened);
      if (author.ok && checks.dmarc) {
        void dmarcLookups.record(author.domain); // start the policy query now
        // And, sent ahead, the names DMARC will most likely read once SPF and DKIM are done: the
        // From domain's tree walk (or its PSL organizational domain) and the walk of the SPF domain,
        // should it differ (alignment). DMARC still reads them in the RFC's order (see DmarcLookups).
        const spfDomain = checks.spf ? envelopeDomain(e) : undefined;
        dmarcLookups.prefetch(dmarcNames(dmarcLookups, author.domain, o.dmarcMode ?? "rfc9989"));
        if (spfDomain !== undefined && spfDomain !== author.domain)
          dmarcLookups.prefetch(dmarcNames(dmarcLookups, spfDomain, o.dmarcMode ?? "rfc9989"));
      }
      trusted = trustedAuthResults(opened.headers, o.trustedAuthservIds ?? NO_IDS);
      const dkimStart = performance.now();
      // DKIM and ARC register their body hashes in one BodyHashes: a body hash both need (the same
      // canonicalization, as forwarded mail usually has) is computed once.
      const bodyHashes = new BodyHashes();
      verifier = checks.dkim
        ? new DkimVerifier(
            opened.headers,
            o.now === undefined && o.dkim === undefined && o.limits === undefined
              ? dkimOptions(resolver, bodyHashes)
              : vouch({
                  resolver,
                  bodyHashes,
                  ...(o.now ? { now: o.now } : {}),
                  ...(o.dkim?.allowSha1 !== undefined ? { allowSha1: o.dkim.allowSha1 } : {}),
                  ...(o.dkim?.minRsaBits !== undefined ? { minRsaBits: o.dkim.minRsaBits } : {}),
                  ...(limits.maxSignatures !== undefined ? { maxSignatures: limits.maxSignatures } : {}),
                }),
          )
        : undefined;
      arcVerifier = checks.arc
        ? new ArcVerifier(
            opened.headers,
            o.dkim?.minRsaBits === undefined
              ? arcOptions(resolver, bodyHashes)
              : vouch({ resolver, bodyHashes, minRsaBits: o.dkim.minRsaBits }),
          )
        : undefined;
      // DMARC aligns the From domain with each d= (relaxed: their organizational domains): the walk
      // of the first d= that is not the From domain goes out now too, within DmarcLookups' allowance.
      if (author.ok && checks.dmarc && verifier) {
        const from = author.domain;
        for (const d of verifier.domains)
          if (d !== from) {
            dmarcLookups.prefetch(dmarcNames(dmarcLookups, d, o.dmarcMode ?? "rfc9989"));
            break;
          }
      }
      // ARC sealing signs the relaxed body hash, which the ARC check usually needs too (one hash).
      if (seal) sealInput = { headers: opened.headers, body: bodyHashes.add({ canon: "relaxed", hash: "sha256" }) };
      // One pass over the body feeds both.
      if (opened.body instanceof Uint8Array) {
        if (opened.body.length > 0) bodyHashes.update(opened.body);
      } else for await (const chunk of opened.body) bodyHashes.update(chunk);
      bodyHashes.end();
      const arcStart = performance.now();
      // Most messages have no ARC set: the ARC result is known now, and only DKIM is waited for (no
      // Promise.all, no ArcVerifier.finish promise). A chain to check is waited for with DKIM's.
      const dkimPending = verifier?.finish();
      const arcNow = arcVerifier?.finishNow();
      if (arcVerifier === undefined || arcNow !== undefined) {
        if (dkimPending) dkim = await dkimPending;
        arc = arcNow;
      } else [dkim, arc] = await Promise.all([dkimPending ?? [], arcVerifier.finish()]);
      // One reading ends both (they were waited for together), and starts DMARC's when nothing is awaited before it.
      checksDone = performance.now();
      time(timings, onTiming, "dkim", dkimStart, checksDone);
      if (arc) time(timings, onTiming, "arc", arcStart, checksDone);
    } catch (err) {
      // A stream that fails, stalls past the deadline or is aborted while being read: the message is
      // unreadable. What depended on it cannot pass: DKIM verdicts over a partial body (pass or fail)
      // become temperror, an ARC chain fails, and DMARC is temperror (below).
      unreadable = describeError(err);
      messageInfo = { ...(messageInfo ?? { headerFields: 0, defects: 0 }), error: "unreadable" };
      observe(() => o.logger?.warn?.("message could not be read", { error: unreadable }));
      const why = `the message could not be read: ${unreadable}`;
      if (verifier) dkim = (await verifier.finish()).map((r) => (r.result === "pass" || r.result === "fail" ? unreadableDkim(r, why) : r));
      if (arcVerifier) {
        const a = await arcVerifier.finish();
        arc = a.result === "none" ? a : { ...a, result: "fail", reason: why };
      }
    }
    author ??= { ok: false, reason: "no-from", detail: "the message could not be read", mailboxes: [], domains: [] };
    trusted ??= [];

    // SPF and iprev, awaited only while they run (usually SPF alone, its include chain the longest):
    // no Promise.all of settled promises (three promises more).
    if (spfDone !== undefined || iprevDone !== undefined) {
      await (spfDone === undefined ? iprevDone : iprevDone === undefined ? spfDone : Promise.all([spfDone, iprevDone]));
      checksDone = undefined;
    }
    if (failed !== undefined) throw failed.error;
    let dmarc: DmarcResult | undefined;
    if (checks.dmarc && unreadable !== undefined) {
      // Without the whole message the author domains and DKIM verdicts are not certain: never pass.
      dmarc = unreadableDmarc(author, o.dmarcMode ?? "rfc9989", `the message could not be read: ${unreadable}`);
    } else if (checks.dmarc) {
      const dmarcStart = checksDone ?? performance.now();
      dmarc = await checkDmarc(
        { author, spf, dkim, arc },
        o.dmarcMode === undefined && o.random === undefined
          ? dmarcOptions(resolver, dmarcLookups)
          : vouch({
              resolver,
              lookups: dmarcLookups,
              ...(o.dmarcMode ? { mode: o.dmarcMode } : {}),
              ...(o.random ? { random: o.random } : {}),
            }),
      );
      time(timings, onTiming, "dmarc", dmarcStart, performance.now());
    }

    dmarcLookups.close(); // DMARC names sent ahead that DMARC did not read: not waited for
    const entries: AuthResEntry[] = [];
    if (iprev) entries.push(iprevEntry(iprev));
    if (spf) entries.push(spfEntry(spf));
    // Signatures past maxSignatures were not checked: summarized in one entry, not listed (bounded size).
    if (checks.dkim) for (const d of dkimEntries(dkim, limits.maxSignatures ?? 10)) entries.push(d);
    if (arc) entries.push(arcEntry(arc, e.ip));
    if (dmarc) entries.push(dmarcEntry(dmarc));
    const authenticationResults = formatAuthResults(authservId, entries);
    // Made whole (a property added later changes the object's shape on every call). Received-SPF is
    // written for the authserv-id checked above, with no options object to check (0.3-0.5 us of CPU).
    const headers: AuthenticationResult["headers"] = spf
      ? { authenticationResults, receivedSpf: writeReceivedSpf(spf, authservId) }
      : { authenticationResults };
    let arcSeal: ArcSealResult | undefined;
    if (seal) {
      const chain = arc ?? { result: "none" as const, reason: "not checked", instances: 0, sets: [] };
      // A message not read whole cannot be signed: its body hash would be a guess.
      arcSeal =
        unreadable !== undefined || messageInfo?.error !== undefined || !sealInput
          ? { sealed: false, reason: `the message could not be read whole: ${unreadable ?? messageInfo?.error ?? "no header"}`, chain }
          : arcSet(
              sealInput.headers,
              sealInput.body().digest,
              chain,
              {
                authservId,
                authResults: authenticationResults,
                ...(seal.options.headers ? { headers: seal.options.headers } : {}),
                ...(seal.options.timestamp !== undefined ? { timestamp: seal.options.timestamp } : {}),
                ...(o.now ? { now: o.now } : {}),
              },
              seal.sealer,
            );
    }
    const prepend = `${arcSeal?.sealed ? arcSeal.headers : ""}${authenticationResults}\r\n${headers.receivedSpf ? `${headers.receivedSpf}\r\n` : ""}`;
    time(timings, onTiming, "total", started, performance.now());
    const dns = { queries: resolver.queries, refused: resolver.refused, speculative: resolver.speculative };
    let result: AuthenticationResult;
    if (iprev && spf && arc && dmarc && !arcSeal) {
      // Every check ran (the usual call): the result made whole, its keys in the order the general
      // path below gives them (properties added after creation cost a new backing store each call).
      result = { dkim, author, entries, headers, prepend, trusted, message: messageInfo, dns, timings, iprev, spf, arc, dmarc };
    } else {
      result = { dkim, author, entries, headers, prepend, trusted, message: messageInfo, dns, timings };
      if (iprev) result.iprev = iprev;
      if (spf) result.spf = spf;
      if (arc) result.arc = arc;
      if (dmarc) result.dmarc = dmarc;
      if (arcSeal) result.arcSeal = arcSeal;
    }
    if (o.logger !== undefined)
      observe(() =>
        o.logger?.debug?.("authenticated", {
          spf: spf?.result,
          dkim: dkim.map((d) => d.result),
          dmarc: dmarc?.result,
          dnsQueries: resolver.queries,
        }),
      );
    return result;
  } finally {
    deadline.close();
    if (onCallerAbort) unlistenAbort(callerSignal!, onCallerAbort);
  }
}

/**
 * Records one check's duration and tells the onTiming hook. The hook is an observer, as onQuery
 * is: what it throws is dropped, so that its bug changes no verdict (a throw for "dkim" had made
 * the message "unreadable", one for "spf" rejected the call; red team).
 */
function time(
  timings: CheckTiming[],
  onTiming: AuthenticateOptions["onTiming"],
  check: CheckTiming["check"],
  since: number,
  now: number,
): void {
  const t = { check, durationMs: now - since };
  timings.push(t);
  if (onTiming) observe(() => onTiming(t));
}

/**
 * Calls an observer (onTiming, a logger method): what it throws, or a promise it returns rejects
 * with, is dropped; its bug must not change the result (red team: a throwing logger.debug rejected
 * the call, an async onTiming that failed was an unhandled rejection).
 */
function observe(call: () => unknown): void {
  try {
    dropObserved(call());
  } catch {
    // An observer's bug must not change the result.
  }
}

// The checks' options for the usual call, each made whole with the VOUCHED mark in it: vouch() adds
// the mark to an object made with spreads, a property added after creation (a new shape each time).
// Together with ALL_CHECKS, about 0.5 us of CPU per authenticate() (bench/small.mjs).
function budgetOptions(limits: NonNullable<AuthenticateOptions["limits"]>, budgetMs: number, onQuery: AuthenticateOptions["onQuery"]) {
  if (limits === NO_LIMITS && onQuery === undefined) return DEFAULT_BUDGET;
  const maxQueries = limits.maxDnsQueries ?? DEFAULT_MAX_QUERIES;
  const queryTimeoutMs = limits.dnsQueryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const out: QueryBudgetOptions & Vouched = onQuery
    ? { [VOUCHED]: VOUCH_TOKEN, maxQueries, timeBudgetMs: budgetMs, queryTimeoutMs, onQuery }
    : { [VOUCHED]: VOUCH_TOKEN, maxQueries, timeBudgetMs: budgetMs, queryTimeoutMs };
  return out;
}
function spfParams(e: Envelope): SpfParams {
  const out: SpfParams & Vouched = { [VOUCHED]: VOUCH_TOKEN, ip: e.ip, helo: e.helo ?? "", mailFrom: e.mailFrom ?? "" };
  return out;
}
function spfOptions(resolver: Resolver, receiver: string): SpfOptions {
  const out: SpfOptions & Vouched = { [VOUCHED]: VOUCH_TOKEN, resolver, receiver };
  return out;
}
function dkimOptions(resolver: Resolver, bodyHashes: BodyHashes): DkimVerifyOptions {
  const out: DkimVerifyOptions & Vouched = { [VOUCHED]: VOUCH_TOKEN, resolver, bodyHashes };
  return out;
}
function arcOptions(resolver: Resolver, bodyHashes: BodyHashes): ArcVerifyOptions {
  const out: ArcVerifyOptions & Vouched = { [VOUCHED]: VOUCH_TOKEN, resolver, bodyHashes };
  return out;
}
function iprevOptions(resolver: Resolver): { resolver: Resolver } {
  const out: { resolver: Resolver } & Vouched = { [VOUCHED]: VOUCH_TOKEN, resolver };
  return out;
}
function dmarcOptions(resolver: Resolver, lookups: DmarcLookups): DmarcOptions {
  const out: DmarcOptions & Vouched = { [VOUCHED]: VOUCH_TOKEN, resolver, lookups };
  return out;
}

/** The DMARC record names DMARC may read for a domain above its own: its tree walk, or its PSL organizational domain. */
function dmarcNames(lookups: DmarcLookups, domain: string, mode: DmarcMode): readonly string[] {
  if (mode === "rfc7489") return [pslOrgDomain(domain)];
  return lookups.walkTargets(domain);
}

/**
 * The domain SPF checks (MAIL FROM's, or HELO for the null sender), lower case; undefined if none.
 * trim() and toLowerCase() are called only when a character they would change is there: they were
 * most of its 0.1-0.2 us a call (test/authenticate-fast-paths.test.ts holds it to the plain form).
 */
export function envelopeDomain(e: Envelope): string | undefined {
  let from = e.mailFrom ?? "";
  if (from !== "" && (mayBeSpace(from.charCodeAt(0)) || mayBeSpace(from.charCodeAt(from.length - 1)))) from = from.trim();
  if (from.length >= 2 && from.charCodeAt(0) === 0x3c && from.charCodeAt(from.length - 1) === 0x3e) from = from.slice(1, -1); // <...>
  let domain = from === "" ? (e.helo ?? "") : from.slice(from.lastIndexOf("@") + 1);
  if (!isLowerAscii(domain)) domain = domain.toLowerCase();
  const d = domain.endsWith(".") ? domain.slice(0, -1) : domain;
  return d.includes(".") && d.length <= 253 && !d.startsWith("[") ? d : undefined;
}

/** Whether trim() may remove this character: every ECMAScript white space and line terminator is one. */
const mayBeSpace = (c: number) => c <= 0x20 || c >= 0xa0;

/** No character toLowerCase() changes: no A-Z and nothing past ASCII. */
function isLowerAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return false;
  }
  return true;
}

/** A DKIM verdict that needed the whole body, withdrawn because the body could not be read. */
function unreadableDkim(r: DkimResult, reason: string): DkimResult {
  const out: DkimResult = { ...r, result: "temperror", reason };
  delete out.failure;
  return out;
}

function unreadableDmarc(author: AuthorResult, mode: DmarcMode, reason: string): DmarcResult {
  return {
    result: "temperror",
    reason,
    mode,
    fromDomain: author.ok ? author.domain : author.domains.join(","),
    policy: "none",
    disposition: "none",
    testing: false,
    spf: { aligned: false, mode: "r" },
    dkim: { aligned: false, mode: "r" },
  };
}

export interface ArcOverrideOptions {
  /** ARC sealers (d= of their ARC-Seal) you trust to report authentication honestly: your own
   * relays, the mailing lists and forwarders you know. */
  trustedSealers: readonly string[];
}

/**
 * Local policy for forwarded mail (RFC 8617 7.2, RFC 9989 5.3.6): when DMARC fails but the ARC chain
 * passes and its newest sealer is one you trust, that sealer's ARC-Authentication-Results says what it
 * saw before the message was changed. If it saw dmarc=pass for the same author domains, you may deliver
 * as if DMARC passed.
 *
 * Never an override when the author is in doubt: more than one From field, a From recovered from
 * broken syntax or hidden characters, a header not read whole, or From domains left unevaluated (a
 * From prepended above a message the list sealed is not what the list saw); nor when the author
 * domains now differ from the `header.from` the trusted sealer recorded with its `dmarc=pass`.
 * Pass the whole authenticate() result: without `author` there is no override.
 */
export function arcOverride(
  result: Pick<AuthenticationResult, "dmarc" | "arc"> & Partial<Pick<AuthenticationResult, "author">>,
  options: ArcOverrideOptions,
): { override: boolean; reason: string } {
  checkArcOverrideOptions(options);
  const { dmarc, arc, author } = result;
  if (dmarc?.result !== "fail") return { override: false, reason: "DMARC did not fail" };
  if (arc?.result !== "pass") return { override: false, reason: `ARC chain is ${arc?.result ?? "not checked"}` };
  const newest = arc.sets[arc.sets.length - 1]!;
  const trusted = options.trustedSealers.map((d) => d.toLowerCase().replace(/\.$/, ""));
  if (!trusted.includes(newest.sealer)) return { override: false, reason: `the newest ARC sealer ${newest.sealer} is not trusted` };
  const doubt = authorDoubt(author, dmarc);
  if (doubt !== undefined) return { override: false, reason: `the author is in doubt (${doubt}): no override` };
  const current = new Set(author!.ok ? [author!.domain] : author!.domains);
  const recorded = parseAuthResults(newest.authResults);
  const dmarcEntries = recorded.ok ? recorded.value.results.filter((e) => e.method.toLowerCase() === "dmarc") : [];
  if (!dmarcEntries.some((e) => e.result.toLowerCase() === "pass"))
    return { override: false, reason: `${newest.sealer} did not record dmarc=pass` };
  const seen = new Set<string>();
  for (const e of dmarcEntries) {
    if (e.result.toLowerCase() !== "pass") return { override: false, reason: `${newest.sealer} recorded dmarc=${e.result}` };
    const from = e.props.find((p) => p.ptype.toLowerCase() === "header" && p.property.toLowerCase() === "from")?.value;
    if (from === undefined) return { override: false, reason: `${newest.sealer} recorded dmarc=pass without header.from` };
    seen.add(from.toLowerCase().replace(/\.$/, ""));
  }
  const same = seen.size === current.size && [...current].every((d) => seen.has(d));
  if (!same)
    return {
      override: false,
      reason: `the author domains (${[...current].join(", ")}) differ from the header.from ${newest.sealer} recorded (${[...seen].join(", ")})`,
    };
  return { override: true, reason: `trusted sealer ${newest.sealer} (ARC instance ${newest.instance}) recorded dmarc=pass` };
}

/** Why the author of a message is too uncertain for an ARC override, or undefined when it is not. */
function authorDoubt(author: AuthorResult | undefined, dmarc: DmarcResult): string | undefined {
  if (author === undefined || author === null || typeof author !== "object") return "no author given";
  if ((dmarc.unevaluated?.length ?? 0) > 0) return "From domains were not evaluated";
  if (author.ok) return undefined;
  // Several mailboxes, or a group, parsed strictly and each evaluated: not doubt.
  if ((author.reason === "multiple-mailboxes" || author.reason === "group") && !author.recovered && !author.unseen)
    return author.domains.length > 0 ? undefined : "no author domain";
  return author.reason;
}
