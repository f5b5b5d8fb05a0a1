import { listenAbort, signalAborted, signalReason, unlistenAbort } from "../abort.js";
import { describeError, OptionsError } from "../errors.js";
import { checkOptionKeys, checkTimerMs } from "../options.js";
import { addDeadline, type Deadline, removeDeadline } from "./deadlines.js";
import type { DnsAnswer, MxRecord, QueryOptions, RecordType, Resolver } from "./types.js";

/**
 * The resolver boundary. A Resolver is code msgauth did not write: it may throw, reject, return
 * something that is not a DnsAnswer, or never settle. Every query msgauth makes goes through
 * `guardedQuery`, which turns each of those into `{ kind: "error", reason }` (temperror for that
 * query), so no protocol module ever sees an answer it was not typed for, and no wait is unbounded.
 */

/** Default milliseconds msgauth waits for one answer before treating the query as failed. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/** Records in one answer: a DNS message is at most 65,535 bytes, so no real answer has more. */
const MAX_RECORDS = 4096;
/** Characters in one record (a TXT record's chunks joined are under 65,535 bytes). */
const MAX_RECORD_CHARS = 65_535;
/** Characters kept of an error reason (it may end up in a header field). */
const MAX_REASON_CHARS = 200;

const KINDS = new Set(["ok", "nxdomain", "nodata", "error"]);

