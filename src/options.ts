import { z } from "zod";
import { isAbortSignal } from "./abort.js";
import type { ArcVerifyOptions } from "./arc/verify.js";
import type { ArcOverrideOptions } from "./authenticate.js";
import type { DkimVerifyOptions } from "./dkim/verify.js";
import type { DmarcOptions } from "./dmarc/evaluate.js";
import type { ReportDestinationOptions } from "./dmarc/report.js";
import type { DnsQueryEvent, QueryBudgetOptions } from "./dns/budget.js";
import type { CacheOptions } from "./dns/cache.js";
import type { NodeResolverOptions } from "./dns/node.js";
import type { Resolver } from "./dns/types.js";
import type { FixtureResolverOptions } from "./dns/zone.js";
import type { ZoneFileOptions } from "./dns/zonefile.js";
import type { DsnOptions } from "./dsn/build.js";
import { OptionsError } from "./errors.js";
import type { NextHopOptions } from "./mx/next-hop.js";
import type { CommandOptions } from "./smtp/command.js";
import type { SessionOptions } from "./smtp/session.js";
import type { SpfOptions, SpfParams } from "./spf/check.js";
import type { ReceivedSpfOptions } from "./spf/received-spf.js";

/**
 * Option checking for every public entry point: a zod strict object per options shape, built once
 * at module load, and one call that either returns the options or throws an OptionsError naming the
 * key. Unknown keys are refused, never ignored; the usual mailauth names get the msgauth name in
 * the message, since porting code is where they come from.
 */

/** mailauth (and other common) option names and what msgauth calls them, wherever they turn up. */
const COMMON_HINTS: Readonly<Record<string, string>> = {
  sender: "mailFrom",
  mta: "authservId",
  signingDomain: "domain",
  headerList: "headers",
  signTime: "timestamp (seconds) or now (a clock)",
  expires: "expiresIn (seconds after t=)",
  maxBodyLength: "bodyLength: true (l= of the whole body)",
  signatureData: "an array of signing options: signDkim(message, [options, ...])",
  minBitLength: "minRsaBits",
  maxResolveCount: "maxLookups",
  maxVoidCount: "maxVoidLookups",
  curTime: "now (a function returning milliseconds)",
  clientIp: "ip",
  clientIP: "ip",
  remoteAddress: "ip",
  remoteIp: "ip",
  hostname: "helo",
  heloHostname: "helo",
  envelopeFrom: "mailFrom",
  returnPath: "mailFrom",
  strict: "nothing: msgauth is always strict (RFC behaviour by default)",
  rejectRsaSha1: "nothing: rsa-sha1 is refused by default (allowSha1 opts in)",
  disableArc: "checks: { arc: false }",
  disableDmarc: "checks: { dmarc: false }",
  disableBimi: "nothing: msgauth has no BIMI",
  trustReceived: "envelopeFromMessage(message) before authenticate() (see docs/authenticate.md)",
  cv: "chain (the ArcResult of the received chain)",
  privateKey: "nothing here: keys sign in signDkim, sealArc and authenticate's seal option",
};

export type Hints = Readonly<Record<string, string>>;

/** Throws the OptionsError for a failed zod parse of `where` (also used by authenticate()'s own schemas). */
export function refuseOptions(where: string, error: z.ZodError, known: readonly string[] = [], hints: Hints = {}): never {
  // An unknown key first: with a missing one beside it, it is usually the same option misnamed.
  const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
  const at = issue.path.length ? `${where}.${issue.path.join(".")}` : where;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const path = `${at}.${key}`;
    const hint = (issue.path.length === 0 ? hints[key] : undefined) ?? COMMON_HINTS[key];
    const list = issue.path.length === 0 && known.length ? ` (known: ${known.join(", ")})` : "";
    throw new OptionsError(
      "ERR_MSGAUTH_UNKNOWN_OPTION",
      path,
      hint ? `${path}: unknown option; in msgauth this is ${hint}` : `${path}: unknown option${list}`,
      hint,
    );
  }
  throw new OptionsError("ERR_MSGAUTH_INVALID_OPTION", at, `${at}: ${issue.message}`);
}

