import { listenAbort, signalAborted, unlistenAbort } from "../abort.js";
import { checkBudgetOptions, dropObserved } from "../options.js";
import { addDeadline, type Deadline, removeDeadline } from "./deadlines.js";
import { abortReason, DEFAULT_QUERY_TIMEOUT_MS, markGuardedClass, PendingQuery, type QueryGroup } from "./guard.js";
import type { DnsAnswer, MxRecord, QueryOptions, RecordType, Resolver } from "./types.js";

/** One query as reported to an observer. */
export interface DnsQueryEvent {
  type: RecordType;
  name: string;
  /** ok, nxdomain, nodata, error, or refused (over the budget: never sent). */
  outcome: DnsAnswer<unknown>["kind"] | "refused";
  durationMs: number;
  /**
   * Set on a query sent ahead of need (see {@link BudgetedResolver.speculate}) that the evaluation
   * never used; reported when the evaluation lets it go.
   */
  speculative?: true;
}

/** A query sent before the evaluation asked for it: {@link BudgetedResolver.claim} it or release it. */
export interface Speculation<T> {
  readonly type: RecordType;
  readonly name: string;
  /** The answer as it arrives, for looking ahead (reading it counts nothing). */
  readonly answer: Promise<DnsAnswer<T>>;
}

/**
 * A speculation as its resolver keeps it. It is pending (one the resolver may claim or release)
 * while it is its resolver's and not done: a brand and a flag, not a set of them per resolver.
 */
class SpeculationState<T> implements Speculation<T> {
  readonly #resolver: BudgetedResolver;
  done = false;
  constructor(
    resolver: BudgetedResolver,
    readonly type: RecordType,
    readonly name: string,
    readonly answer: Promise<DnsAnswer<T>>,
    readonly sent: number,
    readonly query: PendingQuery,
  ) {
    this.#resolver = resolver;
  }

  /** Whether `s` was sent by `resolver` (anything else a caller passes is not). */
  static of(s: unknown, resolver: BudgetedResolver): boolean {
    return typeof s === "object" && s !== null && #resolver in s && s.#resolver === resolver;
  }
}

const defaultNow = () => performance.now();
/** The reasons made for the last budget and the last query timeout seen (not a string per call). */
let lastBudget: { ms: number; reason: string; abandoned?: string } = { ms: Number.NaN, reason: "" };
let lastTimeout = { ms: Number.NaN, reason: "" };
const RESOLVED = Promise.resolve();

/**
 * authenticate()'s deadline for one call: the time budget from the call, or the caller's abort,
 * whichever comes first. Its BudgetedResolver's queries are bounded by it directly (each query's
 * deadline in the shared scheduler is at most `at`, a query after it is refused, an abort abandons
 * the pending ones at once), so a call needs no timer, AbortController or listener of its own; an
 * AbortController and a scheduled deadline (about 2.5 us) are made only when something reads
 * {@link signal} (a message stream).
 */
export class CallDeadline implements Deadline {
  /** performance.now() milliseconds. */
  readonly at: number;
  slot = -1;
  /** Set once it fired (the time ran out with `signal` read, or {@link abort}). */
  reason: string | undefined;
  readonly budgetReason: string;
  /** The answer of a query still pending when the time runs out. */
  readonly abandoned: string;
  #resolver: BudgetedResolver | undefined;
  #controller: AbortController | undefined;

  /** `now`: performance.now() at the call's start, when the caller has just read it. */
  constructor(budgetMs: number, now = performance.now()) {
    this.at = now + budgetMs;
    // The last call's strings when its budget was the same (each call's is usually the default).
    if (budgetMs !== lastBudget.ms) lastBudget = { ms: budgetMs, reason: `time budget of ${budgetMs} ms exceeded` };
    this.budgetReason = lastBudget.reason;
    this.abandoned = lastBudget.abandoned ??= `DNS query abandoned: ${lastBudget.reason}`;
  }

  /** Why no query may be sent now, or undefined. */
  passed(now: number): string | undefined {
    return this.reason ?? (now >= this.at ? this.budgetReason : undefined);
  }

  /** Aborted when the time runs out or on {@link abort}; made (and its time scheduled) on first read. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.reason !== undefined) this.#controller.abort(this.reason);
      else addDeadline(this);
    }
    return this.#controller.signal;
  }

  /** The time ran out (called by the scheduler). */
  expire(): void {
    this.abort(this.budgetReason);
  }