/** A reason safe to carry: a string, controls replaced, bounded. Never throws. */
export function reasonText(value: unknown, fallback: string): string {
  let text: string;
  try {
    text = typeof value === "string" || value instanceof Error ? describeError(value) : fallback;
  } catch {
    text = fallback;
  }
  text = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (text === "") text = fallback;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}...` : text;
}

function malformed(type: RecordType, what: string): DnsAnswer<never> {
  return { kind: "error", reason: `malformed ${type} answer from the resolver: ${what}` };
}

function validTtl(ttl: unknown): ttl is number | undefined {
  return ttl === undefined || (typeof ttl === "number" && Number.isFinite(ttl) && ttl >= 0);
}

/**
 * Checks that `raw` is a well-formed DnsAnswer for `type` and returns a fresh copy of it (plain
 * data: later changes to the resolver's objects, getters or proxies cannot reach msgauth). Anything
 * else becomes an error answer naming the problem. Never throws.
 *
 * `owned` (msgauth's own resolvers only, see answersNow): `raw` is a plain answer msgauth's code
 * has just made, it and its records array held by no one else; they are checked as any answer (the
 * records come from user data) but not copied: `raw` itself is returned when it is valid.
 */
export function validateAnswer(type: "MX", raw: unknown, owned?: boolean): DnsAnswer<MxRecord[]>;
export function validateAnswer(type: Exclude<RecordType, "MX">, raw: unknown, owned?: boolean): DnsAnswer<string[]>;
export function validateAnswer(type: RecordType, raw: unknown, owned?: boolean): DnsAnswer<string[] | MxRecord[]>;
export function validateAnswer(type: RecordType, raw: unknown, owned = false): DnsAnswer<string[] | MxRecord[]> {
  try {
    if (typeof raw !== "object" || raw === null) return malformed(type, raw === null ? "null" : typeof raw);
    const a = raw as Record<string, unknown>;
    const kind = a.kind;
    if (typeof kind !== "string" || !KINDS.has(kind)) return malformed(type, "no valid kind");
    if (kind === "error") return { kind: "error", reason: reasonText(a.reason, "resolver error") };
    const ttl = a.ttl;
    if (!validTtl(ttl)) return malformed(type, "ttl is not a non-negative number");
    if (kind === "nxdomain" || kind === "nodata") {
      if (owned) return raw as Answer;
      return ttl === undefined ? { kind } : { kind, ttl };
    }
    const records = a.records;
    if (!Array.isArray(records)) return malformed(type, "records is not an array");
    const n = records.length;
    if (n > MAX_RECORDS) return malformed(type, `${n} records`);
    let out: string[] | MxRecord[];
    if (owned && type !== "MX") {
      // The same checks as below, without the copy (its MX records are the zone's own objects: copied).
      for (let i = 0; i < n; i++) {
        const r = records[i] as unknown;
        if (typeof r !== "string") return malformed(type, `record ${i} is ${r === null ? "null" : typeof r}, not a string`);
        if (r.length > MAX_RECORD_CHARS) return malformed(type, `record ${i} is too long`);
      }
      return raw as Answer;
    }
    if (type === "MX") {
      const mx: MxRecord[] = [];
      for (let i = 0; i < n; i++) {
        const r = records[i] as unknown;
        if (typeof r !== "object" || r === null) return malformed(type, `record ${i} is not an object`);
        const { exchange, priority } = r as Record<string, unknown>;
        if (typeof exchange !== "string" || exchange.length > 255) return malformed(type, `record ${i} has no valid exchange`);
        // RFC 1035 3.3.9: PREFERENCE is a 16-bit integer.
        if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 0 || priority > 65535)
          return malformed(type, `record ${i} has no valid priority`);
        mx.push({ exchange, priority });
      }
      out = mx;
    } else {
      const strings: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = records[i] as unknown;
        if (typeof r !== "string") return malformed(type, `record ${i} is ${r === null ? "null" : typeof r}, not a string`);
        if (r.length > MAX_RECORD_CHARS) return malformed(type, `record ${i} is too long`);
        strings.push(r);
      }
      out = strings;
    }
    return ttl === undefined ? { kind: "ok", records: out } : { kind: "ok", records: out, ttl };
  } catch (err) {
    // A getter or a proxy threw while being read.
    return malformed(type, reasonText(err, "reading it threw"));
  }
}

const GUARD_OPTIONS = ["timeoutMs", "timeoutReason", "signal", "onSent"] as const;

export interface GuardOptions {
  /** Milliseconds to wait for one answer: an integer from 1 to 2^31-1 (MAX_TIMER_MS). Default 10,000. */
  timeoutMs?: number;
  /** The reason given when timeoutMs passes. */
  timeoutReason?: string;
  /**
   * Stops waiting (and aborts the query for resolvers that honour it) when aborted; several signals
   * stop it when any of them aborts (each is listened to directly: no AbortSignal.any per query).
   */
  signal?: AbortSignal | readonly AbortSignal[];
  /**
   * Given, once the query is sent, a function that abandons it (as an aborted signal would): a
   * cheaper handle than an AbortController for a caller that may let one query go.
   */
  onSent?: (abandon: (reason: string) => void) => void;
}

/**
 * Why a signal was aborted, as a reason for an error answer. The reason is the caller's value: one
 * that throws when looked at (a `name` getter, a Proxy's trap) is "aborted" (red team: it threw out
 * of the abort listener, an uncaught exception that ended the process).
 */
export function abortReason(signal: AbortSignal): string {
  const r = signalReason(signal);
  try {
    if (r instanceof Error && r.name === "TimeoutError") return "timed out";
    if (r instanceof Error && r.name !== "AbortError") return reasonText(r, "aborted");
    return typeof r === "string" ? reasonText(r, "aborted") : "aborted";
  } catch {
    return "aborted";
  }
}

type Answer = DnsAnswer<string[] | MxRecord[]>;

/** Resolver methods of msgauth's own the guard calls with the name alone (see optionless). */
const OPTIONLESS = new Set<unknown>();

/**
 * Registers resolver methods of msgauth's own that the guard calls with the name alone, sparing
 * the options object (about 0.1 us a query) and, for a resolver that reads it, the AbortSignal
 * (about 2.5 us with its listener): FixtureResolver's and CachingResolver's, which never read their
 * options, and NodeResolver's, whose only use of the signal is to stop waiting for node:dns (which
 * cannot cancel one query: the lookup runs to its end either way), which the guard already does.
 * A method overridden in a subclass or on an instance is not one of these.
 */
export function optionless(...methods: unknown[]): void {
  for (const m of methods) OPTIONLESS.add(m);
}

/**
 * Resolver methods of msgauth's own that can answer at once (FixtureResolver's), each with the
 * function giving that answer: what the method's promise would resolve to, or undefined when it
 * cannot answer now (then the method is called).
 */
const ANSWERS_NOW = new Map<unknown, (resolver: Resolver, type: RecordType, name: string) => unknown>();

/**
 * Registers resolver methods of msgauth's own whose answer `now(resolver, type, name)` gives
 * synchronously: the guard takes it (validated as any answer, see validateAnswer's `owned`) without
 * calling the method, sparing the lookup's promise, the guard's `then` on it and the copy of the
 * answer (about 0.1 us a query). The answer still settles the query one microtask later, as the
 * method's promise would. A method overridden in a subclass or on an instance is not one of these.
 */
export function answersNow(now: (resolver: Resolver, type: RecordType, name: string) => unknown, ...methods: unknown[]): void {
  for (const m of methods) ANSWERS_NOW.set(m, now);
}

/** The resolver's method for `type`, read once. May throw (a getter). */
function methodOf(resolver: Resolver, type: RecordType): unknown {
  return type === "TXT"
    ? resolver.txt
    : type === "A"
      ? resolver.a
      : type === "AAAA"
        ? resolver.aaaa
        : type === "MX"
          ? resolver.mx
          : resolver.ptr;
}

/** Calls the resolver's `method` for `type` with the guard's per-query options. May throw. */
function ask(method: unknown, resolver: Resolver, type: RecordType, name: string, query: PendingQuery): unknown {
  // One of msgauth's own methods: its own Function.prototype.call, and no options to make.
  if (OPTIONLESS.has(method)) return (method as (name: string) => unknown).call(resolver, name);
  if (typeof method !== "function") throw new TypeError(`resolver.${type === "TXT" ? "txt" : type.toLowerCase()} is not a function`);
  return Reflect.apply(method, resolver, [name, new ResolverOptions(query)]);
}

/** The answer `now` gives at once, validated; undefined when it gives none. Never throws. */
function answerAtOnce(
  now: (resolver: Resolver, type: RecordType, name: string) => unknown,
  resolver: Resolver,
  type: RecordType,
  name: string,
): Answer | undefined {
  let raw: unknown;
  try {
    raw = now(resolver, type, name);
  } catch (err) {
    // As the method's promise would have rejected.
    return { kind: "error", reason: reasonText(err, "the resolver failed") };
  }
  return raw === undefined ? undefined : validateAnswer(type, raw, true);
}

/**
 * Queries answered at once, waiting for their microtask (see PendingQuery.send): one microtask a
 * query, each settling the oldest, so they settle in the order and at the turn their `then` would.
 */
let earlyHead: PendingQuery | undefined;
let earlyTail: PendingQuery | undefined;
let settleEarly: () => Answer;
const RESOLVED = Promise.resolve();

let captured: ((answer: Answer) => void) | undefined;
/** A promise executor that hands its resolve function over in `captured`. */
function captureResolve(resolve: (answer: Answer) => void): void {
  captured = resolve;
}

/** What keeps track of a group of pending queries (a BudgetedResolver's): told when one settles. */
export interface QueryGroup {
  settled(q: PendingQuery): void;
}

/**
 * One query on its way through the guard. `answer` settles exactly once: with the resolver's
 * answer, validated, or with an error answer when msgauth stops waiting (its deadline, in the
 * shared scheduler, passed; a signal aborted; it was abandoned). The resolver's own signal is
 * aborted whenever msgauth stops waiting.
 */
export class PendingQuery implements Deadline {
  /** Made when it is sent (see send), or when it settles before. */
  answer!: Promise<Answer>;
  at: number;
  slot = -1;
  /** Links in its group's list of pending queries (see BudgetedResolver). */
  prev: PendingQuery | undefined;
  next: PendingQuery | undefined;
  /** Its answer once settled (what `answer` resolves to), for reading it without an await. */
  settledAnswer: Answer | undefined;
  /** What resolves `answer`, when `answer` is a promise of the query's own (not a resolver's answer taken at once). */
  #resolve: ((answer: Answer) => void) | undefined;
  /** An answer given at once, and the next such query, until its microtask settles it. */
  #early: Answer | undefined;
  #nextEarly: PendingQuery | undefined;
  #abandoned = false;
  #inner: AbortController | undefined;
  readonly #timeoutReason: string;
  readonly #group: QueryGroup | undefined;
  /** Signals of this query's own, each with its listener (removed when it settles). */
  #signals: readonly AbortSignal[] | undefined;
  #listeners: (() => void)[] | undefined;

  /** `at`: performance.now() milliseconds when it gives up with `timeoutReason` (Infinity: never). */
  constructor(at: number, timeoutReason: string, group?: QueryGroup) {
    this.at = at;
    this.#timeoutReason = timeoutReason;
    this.#group = group;
  }

  /** Also gives up when any of `signals` (none aborted) aborts: a listener on each until it settles. */
  listen(signals: readonly AbortSignal[]): void {
    const listeners: (() => void)[] = [];
    for (const s of signals) {
      const onAbort = () => this.abandon(abortReason(s));
      listenAbort(s, onAbort);
      listeners.push(onAbort);
    }
    this.#signals = signals;
    this.#listeners = listeners;
  }

  /**
   * Sends the query: schedules its deadline and calls the resolver (or takes the answer of one of
   * msgauth's own that answers at once: see answersNow). A throw, a rejection or a malformed answer
   * becomes an error answer.
   */
  send(resolver: Resolver, type: RecordType, name: string): void {
    let pending: unknown;
    try {
      const method = methodOf(resolver, type);
      const now = this.settledAnswer === undefined ? ANSWERS_NOW.get(method) : undefined;
      if (now !== undefined) {
        const answer = answerAtOnce(now, resolver, type, name);
        if (answer !== undefined) {
          // Settled in a microtask, as the `then` below would, and `answer` is that microtask's
          // promise: 2 promises, 2 closures and a promise's resolve functions fewer (0.2 us a query).
          // No deadline to schedule: nothing waits, and the microtask runs before any timer could.
          this.#early = answer;
          if (earlyTail === undefined) earlyHead = this;
          else earlyTail.#nextEarly = this;
          earlyTail = this;
          this.answer = RESOLVED.then(settleEarly);
          return;
        }
      }
      addDeadline(this);
      if (this.settledAnswer === undefined) {
        // One executor for every query (no closure made per query): it runs at once, handing over resolve.
        this.answer = new Promise<Answer>(captureResolve);
        this.#resolve = captured!;
        captured = undefined;
      }
      pending = ask(method, resolver, type, name, this);
      // Promise.resolve reads `then` (and a promise's `constructor`): a getter there may throw too.
      Promise.resolve(pending).then(
        (raw) => this.#finish(validateAnswer(type, raw), false),
        (err) => this.#finish({ kind: "error", reason: reasonText(err, "the resolver failed") }, false),
      );
    } catch (err) {
      this.#finish({ kind: "error", reason: reasonText(err, pending === undefined ? "the resolver threw" : "the resolver failed") }, false);
    }
  }

  static {
    settleEarly = () => {
      const q = earlyHead!;
      earlyHead = q.#nextEarly;
      if (earlyHead === undefined) earlyTail = undefined;
      q.#nextEarly = undefined;
      const answer = q.#early!;
      q.#early = undefined;
      q.#finish(answer, false);
      // What it settled with: this answer, or the error of an abandon or expiry that came first.
      return q.settledAnswer!;
    };
  }

  /** The resolver's own signal, made on first read: most resolvers (a fixture, a cache hit) never read it. */
  resolverSignal(): AbortSignal {
    if (!this.#inner) {
      this.#inner = new AbortController();
      if (this.#abandoned) this.#inner.abort();
    }
    return this.#inner.signal;
  }

  /** Its deadline passed (called by the scheduler). */
  expire(): void {
    this.#finish({ kind: "error", reason: this.#timeoutReason }, true);
  }

  /** Stops waiting for it: its answer is an error naming `reason`. */
  abandon(reason: string): void {
    this.#finish({ kind: "error", reason: `DNS query abandoned: ${reason}` }, true);
  }

  #finish(answer: Answer, abandon: boolean): void {
    if (this.settledAnswer !== undefined) return;
    this.settledAnswer = answer;
    removeDeadline(this);
    const signals = this.#signals;
    if (signals !== undefined) for (let i = 0; i < signals.length; i++) unlistenAbort(signals[i]!, this.#listeners![i]!);
    this.#group?.settled(this);
    if (abandon) {
      this.#abandoned = true;
      this.#inner?.abort();
    }
    // `answer` not made yet: settled before it was sent (an onSent callback abandoned it).
    if (this.#resolve !== undefined) this.#resolve(answer);
    else this.answer ??= Promise.resolve(answer);
  }
}

/**
 * The options a resolver is given with a query: `signal` is an own enumerable property, as in an
 * object literal, whose getter makes the query's AbortSignal on first read (an AbortSignal costs
 * about 2 us to make). Not an object literal with a getter: each of those got a hidden class of
 * its own, 0.3 us and garbage for the full collector each query.
 */
class ResolverOptions implements QueryOptions {
  readonly #query: PendingQuery;
  declare readonly signal: AbortSignal;
  constructor(query: PendingQuery) {
    this.#query = query;
    Object.defineProperty(this, "signal", SIGNAL);
  }
  static signalOf(o: object): AbortSignal | undefined {
    return #query in o ? o.#query.resolverSignal() : undefined;
  }
}
const SIGNAL: PropertyDescriptor = {
  get(this: object) {
    return ResolverOptions.signalOf(this);
  },
  enumerable: true,
  configurable: true,
};

/**
 * Runs one query on an untrusted resolver: catches synchronous throws and rejections, validates the
 * answer, and stops waiting after `timeoutMs` or when `signal` aborts. The resolver is given its
 * own AbortSignal, aborted whenever msgauth stops waiting. Always settles; never rejects.
 */
export function guardedQuery(resolver: Resolver, type: "MX", name: string, options?: GuardOptions): Promise<DnsAnswer<MxRecord[]>>;
export function guardedQuery(
  resolver: Resolver,
  type: Exclude<RecordType, "MX">,
  name: string,
  options?: GuardOptions,
): Promise<DnsAnswer<string[]>>;
export function guardedQuery(
  resolver: Resolver,
  type: RecordType,
  name: string,
  options?: GuardOptions,
): Promise<DnsAnswer<string[] | MxRecord[]>>;
export function guardedQuery(
  resolver: Resolver,
  type: RecordType,
  name: string,
  options: GuardOptions = {},
): Promise<DnsAnswer<string[] | MxRecord[]>> {
  checkGuardOptions(options);
  return guardQuery(resolver, type, name, options);
}

/** guardedQuery with options already checked. */
function guardQuery(resolver: Resolver, type: "MX", name: string, options: GuardOptions): Promise<DnsAnswer<MxRecord[]>>;
function guardQuery(resolver: Resolver, type: Exclude<RecordType, "MX">, name: string, options: GuardOptions): Promise<DnsAnswer<string[]>>;
function guardQuery(resolver: Resolver, type: RecordType, name: string, options: GuardOptions): Promise<DnsAnswer<string[] | MxRecord[]>>;
function guardQuery(resolver: Resolver, type: RecordType, name: string, options: GuardOptions): Promise<DnsAnswer<string[] | MxRecord[]>> {
  const outer: readonly AbortSignal[] =
    options.signal === undefined
      ? []
      : Array.isArray(options.signal)
        ? (options.signal as readonly AbortSignal[])
        : [options.signal as AbortSignal];
  for (const s of outer) if (signalAborted(s)) return Promise.resolve({ kind: "error", reason: `DNS query not sent: ${abortReason(s)}` });
  const ms = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const q = new PendingQuery(
    Number.isFinite(ms) ? performance.now() + Math.max(0, ms) : Number.POSITIVE_INFINITY,
    options.timeoutReason === undefined
      ? `no DNS answer within ${ms} ms`
      : reasonText(options.timeoutReason, `no DNS answer within ${ms} ms`),
  );
  if (outer.length > 0) q.listen(outer);
  options.onSent?.((reason) => q.abandon(reason));
  q.send(resolver, type, name);
  return q.answer;
}

const guarded = new WeakSet<object>();
/** Classes whose instances are guarded, each with its brand check (a Proxy may claim the prototype). */
const guardedPrototypes = new Map<object, (o: object) => boolean>();

/** Marks a resolver whose every method already goes through guardedQuery (the guard's wrappers). */
export function markGuarded<R extends Resolver>(resolver: R): R {
  guarded.add(resolver);
  return resolver;
}

/**
 * Marks a class whose every method goes through the guard (BudgetedResolver): its instances, not
 * those of a subclass, which may override a method. A WeakSet entry per instance cost 0.1 us.
 * `isInstance` is its brand check (a private field's `in`): a Proxy claiming the prototype is not
 * one. The class must keep its instances from shadowing a method (BudgetedResolver makes them
 * non-extensible).
 */
export function markGuardedClass(prototype: object, isInstance: (o: object) => boolean): void {
  guardedPrototypes.set(prototype, isInstance);
}

function isGuarded(resolver: Resolver): boolean {
  // The prototype first: a BudgetedResolver (authenticate()'s, asked three times a call) is found
  // without a WeakSet lookup. Only the guard's own wrappers are in `guarded`, and none is a Proxy.
  let prototype: unknown;
  try {
    prototype = Object.getPrototypeOf(resolver);
  } catch {
    return guarded.has(resolver); // a Proxy whose getPrototypeOf throws
  }
  const isInstance = guardedPrototypes.get(prototype as object);
  return isInstance?.(resolver) === true || guarded.has(resolver);
}

/**
 * A resolver whose answers are always well-formed DnsAnswers and whose waits are bounded: what every
 * public function taking a Resolver uses. Returns `resolver` itself when it is already guarded.
 */
export function guardResolver(resolver: Resolver, options: GuardOptions = {}): Resolver {
  checkGuardOptions(options);
  if (options.signal === undefined && options.timeoutMs === undefined && isGuarded(resolver)) return resolver;
  const plain =
    options.signal === undefined && options.timeoutMs === undefined && options.timeoutReason === undefined && options.onSent === undefined;
  if (!plain) return guardWith(resolver, options);
  // With no options the guard holds nothing of one call: made once per resolver, not a wrapper and
  // five closures per check (checkIprev, verifyDkim, checkDmarc each ask for one).
  let g = plainGuards.get(resolver);
  if (g === undefined) {
    g = guardWith(resolver, NO_OPTIONS);
    plainGuards.set(resolver, g);
  }
  return g;
}

const NO_OPTIONS: GuardOptions = Object.freeze({});
const plainGuards = new WeakMap<Resolver, Resolver>();

/**
 * The guard's options, checked: known keys, a timer, and the types of what it calls or writes
 * (red team: an `onSent` that is not a function, or a `timeoutReason` that is a Symbol, threw
 * TypeErrors out of the checks; a reason is an answer's text, so it is cleaned and capped).
 */
function checkGuardOptions(options: GuardOptions): void {
  checkOptionKeys(options, GUARD_OPTIONS, "options", (k) => `options.${k}: unknown option (known: ${GUARD_OPTIONS.join(", ")})`);
  checkTimerMs(options.timeoutMs, "options.timeoutMs");
  if (options.onSent !== undefined && typeof options.onSent !== "function")
    throw new OptionsError("ERR_MSGAUTH_INVALID_OPTION", "options.onSent", "options.onSent: must be a function");
  if (options.timeoutReason !== undefined && typeof options.timeoutReason !== "string")
    throw new OptionsError("ERR_MSGAUTH_INVALID_OPTION", "options.timeoutReason", "options.timeoutReason: must be a string");
}

function guardWith(resolver: Resolver, options: GuardOptions): Resolver {
  // Frozen: it is reused for every later guardResolver(resolver), and known as guarded by
  // identity; a method replaced on it would reach the checks unguarded (red team).
  return markGuarded(
    Object.freeze({
      txt: (name: string, q?: QueryOptions) => guardQuery(resolver, "TXT", name, withSignal(options, q)),
      a: (name: string, q?: QueryOptions) => guardQuery(resolver, "A", name, withSignal(options, q)),
      aaaa: (name: string, q?: QueryOptions) => guardQuery(resolver, "AAAA", name, withSignal(options, q)),
      mx: (name: string, q?: QueryOptions) => guardQuery(resolver, "MX", name, withSignal(options, q)),
      ptr: (ip: string, q?: QueryOptions) => guardQuery(resolver, "PTR", ip, withSignal(options, q)),
    }),
  );
}

/** Both the guard's signal(s) and the caller's, when there are two. */
function withSignal(options: GuardOptions, q: QueryOptions | undefined): GuardOptions {
  const extra = q?.signal;
  if (!extra) return options;
  const own = options.signal === undefined ? [] : Array.isArray(options.signal) ? options.signal : [options.signal as AbortSignal];
  return { ...options, signal: [...own, extra] };
}