/**
 * A checker for one options shape: returns the value unchanged (not zod's copy) when it is valid,
 * throws OptionsError otherwise. `where` is the name used in messages ("options", "envelope").
 * `hints` adds names specific to this entry point (a key that belongs in another argument).
 */
/** A schema for every key of T (tsc fails when an option is added to T and not to its schema). */
export type OptionsShape<T> = { [K in keyof T]-?: z.ZodType };

export function optionsChecker<T>(name: string, shape: OptionsShape<T>, hints: Hints = {}): (value: unknown, where?: string) => T {
  const schema = z.object(shape as z.ZodRawShape).strict();
  const known = Object.keys(shape);
  return (value: unknown, where = name): T => {
    if (value === undefined) value = {};
    if (isVouched(value)) return value as T;
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new OptionsError(
        "ERR_MSGAUTH_INVALID_OPTION",
        where,
        `${where}: expected an object, got ${value === null ? "null" : typeof value}`,
      );
    const r = schema.safeParse(value);
    if (!r.success) refuseOptions(where, r.error, known, hints);
    return value as T;
  };
}

/**
 * Marks options objects msgauth built itself from options already checked (authenticate() passing
 * its checks' options on): the checkers return them as they are instead of parsing them again. The
 * symbol never leaves msgauth (not exported, not registered), so an object a caller made is always
 * checked. (A symbol rather than a WeakSet: ephemeral WeakSet entries cost the garbage collector.)
 */
export const VOUCHED: unique symbol = Symbol("msgauth: options checked");

/**
 * The mark's value. A Proxy's get trap sees the VOUCHED key when asked for it, so the key alone
 * could be answered by a caller's object (red team: a Proxy answering `true` skipped every check,
 * and `queryTimeoutMs: Infinity` then hung checkSpf); this value never reaches a caller's code.
 */
export const VOUCH_TOKEN: unique symbol = Symbol("msgauth: vouched");

/** Whether msgauth made and marked these options (vouch() or a literal with VOUCHED): checked already. */
export function isVouched(options: unknown): boolean {
  return typeof options === "object" && options !== null && (options as Vouched)[VOUCHED] === VOUCH_TOKEN;
}

/** The mark in an options literal made whole (`{ [VOUCHED]: VOUCH_TOKEN, ... }`): the same as vouch() without adding a property later. */
export type Vouched = { readonly [VOUCHED]?: typeof VOUCH_TOKEN };

/** Marks an options object msgauth made from checked values, for the checkers to skip (see VOUCHED). */
export function vouch<T extends object>(options: T): T {
  (options as { [VOUCHED]?: typeof VOUCH_TOKEN })[VOUCHED] = VOUCH_TOKEN;
  return options;
}

/** Strict nested object of optional fields. */
export const partialStrict = (shape: z.ZodRawShape) => z.object(shape).partial().strict();

export const fn = <T extends (...args: never[]) => unknown>(name: string) =>
  z.custom<T>((v) => typeof v === "function", { message: `${name} must be a function` });

/**
 * Whether `v` is an object with the five Resolver methods. Reading them may throw (a Proxy, a
 * getter): such a resolver cannot be checked, so it is refused here (OptionsError at option check
 * time); a resolver that throws or misbehaves when called is the DNS guard's business (temperror).
 */
export function isResolver(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  try {
    // Read in this order, each once, stopping at the first that is not a function; no array or
    // closure a call (the hand-written option checks of every check call this per message).
    const r = v as Record<string, unknown>;
    return (
      typeof r.txt === "function" &&
      typeof r.a === "function" &&
      typeof r.aaaa === "function" &&
      typeof r.mx === "function" &&
      typeof r.ptr === "function"
    );
  } catch {
    return false;
  }
}

/** An object literal's kind of object: its prototype is Object.prototype or null. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** A Resolver object; mailauth's resolver is a function, which gets the way to wrap it. */
export const resolverSchema = z.custom<Resolver>((v) => isResolver(v), {
  error: (issue) =>
    typeof issue.input === "function"
      ? "a resolver is an object with txt, a, aaaa, mx and ptr; wrap a dns.promises.resolve-style function with fromResolveFunction(fn)"
      : "resolver must implement txt, a, aaaa, mx and ptr",
});