  /** Stops the call's waits: pending queries are abandoned, later ones refused, `signal` aborted. */
  abort(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    removeDeadline(this);
    if (this.#resolver) abandonAll(this.#resolver, reason);
    this.#controller?.abort(reason);
  }

  /** The call is over: its scheduled time, if any, is let go. */
  close(): void {
    removeDeadline(this);
  }

  /** Bounds `resolver`'s queries by this deadline (once, before its first query). */
  bind(resolver: BudgetedResolver): void {
    this.#resolver = resolver;
    bindDeadline(resolver, this);
  }
}

let bindDeadline: (r: BudgetedResolver, d: CallDeadline) => void;
let abandonAll: (r: BudgetedResolver, reason: string) => void;

export interface QueryBudgetOptions {
  /** Most queries for one evaluation (all protocols together). Default 50. */
  maxQueries?: number;
  /**
   * Milliseconds the evaluation may spend on DNS from the first query. Default: none. A query still
   * pending when the budget runs out is abandoned (its answer is an error) and later ones are refused.
   * At most 2^31-1 (MAX_TIMER_MS), as queryTimeoutMs.
   */
  timeBudgetMs?: number;
  /** Milliseconds to wait for one answer. Default 10,000. */
  queryTimeoutMs?: number;
  /** When aborted, pending queries are abandoned and later ones refused (error answers). */
  signal?: AbortSignal;
  /** Called after every query, for logging and metrics. */
  onQuery?: (event: DnsQueryEvent) => void;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

/**
 * A resolver for one evaluation (one message): counts every query, refuses those past the budget with
 * an error answer (which protocols turn into temperror), and reports each query to an observer.
 * It is also the resolver boundary: every answer is validated, a throw or rejection becomes an error
 * answer, and no query waits past the per-query timeout, the time budget or the signal.
 */
export class BudgetedResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #max: number;
  readonly #timeBudget: number | undefined;
  readonly #queryTimeout: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onQuery: ((e: DnsQueryEvent) => void) | undefined;
  readonly #now: () => number;
  readonly #timeoutReason: string;
  #start: number | undefined;
  #call: CallDeadline | undefined;
  /**
   * Pending queries, linked through PendingQuery.prev/next: when the signal aborts, all are
   * abandoned by one listener on it (not one listener a query), held while some are pending.
   */
  #head: PendingQuery | undefined;
  #pending = 0;
  readonly #group: QueryGroup = { settled: (q) => this.#unlink(q) };
  #onAbort: (() => void) | undefined;
  /** The abort listener is on the signal; a check that takes it off once idle is scheduled. */
  #listening = false;
  #releasing = false;
  #queries = 0;
  #refused = 0;
  #speculative = 0;
  /** Queries the evaluation made (speculative ones once claimed), as a sequential evaluation counts them. */
  get queries(): number {
    return this.#queries;
  }
  /** Queries refused (over the budget, past the time budget, aborted): never sent. */
  get refused(): number {
    return this.#refused;
  }
  /** Queries sent ahead of need and not (yet) claimed: sent on the network, but not in `queries`. */
  get speculative(): number {
    return this.#speculative;
  }

