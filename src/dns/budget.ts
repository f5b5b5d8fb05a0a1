import type { DnsAnswer, MxRecord, RecordType, Resolver } from "./types.js";

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
  /** Milliseconds the evaluation may spend on DNS from the first query. Default: none. */
  timeBudgetMs?: number;
  /** Called after every query, for logging and metrics. */
  onQuery?: (event: DnsQueryEvent) => void;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

/**
 * A resolver for one evaluation (one message): counts every query, refuses those past the budget with
 * an error answer (which protocols turn into temperror), and reports each query to an observer.
 */
export class BudgetedResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #max: number;
  readonly #timeBudget: number | undefined;
  readonly #onQuery: ((e: DnsQueryEvent) => void) | undefined;
  readonly #now: () => number;
  #start: number | undefined;
  queries = 0;
  refused = 0;

  constructor(inner: Resolver, options: QueryBudgetOptions = {}) {
    this.#inner = inner;
    this.#max = options.maxQueries ?? 50;
    this.#timeBudget = options.timeBudgetMs;
    this.#onQuery = options.onQuery;
    this.#now = options.now ?? (() => performance.now());
  }

  async #run<T>(type: RecordType, name: string, work: () => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    const start = this.#now();
    this.#start ??= start;
    const overTime = this.#timeBudget !== undefined && start - this.#start > this.#timeBudget;
    if (this.queries >= this.#max || overTime) {
      this.refused++;
      this.#onQuery?.({ type, name, outcome: "refused", durationMs: 0 });
      const reason = overTime ? "DNS time budget exceeded" : `DNS query limit of ${this.#max} exceeded`;
      return { kind: "error", reason };
    }
    this.queries++;
    let answer: DnsAnswer<T>;
    try {
      answer = await work();
    } catch (err) {
      answer = { kind: "error", reason: err instanceof Error ? err.message : String(err) };
    }
    this.#onQuery?.({ type, name, outcome: answer.kind, durationMs: this.#now() - start });
    return answer;
  }

  txt(name: string): Promise<DnsAnswer<string[]>> {
    return this.#run("TXT", name, () => this.#inner.txt(name));
  }
  a(name: string): Promise<DnsAnswer<string[]>> {
    return this.#run("A", name, () => this.#inner.a(name));
  }
  aaaa(name: string): Promise<DnsAnswer<string[]>> {
    return this.#run("AAAA", name, () => this.#inner.aaaa(name));
  }
  mx(name: string): Promise<DnsAnswer<MxRecord[]>> {
    return this.#run("MX", name, () => this.#inner.mx(name));
  }
  ptr(ip: string): Promise<DnsAnswer<string[]>> {
    return this.#run("PTR", ip, () => this.#inner.ptr(ip));
  }
}