export const positiveInt = z.number().int().positive();
export const nonNegativeInt = z.number().int().min(0);

/**
 * The longest wait a Node.js timer takes: setTimeout, setInterval, socket.setTimeout and
 * AbortSignal.timeout fire after 1 ms (TimeoutOverflowWarning) for anything longer, so an option
 * meaning "effectively never" would give up at once. Every millisecond option that becomes a timer
 * is refused above it (about 24.8 days); a delay msgauth computes from one (what is left of a budget)
 * is never longer than the option it comes from.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const WHY_LIMIT = "2^31-1, about 24.8 days: the longest a Node.js timer waits";

/** Whether `v` is an integer from `min` to MAX_TIMER_MS (the one test behind timerMs and checkTimerMs). */
export const isTimerMs = (v: unknown, min = 1): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS;

const timerRange = (min: number) => `must be an integer from ${min} to ${MAX_TIMER_MS} ms (${WHY_LIMIT})`;

/** A millisecond option that becomes a timer: an integer from 1 to MAX_TIMER_MS (one message for every refusal). */
export const timerMs = z.custom<number>((v) => isTimerMs(v, 1), { message: timerRange(1) });
/** The same where 0 means no wait. */
export const timerMsOrZero = z.custom<number>((v) => isTimerMs(v, 0), { message: timerRange(0) });

/**
 * The hand-written check of a timer option (for entry points not checked by a zod schema): nothing
 * when `value` is undefined or an integer from `min` (1 by default) to MAX_TIMER_MS, otherwise the
 * OptionsError naming `path` ("options.timeoutMs") and the limit.
 */
export function checkTimerMs(value: unknown, path: string, min = 1): void {
  if (value === undefined || isTimerMs(value, min)) return;
  const got = typeof value === "number" ? String(value) : typeof value;
  throw invalidOption(path, `${path}: ${timerRange(min)}, got ${got}`);
}
export const anyObject = z.custom<object>((v) => typeof v === "object" && v !== null, { message: "expected an object" });
export const bytesOrText = z.custom<string | Uint8Array>((v) => typeof v === "string" || v instanceof Uint8Array, {
  message: "expected a string or bytes",
});

// ---- The entry points' option shapes, in one place (their modules call the checkers). ----

const signal = z.custom<AbortSignal>((v) => isAbortSignal(v), { message: "signal must be an AbortSignal" });
const clock = fn<() => number>("now");

/** authenticate()'s envelope: mailauth puts these in its options, msgauth in the envelope and vice versa. */
export const ENVELOPE_HINTS: Hints = {
  sender: "envelope.mailFrom",
  mta: "options.authservId",
  resolver: "options.resolver",
  trustReceived: "envelopeFromMessage(message): it returns an envelope to pass here",
  seal: "options.seal",
};

/** authenticate()'s options: the envelope's fields and sealing keys in the wrong place. */
export const AUTHENTICATE_HINTS: Hints = {
  ip: "envelope.ip (the second argument)",
  helo: "envelope.helo (the second argument)",
  sender: "envelope.mailFrom (the second argument)",
  mailFrom: "envelope.mailFrom (the second argument)",
  mta: "authservId",
  privateKey: "seal.privateKey (to seal ARC), or signDkim() to sign",
  selector: "seal.selector (to seal ARC), or signDkim() to sign",
  signingDomain: "seal.domain (to seal ARC), or signDkim() to sign",
  domain: "seal.domain (to seal ARC), or signDkim() to sign",
  minBitLength: "dkim.minRsaBits",
  maxResolveCount: "limits.spfMaxLookups",
  maxVoidCount: "limits.spfMaxVoidLookups",
};

/** SPF envelope (checkSpf's first argument): mailauth passes `sender` where msgauth reads `mailFrom`. */
export const checkSpfParams = optionsChecker<SpfParams>(
  "params",
  { ip: z.string(), helo: z.string().optional(), mailFrom: z.string().optional() },
  { sender: "mailFrom" },
);

/** checkSpfHelo's first argument: the HELO identity alone. */
export const checkSpfHeloParams = optionsChecker<Omit<SpfParams, "mailFrom">>(
  "params",
  { ip: z.string(), helo: z.string().optional() },
  { mailFrom: "checkSpf (checkSpfHelo checks the HELO identity only)", sender: "checkSpf (checkSpfHelo checks the HELO identity only)" },
);