  constructor(inner: Resolver, options: QueryBudgetOptions = {}) {
    checkBudgetOptions(options);
    this.#inner = inner;
    this.#max = options.maxQueries ?? 50;
    this.#timeBudget = options.timeBudgetMs;
    this.#queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.#signal = options.signal;
    this.#onQuery = options.onQuery;
    this.#now = options.now ?? defaultNow;
    if (this.#queryTimeout !== lastTimeout.ms)
      lastTimeout = { ms: this.#queryTimeout, reason: `no DNS answer within ${this.#queryTimeout} ms` };
    this.#timeoutReason = lastTimeout.reason;
    // An instance of this class itself is taken as guarded by its prototype (guardResolver,
    // DmarcLookups): nothing of its own may shadow or redefine what the prototype's methods rely on
    // (red team: `b.txt = ...` on an instance, or a getter on `queries`, reached SPF, DKIM and iprev
    // unguarded and threw). A subclass, or an instance made for another new.target and given the
    // prototype afterwards, is guarded as any resolver.
    this.#exact = new.target === BudgetedResolver;
    if (this.#exact) Object.seal(this);
  }

  /** Made by `new BudgetedResolver` itself (sealed), not for a subclass or another new.target. */
  readonly #exact: boolean;

  /** Whether `o` was made by `new BudgetedResolver` itself, not a Proxy of one: a brand check. */
  static isInstance(o: object): boolean {
    return #exact in o && (o as BudgetedResolver).#exact;
  }

  static {
    bindDeadline = (r, d) => {
      r.#call = d;
    };
    abandonAll = (r, reason) => r.#abandonAll(reason);
  }

  #link(q: PendingQuery): void {
    const head = this.#head;
    q.next = head;
    if (head) head.prev = q;
    this.#head = q;
    this.#pending++;
    if (!this.#listening && this.#signal) {
      const signal = this.#signal;
      this.#onAbort ??= () => {
        this.#listening = false;
        this.#abandonAll(abortReason(signal));
      };
      listenAbort(signal, this.#onAbort);
      this.#listening = true;
    }
  }

  #unlink(q: PendingQuery): void {
    const { prev, next } = q;
    if (prev) prev.next = next;
    else this.#head = next;
    if (next) next.prev = prev;
    q.prev = q.next = undefined;
    // The listener stays until the end of the turn (queries sent one after the other would
    // otherwise add and remove it each time): a long-lived signal holds none once nothing is pending.
    if (--this.#pending === 0 && this.#listening && !this.#releasing) {
      this.#releasing = true;
      setImmediate(() => {
        this.#releasing = false;
        if (this.#pending === 0 && this.#listening) {
          unlistenAbort(this.#signal!, this.#onAbort!);
          this.#listening = false;
        }
      });
    }
  }

  #abandonAll(reason: string): void {
    // Each abandoned query leaves the list as it settles.
    while (this.#head) this.#head.abandon(reason);
  }

  /** Why a query asked for now may not be sent (over the budget, time or aborted), or undefined. */
  #refusal(q: QueryOptions | undefined, start: number): string | undefined {
    this.#start ??= start;
    const overTime = this.#timeBudget !== undefined && start - this.#start >= this.#timeBudget;
    const abortedBy =
      this.#signal !== undefined && signalAborted(this.#signal)
        ? this.#signal
        : q?.signal !== undefined && signalAborted(q.signal)
          ? q.signal
          : undefined;
    if (abortedBy !== undefined) return `DNS query not sent: ${abortReason(abortedBy)}`;
    const called = this.#call?.passed(this.#now === defaultNow ? start : performance.now());
    if (called !== undefined) return `DNS query not sent: ${called}`;
    if (overTime) return "DNS time budget exceeded";
    if (this.#queries >= this.#max) return `DNS query limit of ${this.#max} exceeded`;
    return undefined;
  }

  #refuse<T>(type: RecordType, name: string, reason: string): DnsAnswer<T> {
    this.#refused++;
    this.#observe({ type, name, outcome: "refused", durationMs: 0 });
    return { kind: "error", reason };
  }

  /**
   * Sends one query through the guard, bounded by the per-query timeout, what is left of the budget
   * and the call's deadline: one entry in the shared deadline scheduler, no timer or listener of its
   * own (but for a per-query `signal`).
   */
  #send(type: RecordType, name: string, start: number, signal?: AbortSignal): PendingQuery {
    const remaining = this.#timeBudget === undefined ? Number.POSITIVE_INFINITY : this.#timeBudget - (start - (this.#start ?? start));
    let ms = this.#queryTimeout;
    let reason = this.#timeoutReason;
    if (remaining < ms) {
      ms = remaining;
      reason = "DNS time budget exceeded";
    }
    let at = (this.#now === defaultNow ? start : performance.now()) + Math.max(0, ms);
    const call = this.#call;
    if (call !== undefined && call.at <= at) {
      at = call.at;
      reason = call.abandoned;
    }
    const q = new PendingQuery(at, reason, this.#group);
    this.#link(q);
    if (signal) q.listen([signal]);
    q.send(this.#inner, type, name);
    return q;
  }

  #run<T>(type: RecordType, name: string, q: QueryOptions | undefined): Promise<DnsAnswer<T>> {
    const start = this.#clock();
    const refusal = this.#refusal(q, start);
    if (refusal !== undefined) return Promise.resolve(this.#refuse(type, name, refusal));
    this.#queries++;
    const answer = this.#send(type, name, start, q?.signal).answer as Promise<DnsAnswer<T>>;
    // With no observer, the guard's promise is the answer: no further promise per query.
    if (!this.#onQuery) return answer;
    return answer.then((a) => {
      this.#observe({ type, name, outcome: a.kind, durationMs: this.#clock() - start });
      return a;
    });
  }

  /**
   * Sends a query before the evaluation needs it (its name is known early: an SPF include's record,
   * the DMARC records of a tree walk), so that the answer is there, or on its way, when the
   * evaluation asks. Speculative queries count against the same budget: one is sent only while the
   * evaluation's queries plus the speculative ones not yet claimed stay under maxQueries, so all the
   * queries sent for one evaluation never exceed twice maxQueries, and speculation alone never more
   * than maxQueries. Returns undefined, sending nothing, when there is no room, the time is up or
   * the evaluation was aborted. The evaluation's own queries are never refused because of
   * speculation: `queries` counts them as a sequential evaluation would, at {@link claim}.
   */
  speculate<T>(type: RecordType, name: string): Speculation<T> | undefined {
    const start = this.#clock();
    if (this.#refusal(undefined, start) !== undefined || this.queries + this.speculative >= this.#max) return undefined;
    this.#speculative++;
    const query = this.#send(type, name, start);
    const state = new SpeculationState<T>(this, type, name, query.answer as Promise<DnsAnswer<T>>, start, query);
    return state;
  }

  /**
   * The evaluation asks for a speculated query: counted and checked exactly as if it were sent now
   * (refused past the budget, the time or an abort, as a fresh query would be), and answered by the
   * query already on its way.
   */
  claim<T>(speculation: Speculation<T>): Promise<DnsAnswer<T>> {
    // Not an async function: without an observer the answer is the speculated query's own promise,
    // with no promise and await of its own per claim (an SPF include chain claims each include).
    try {
      return this.#claim(speculation);
    } catch (err) {
      return Promise.reject(err); // a throw rejects, as from an async function
    }
  }

  #claim<T>(speculation: Speculation<T>): Promise<DnsAnswer<T>> {
    const s = speculation as SpeculationState<T>;
    if (!SpeculationState.of(s, this) || s.done) return this.#run(s.type, s.name, undefined);
    s.done = true;
    const start = this.#clock();
    const refusal = this.#refusal(undefined, start);
    if (refusal !== undefined) {
      s.query.abandon("not needed"); // sent, but not used: it stays in `speculative`
      return Promise.resolve(this.#refuse(s.type, s.name, refusal));
    }
    this.#speculative--;
    this.#queries++;
    if (!this.#onQuery) return s.answer; // nothing to observe
    return s.answer.then((answer) => {
      this.#observe({ type: s.type, name: s.name, outcome: answer.kind, durationMs: this.#clock() - start });
      return answer;
    });
  }

  /**
   * claim() of a speculated query whose answer has already arrived, decided now: the answer (or the
   * refusal) claim() would resolve to, counted and checked as claim() does. Undefined, with nothing
   * done, when it is not there yet, or when an onQuery observer is told of claims (then use claim()).
   */
  claimSettled<T>(speculation: Speculation<T>): DnsAnswer<T> | undefined {
    const s = speculation as SpeculationState<T>;
    const answer = s.query.settledAnswer as DnsAnswer<T> | undefined;
    if (answer === undefined || this.#onQuery || s.done || !SpeculationState.of(s, this)) return undefined;
    s.done = true;
    const refusal = this.#refusal(undefined, this.#clock());
    if (refusal !== undefined) return this.#refuse(s.type, s.name, refusal); // (settled: nothing to abandon)
    this.#speculative--;
    this.#queries++;
    return answer;
  }

  /** Lets a speculated query go unclaimed: stops waiting for it; it stays in `speculative`. */
  release(speculation: Speculation<unknown>): void {
    const s = speculation as SpeculationState<unknown>;
    if (s.done || !SpeculationState.of(s, this)) return;
    s.done = true;
    s.query.abandon("not needed");
    if (this.#onQuery) {
      // Settled now (by the abandon, or before): reported in the next microtask, as a then on its
      // answer did when every answer was a promise of the query's own (an answer taken at once
      // resolves `answer` in its own microtask, later: see PendingQuery.send).
      const a = s.query.settledAnswer!;
      void RESOLVED.then(() =>
        this.#observe({ type: s.type, name: s.name, outcome: a.kind, durationMs: this.#clock() - s.sent, speculative: true }),
      );
    }
  }

  /** The clock, called as a function (not with this resolver as the caller's `this`). */
  #clock(): number {
    const now = this.#now;
    return now();
  }

  #observe(event: DnsQueryEvent): void {
    try {
      // Called as a function: this resolver must not be the observer's `this` (red team: it reset
      // the counters through it and changed verdicts).
      const onQuery = this.#onQuery;
      if (onQuery !== undefined) dropObserved(onQuery(event));
    } catch {
      // An observer's bug must not change the answer.
    }
  }

  txt(name: string, q?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#run("TXT", name, q);
  }
  a(name: string, q?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#run("A", name, q);
  }
  aaaa(name: string, q?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#run("AAAA", name, q);
  }
  mx(name: string, q?: QueryOptions): Promise<DnsAnswer<MxRecord[]>> {
    return this.#run("MX", name, q);
  }
  ptr(ip: string, q?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#run("PTR", ip, q);
  }
}

markGuardedClass(BudgetedResolver.prototype, BudgetedResolver.isInstance);
