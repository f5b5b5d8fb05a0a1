import { BudgetedResolver, type Speculation } from "./budget.js";
import { type DnsAnswer, type QueryOptions, query, type RecordsByType, type RecordType, type Resolver } from "./types.js";

let turn = 0;
let ticking = false;

/**
 * A count of event-loop turns, advanced by one setImmediate scheduled when it is read. Read when a
 * query is sent and again when its answer is used: the same number means the answer came without
 * waiting for any I/O (a resolver in memory, a cache hit), where sending queries ahead gains nothing
 * and costs CPU; a different one means it waited for I/O, as real DNS does.
 */
export function eventLoopTurn(): number {
  if (!ticking) {
    ticking = true;
    setImmediate(() => {
      ticking = false;
      turn++;
    }).unref();
  }
  return turn;
}

/** A query sent ahead: through a BudgetedResolver (a speculation), or any guarded resolver (a controller to let it go). */
type Entry =
  | { answer: Promise<DnsAnswer<unknown>>; speculation: Speculation<unknown>; controller?: undefined }
  | { answer: Promise<DnsAnswer<unknown>>; speculation?: undefined; controller: AbortController };

/**
 * Queries sent before an evaluation needs them, for one evaluation (one SPF check, one DMARC
 * discovery). The evaluation still asks for every answer in its own order, through {@link query},
 * and gets the prefetched answer (each at most once) or a fresh query: what it decides is what a
 * sequential evaluation decides, only sooner. At most `allowance` queries are prefetched; through a
 * {@link BudgetedResolver} they also count against its query budget (see `speculate`). {@link close}
 * stops waiting for the ones never used.
 *
 * `resolver` must already be guarded (a BudgetedResolver, or what guardResolver returns).
 */
export class Prefetcher {
  readonly #resolver: Resolver;
  readonly #entries = new Map<string, Entry>();
  #left: number;
  #closed = false;

  constructor(resolver: Resolver, allowance: number) {
    this.#resolver = resolver;
    this.#left = allowance;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends the query now, unless one for the same name is already waiting, the allowance is spent
   * (`counted`: false sends it without using the allowance, for names the evaluation is sure to ask
   * for unless an earlier one decides first) or the budget has no room. Returns the answer as it
   * arrives, to look ahead at, or undefined when nothing was sent.
   */
  prefetch<T extends RecordType>(type: T, name: string, counted = true): Promise<DnsAnswer<RecordsByType[T]>> | undefined {
    if (this.#closed || (counted && this.#left <= 0)) return undefined;
    const key = `${type} ${name}`;
    if (this.#entries.has(key)) return undefined;
    let entry: Entry;
    const r = this.#resolver;
    if (r instanceof BudgetedResolver) {
      const s: Speculation<unknown> | undefined = r.speculate(type, name);
      if (!s) return undefined;
      entry = { answer: s.answer, speculation: s };
    } else {
      const controller = new AbortController();
      const q: QueryOptions = { signal: controller.signal };
      const answer = query(r, type, name, q) as Promise<DnsAnswer<unknown>>;
      entry = { answer, controller };
    }
    if (counted) this.#left--;
    this.#entries.set(key, entry);
    return entry.answer as Promise<DnsAnswer<RecordsByType[T]>>;
  }

  /** The answer for the evaluation: the prefetched query (used once) or a fresh one. */
  query<T extends RecordType>(type: T, name: string): Promise<DnsAnswer<RecordsByType[T]>> {
    const key = `${type} ${name}`;
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      const answer = entry.speculation ? (this.#resolver as BudgetedResolver).claim(entry.speculation) : entry.answer;
      return answer as Promise<DnsAnswer<RecordsByType[T]>>;
    }
    return query(this.#resolver, type, name);
  }

  /** Lets one prefetched query go, if it is still unused. */
  /**
   * query(type, name) answered now, when it was sent ahead through a BudgetedResolver and its answer
   * has arrived (claimed, counted and checked as query() would); undefined, with nothing done, otherwise.
   */
  settled<T extends RecordType>(type: T, name: string): DnsAnswer<RecordsByType[T]> | undefined {
    const key = `${type} ${name}`;
    const entry = this.#entries.get(key);
    if (entry?.speculation === undefined) return undefined;
    const answer = (this.#resolver as BudgetedResolver).claimSettled(entry.speculation);
    if (answer !== undefined) this.#entries.delete(key);
    return answer as DnsAnswer<RecordsByType[T]> | undefined;
  }

  release(type: RecordType, name: string): void {
    const key = `${type} ${name}`;
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.speculation) (this.#resolver as BudgetedResolver).release(entry.speculation);
    else entry.controller.abort("not needed");
  }

  /** The evaluation is over: no more prefetching, and the unused queries are let go. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) this.#release(entry);
    this.#entries.clear();
  }
}