const spfShape: OptionsShape<SpfOptions> = {
  resolver: resolverSchema,
  maxLookups: nonNegativeInt.optional(),
  maxVoidLookups: nonNegativeInt.optional(),
  maxMxNames: positiveInt.optional(),
  maxPtrNames: positiveInt.optional(),
  timeBudgetMs: timerMs.optional(),
  signal: signal.optional(),
  receiver: z.string().optional(),
  now: clock.optional(),
  prefetch: z.boolean().optional(),
};
const SPF_HINTS: Hints = {
  ip: "params.ip (the first argument)",
  helo: "params.helo (the first argument)",
  sender: "params.mailFrom (the first argument)",
  mta: "receiver",
};
export const checkSpfOptions = optionsChecker<SpfOptions>("options", spfShape, SPF_HINTS);

export const checkDkimVerifyOptions = optionsChecker<DkimVerifyOptions>(
  "options",
  {
    resolver: resolverSchema,
    now: clock.optional(),
    allowSha1: z.boolean().optional(),
    minRsaBits: positiveInt.optional(),
    maxSignatures: positiveInt.optional(),
    clockSkewSeconds: nonNegativeInt.optional(),
    limits: partialStrict({ maxHeaderBytes: positiveInt, maxHeaderFields: positiveInt }).optional(),
    signal: signal.optional(),
    bodyHashes: anyObject.optional(),
  },
  { sender: "nothing: DKIM does not read the envelope", minBitLength: "minRsaBits", curTime: "now" },
);

export const checkArcVerifyOptions = optionsChecker<ArcVerifyOptions>(
  "options",
  { resolver: resolverSchema, minRsaBits: positiveInt.optional(), bodyHashes: anyObject.optional(), signal: signal.optional() },
  { minBitLength: "minRsaBits" },
);

export const checkDmarcOptions = optionsChecker<DmarcOptions>("options", {
  resolver: resolverSchema,
  mode: z.enum(["rfc9989", "rfc7489"]).optional(),
  random: fn<() => number>("random").optional(),
  maxAuthorDomains: positiveInt.optional(),
  lookups: anyObject.optional(),
  signal: signal.optional(),
});

export const checkIprevOptions = optionsChecker<{ resolver: Resolver; maxNames?: number; signal?: AbortSignal }>("options", {
  resolver: resolverSchema,
  maxNames: positiveInt.optional(),
  signal: signal.optional(),
});

export const checkReportDestinationOptions = optionsChecker<ReportDestinationOptions>("options", {
  resolver: resolverSchema,
  mode: z.enum(["rfc9989", "rfc7489"]).optional(),
  signal: signal.optional(),
  timeoutMs: timerMs.optional(),
});

/** checkDnsbl, checkDomainBl, checkSenderNullMx. */
export const checkLookupOptions = optionsChecker<{ resolver: Resolver; signal?: AbortSignal }>("options", {
  resolver: resolverSchema,
  signal: signal.optional(),
});

export const checkNextHopOptions = optionsChecker<NextHopOptions>("options", {
  resolver: resolverSchema,
  random: fn<() => number>("random").optional(),
  addresses: z.boolean().optional(),
  maxHosts: positiveInt.optional(),
  signal: signal.optional(),
});

export const checkBudgetOptions = optionsChecker<QueryBudgetOptions>("options", {
  maxQueries: nonNegativeInt.optional(),
  timeBudgetMs: timerMs.optional(),
  queryTimeoutMs: timerMs.optional(),
  signal: signal.optional(),
  onQuery: fn<(e: DnsQueryEvent) => void>("onQuery").optional(),
  now: clock.optional(),
});

export const checkNodeResolverOptions = optionsChecker<NodeResolverOptions>("options", {
  servers: z.array(z.string()).optional(),
  timeoutMs: timerMs.optional(),
  tries: positiveInt.optional(),
});

export const checkCacheOptions = optionsChecker<CacheOptions>("options", {
  maxEntries: positiveInt.optional(),
  defaultTtl: nonNegativeInt.optional(),
  negativeTtl: nonNegativeInt.optional(),
  maxTtl: nonNegativeInt.optional(),
  now: clock.optional(),
});

