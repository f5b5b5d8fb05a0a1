import { checkBudgetOptions } from "../options.js";
import { abortReason, DEFAULT_QUERY_TIMEOUT_MS, guardedQuery, markGuarded } from "./guard.js";
import type { DnsAnswer, MxRecord, QueryOptions, RecordType, Resolver } from "./types.js";

/** One query as reported to an observer. */
export interface DnsQueryEvent {
  type: RecordType;
  name: string;
  /** ok, nxdomain, nodata, error, or refused (over the budget: never sent). */
  outcome: DnsAnswer<unknown>["kind"] | "refused";
  durationMs: number;
}

export interface QueryBudgetOptions {
  /** Most queries for one evaluation (all protocols together). Default 50. */
  maxQueries?: number;
  /**
   * Milliseconds the evaluation may spend on DNS from the first query. Default: none. A query still
   * pending when the budget runs out is abandoned (its answer is an error) and later ones are refused.
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
  #start: number | undefined;
  queries = 0;
  refused = 0;

  constructor(inner: Resolver, options: QueryBudgetOptions = {}) {
    checkBudgetOptions(options);
    this.#inner = inner;
    this.#max = options.maxQueries ?? 50;
    this.#timeBudget = options.timeBudgetMs;
    this.#queryTimeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    this.#signal = options.signal;
    this.#onQuery = options.onQuery;
    this.#now = options.now ?? (() => performance.now());
    markGuarded(this);
  }

  async #run<T>(type: RecordType, name: string, q: QueryOptions | undefined): Promise<DnsAnswer<T>> {
    const start = this.#now();
    this.#start ??= start;
    const elapsed = start - this.#start;
    const overTime = this.#timeBudget !== undefined && elapsed >= this.#timeBudget;
    const abortedBy = this.#signal?.aborted ? this.#signal : q?.signal?.aborted ? q.signal : undefined;
    const aborted = abortedBy !== undefined;
    if (this.queries >= this.#max || overTime || aborted) {
      this.refused++;
      this.#observe({ type, name, outcome: "refused", durationMs: 0 });
      const reason = aborted
        ? `DNS query not sent: ${abortReason(abortedBy)}`
        : overTime
          ? "DNS time budget exceeded"
          : `DNS query limit of ${this.#max} exceeded`;
      return { kind: "error", reason };
    }
    this.queries++;
    const remaining = this.#timeBudget === undefined ? Number.POSITIVE_INFINITY : this.#timeBudget - elapsed;
    const budgetBound = remaining < this.#queryTimeout;
    const signals = [this.#signal, q?.signal].filter((s): s is AbortSignal => s !== undefined);
    const answer = (await guardedQuery(this.#inner, type, name, {
      timeoutMs: budgetBound ? remaining : this.#queryTimeout,
      timeoutReason: budgetBound ? "DNS time budget exceeded" : `no DNS answer within ${this.#queryTimeout} ms`,
      ...(signals.length > 0 ? { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) } : {}),
    })) as DnsAnswer<T>;
    this.#observe({ type, name, outcome: answer.kind, durationMs: this.#now() - start });
    return answer;
  }

  #observe(event: DnsQueryEvent): void {
    try {
      this.#onQuery?.(event);
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
