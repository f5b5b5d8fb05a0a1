import { BudgetedResolver, type Speculation } from "./budget.js";
import { type DnsAnswer, type QueryOptions, query, RECORD_TYPES, type RecordsByType, type RecordType, type Resolver } from "./types.js";

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
/** `seq`: the order it was sent in, among all types (the order close() lets them go in). */
type Entry =
  | { answer: Promise<DnsAnswer<unknown>>; speculation: Speculation<unknown>; controller?: undefined; seq: number }
  | { answer: Promise<DnsAnswer<unknown>>; speculation?: undefined; controller: AbortController; seq: number };

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
  /**
   * Queries sent, by type then name, each map made on first use: no "type name" key to build and
   * hash at each prefetch, query and settled (0.25 us an authenticate() call).
   */
  readonly #entries: Record<RecordType, Map<string, Entry> | undefined> = {
    TXT: undefined,
    A: undefined,
    AAAA: undefined,
    MX: undefined,
    PTR: undefined,
  };
  #seq = 0;
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
    let entries = this.#entries[type];
    if (entries?.has(name)) return undefined;
    let entry: Entry;
    const r = this.#resolver;
    if (r instanceof BudgetedResolver) {
      const s: Speculation<unknown> | undefined = r.speculate(type, name);
      if (!s) return undefined;
      entry = { answer: s.answer, speculation: s, seq: this.#seq++ };
    } else {
      const controller = new AbortController();
      const q: QueryOptions = { signal: controller.signal };
      const answer = query(r, type, name, q) as Promise<DnsAnswer<unknown>>;
      entry = { answer, controller, seq: this.#seq++ };
    }
    if (counted) this.#left--;
    if (entries === undefined) this.#entries[type] = entries = new Map();
    entries.set(name, entry);
    return entry.answer as Promise<DnsAnswer<RecordsByType[T]>>;
  }

  /** The answer for the evaluation: the prefetched query (used once) or a fresh one. */
  query<T extends RecordType>(type: T, name: string): Promise<DnsAnswer<RecordsByType[T]>> {
    const entries = this.#entries[type];
    const entry = entries?.get(name);
    if (entry) {
      entries!.delete(name);
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
    const entries = this.#entries[type];
    const entry = entries?.get(name);
    if (entry?.speculation === undefined) return undefined;
    const answer = (this.#resolver as BudgetedResolver).claimSettled(entry.speculation);
    if (answer !== undefined) entries!.delete(name);
    return answer as DnsAnswer<RecordsByType[T]> | undefined;
  }

  release(type: RecordType, name: string): void {
    const entries = this.#entries[type];
    const entry = entries?.get(name);
    if (!entry) return;
    entries!.delete(name);
    this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.speculation) (this.#resolver as BudgetedResolver).release(entry.speculation);
    else entry.controller.abort("not needed");
  }

  /** The evaluation is over: no more prefetching, and the unused queries are let go. */
  close(): void {
    this.#closed = true;
    let left: Entry[] | undefined;
    for (const type of RECORD_TYPES) {
      const entries = this.#entries[type];
      if (entries === undefined || entries.size === 0) continue;
      left = left === undefined ? [...entries.values()] : [...left, ...entries.values()];
      entries.clear();
    }
    if (left === undefined) return;
    // In the order they were sent, as one map of them all would give them.
    left.sort((x, y) => x.seq - y.seq);
    for (const entry of left) this.#release(entry);
  }
}