export const checkFixtureResolverOptions = optionsChecker<FixtureResolverOptions>("options", {
  timeoutDelayMs: timerMsOrZero.optional(),
});

export const checkReceivedSpfOptions = optionsChecker<ReceivedSpfOptions>(
  "options",
  { receiver: z.string().optional() },
  { mta: "receiver" },
);

export const checkSessionOptions = optionsChecker<SessionOptions>(
  "options",
  {
    hostname: z.string().min(1),
    clientIp: z.string(),
    mode: z.enum(["mx", "submission", "submissions"]).optional(),
    tlsAvailable: z.boolean().optional(),
    auth: z.boolean().optional(),
    allowPlaintextAuth: z.boolean().optional(),
    authMechanisms: z.array(z.enum(["PLAIN", "LOGIN"])).optional(),
    localDomains: z.union([z.array(z.string()), fn<(d: string) => boolean>("localDomains")]).optional(),
    isTrustedClient: fn<(ip: string) => boolean>("isTrustedClient").optional(),
    maxMessageSize: positiveInt.optional(),
    maxRecipients: positiveInt.optional(),
    maxErrors: positiveInt.optional(),
    maxLineLength: positiveInt.optional(),
    rejectBareLineFeed: z.boolean().optional(),
    maxPendingInput: positiveInt.optional(),
  },
  { ip: "clientIp", helo: "nothing: the session reads HELO from the client", mta: "hostname" },
);

export const checkCommandOptions = optionsChecker<CommandOptions>("options", {
  maxLineLength: positiveInt.optional(),
  utf8: z.boolean().optional(),
});

export const checkDsnOptions = optionsChecker<DsnOptions>("options", {
  reportingMta: z.string().min(1),
  from: z.string().optional(),
  envelope: partialStrict({ mailFrom: z.string(), envid: z.string(), ret: z.enum(["FULL", "HDRS"]) }).required({ mailFrom: true }),
  recipients: z.array(anyObject),
  original: z.instanceof(Uint8Array),
  arrivalDate: z.date().optional(),
  now: clock.optional(),
  boundary: z.string().optional(),
  messageId: z.string().optional(),
});

export const checkZoneFileOptions = optionsChecker<ZoneFileOptions>("options", {
  file: z.string().optional(),
  origin: z.string().optional(),
});

export const checkArcOverrideOptions = optionsChecker<ArcOverrideOptions>("options", { trustedSealers: z.array(z.string()) });

/** The OptionsError for a key msgauth does not know: `path` names it ("options.foo"). */
export function unknownOption(path: string, message: string): OptionsError {
  return new OptionsError("ERR_MSGAUTH_UNKNOWN_OPTION", path, message);
}

/** The OptionsError for a known option with a wrong type or value, or a missing required one. */
export function invalidOption(path: string, message: string): OptionsError {
  return new OptionsError("ERR_MSGAUTH_INVALID_OPTION", path, message);
}

/**
 * Refuses an options value that is not a plain object (`where`: invalid option) or that has a key
 * outside `known` (`${where}.key`: unknown option). `message` words the refusal of a key.
 */
export function checkOptionKeys(
  options: unknown,
  known: ReadonlySet<string> | readonly string[],
  where: string,
  message: (key: string) => string,
): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw invalidOption(where, `${where} must be an object`);
  const has = (k: string) => (Array.isArray(known) ? known.includes(k) : (known as ReadonlySet<string>).has(k));
  for (const k of Object.keys(options)) if (!has(k)) throw unknownOption(`${where}.${k}`, message(k));
}

/**
 * What an observer (onQuery, onTiming, a logger method) returned, let go: a promise it returned
 * gets a rejection handler, so an async hook that fails is not an unhandled rejection, which ends a
 * Node process by default (red team). Its own throw is the caller's to catch.
 */
export function dropObserved(returned: unknown): void {
  if (returned === null || (typeof returned !== "object" && typeof returned !== "function")) return;
  try {
    const then = (returned as { then?: unknown }).then;
    if (typeof then === "function") then.call(returned, undefined, () => {});
  } catch {
    // A thenable that throws when looked at: nothing to wait for.
  }
}
