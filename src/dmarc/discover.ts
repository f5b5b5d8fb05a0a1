import { tldts } from "../deps.js";
import { BudgetedResolver } from "../dns/budget.js";
import { guardResolver } from "../dns/guard.js";
import { eventLoopTurn, Prefetcher } from "../dns/prefetch.js";
import { type DnsAnswer, query, type Resolver } from "../dns/types.js";
import { type DmarcRecord, isDmarcRecord, parseDmarcRecord } from "./record.js";

export type DmarcMode = "rfc9989" | "rfc7489";

export type RecordLookup =
  | { kind: "record"; domain: string; record: DmarcRecord }
  | { kind: "none"; reason: string }
  | { kind: "error"; reason: string };

/**
 * The guarded form of a resolver (see guardResolver), made once per resolver: the wrapper holds no
 * state of its own, so one per call was only garbage (five closures and a WeakSet entry).
 */
const guardedResolvers = new WeakMap<Resolver, Resolver>();
export function guardedResolver(resolver: Resolver): Resolver {
  // authenticate()'s BudgetedResolver, one a message, is guarded already (guardResolver gives it back
  // as it is, known by its prototype): known here without a WeakMap miss and guardResolver's option
  // checks (about 0.05 us a message).
  if (isBudgetedResolver(resolver)) return resolver;
  let g = guardedResolvers.get(resolver);
  if (g === undefined) {
    g = guardResolver(resolver);
    if (g !== resolver) guardedResolvers.set(resolver, g); // not the per-message BudgetedResolvers, already guarded
  }
  return g;
}

/** A BudgetedResolver made by new BudgetedResolver itself, as guardResolver's test; false for a subclass or a Proxy. */
function isBudgetedResolver(resolver: Resolver): boolean {
  // The brand alone: an instance made by new BudgetedResolver itself is sealed, so its prototype
  // cannot have changed; a Proxy fails the brand without a trap being asked.
  return BudgetedResolver.isInstance(resolver);
}

const NO_NAMES: readonly string[] = Object.freeze([]);

/** One name's record lookup in a DmarcLookups: record()'s promise once asked for, the answer once settled. */
interface Lookup {
  promise: Promise<RecordLookup> | undefined;
  value: RecordLookup | undefined;
}

/**
 * Looks up and selects the DMARC record of one name. No record, no DMARC record, or several DMARC
 * records all mean "none" (RFC 9989 4.10 step 2; RFC 7489 6.6.3 step 3).
 */
export class DmarcLookups {
  readonly #resolver: Resolver;
  /**
   * Each name asked for: record()'s promise, and its answer once settled (read without an await, see
   * {@link settled}). One Map, not one for each (a Map fewer a message).
   */
  readonly #lookups = new Map<string, Lookup>();
  /**
   * Queries sent ahead: three tree walks' worth (the From domain, and two identifiers to align). Made
   * on the first prefetch: most evaluations answered from memory never send any.
   */
  #pf: Prefetcher | undefined;
  #closed = false;
  /** The last tree walk's names (authenticate() sends the From domain's ahead, DMARC walks it: one array). */
  #walkOf: string | undefined;
  #walk: readonly string[] = NO_NAMES;
  queries = 0;
  /**
   * An answer has waited for I/O (real DNS): only then does a tree walk send its names ahead. From
   * memory (a fixture, a cache hit) sending ahead gains nothing and cost a fifth of checkDmarc's time.
   */
  slow = false;

  constructor(resolver: Resolver) {
    this.#resolver = guardedResolver(resolver); // answers validated, waits bounded
    // checkDmarc takes shared lookups only when made by this class itself, sealed: no method of
    // their own can replace record() or settled() (red team).
    this.#exact = new.target === DmarcLookups;
    if (this.#exact) Object.seal(this);
  }

  readonly #exact: boolean;

  /** Whether `o` was made by `new DmarcLookups` itself (not a subclass, another new.target or a Proxy). */
  static isInstance(o: unknown): boolean {
    // Made by this class itself means sealed: its prototype is still DmarcLookups.prototype.
    return typeof o === "object" && o !== null && #exact in o && (o as DmarcLookups).#exact;
  }

  /**
   * Sends the record queries of these names at once, ahead of need (a tree walk's names are all
   * known from its start). {@link record} still asks for them in its callers' order and decides the
   * same; a query sent ahead counts against a BudgetedResolver's budget (see its `speculate`).
   */
  prefetch(domains: readonly string[]): void {
    if (this.#closed) return;
    const pf = (this.#pf ??= new Prefetcher(this.#resolver, 24));
    for (const domain of domains) if (!this.#lookups.has(domain)) pf.prefetch("TXT", `_dmarc.${domain}`);
  }

  /** treeWalkTargets(domain), the same array while the same domain is asked for again (never changed by its readers). */
  walkTargets(domain: string): readonly string[] {
    if (domain !== this.#walkOf) {
      this.#walk = treeWalkTargets(domain);
      this.#walkOf = domain;
    }
    return this.#walk;
  }

  /** The evaluation is over: nothing more is sent ahead, and what was and is unused is let go. */
  close(): void {
    this.#closed = true;
    this.#pf?.close();
  }

  /** Lets the queries sent ahead for these names go, if nothing asked for them. */
  release(domains: readonly string[]): void {
    const pf = this.#pf;
    if (pf) for (const domain of domains) pf.release("TXT", `_dmarc.${domain}`);
  }

  record(domain: string): Promise<RecordLookup> {
    let l = this.#lookups.get(domain);
    if (l === undefined) {
      l = { promise: undefined, value: undefined };
      this.#lookups.set(domain, l);
    }
    if (l.promise === undefined) {
      if (l.value !== undefined)
        l.promise = Promise.resolve(l.value); // read (and counted) by settled() already
      else {
        this.queries++;
        l.promise = this.#fetch(domain, l);
      }
    }
    return l.promise;
  }

  /**
   * What {@link record} of this name resolved to, once it has: the same object, read without waiting
   * a turn for it (an await of a settled promise costs a microtask; DMARC reads the From domain's
   * record, asked for before DKIM, and each tree walk reads it again).
   */
  settled(domain: string): RecordLookup | undefined {
    const l = this.#lookups.get(domain);
    if (l !== undefined || this.#pf === undefined) return l?.value;
    // Sent ahead and answered already: read now as record() would read it (counted the same; a later
    // record() answers with it), without its promise and await (a tree walk sent with the From
    // domain's record: issue 19).
    const name = `_dmarc.${domain}`;
    const answer = this.#pf.settled("TXT", name);
    if (answer === undefined) return undefined;
    this.queries++;
    const found = recordOf(domain, name, answer);
    this.#lookups.set(domain, { promise: undefined, value: found });
    return found;
  }

  /** The lookup of one name (a .then, not an async function: one promise, not two). */
  #fetch(domain: string, l: Lookup): Promise<RecordLookup> {
    const name = `_dmarc.${domain}`;
    const sent = eventLoopTurn();
    return (this.#pf ? this.#pf.query("TXT", name) : query(this.#resolver, "TXT", name)).then((answer) => {
      if (eventLoopTurn() !== sent) this.slow = true;
      const r = recordOf(domain, name, answer);
      l.value = r;
      return r;
    });
  }
}

/** The DMARC record lookup an answer at `name` (_dmarc.domain) gives. */
function recordOf(domain: string, name: string, answer: DnsAnswer<string[]>): RecordLookup {
  if (answer.kind === "error") return { kind: "error", reason: `DNS failure looking up ${name}: ${answer.reason}` };
  if (answer.kind !== "ok") return { kind: "none", reason: `no record at ${name}` };
  const records = answer.records.filter(isDmarcRecord);
  if (records.length === 0) return { kind: "none", reason: `no DMARC record at ${name}` };
  if (records.length > 1) return { kind: "none", reason: `${records.length} DMARC records at ${name}: all discarded` };
  const parsed = parseDmarcRecord(records[0]!);
  if (!parsed.ok) return { kind: "none", reason: parsed.reason };
  return { kind: "record", domain, record: parsed.record };
}

/**
 * The names a DNS tree walk queries, from the start domain up (RFC 9989 4.10): one label at a time,
 * except that a name of 8 or more labels jumps to its last 7 first, so no walk makes more than 8
 * queries.
 */
export function treeWalkTargets(domain: string): string[] {
  // Suffixes are cut at the dots (the same strings as joining the last labels), with no label arrays.
  const dots: number[] = [];
  for (let i = domain.indexOf("."); i >= 0; i = domain.indexOf(".", i + 1)) dots.push(i);
  const n = dots.length + 1; // labels
  const targets = [domain];
  for (let x = n >= 8 ? 7 : n - 1; x >= 1; x--) targets.push(domain.slice(dots[n - x - 1]! + 1));
  return targets;
}

/** The number of labels of a name (as split(".") counts them). */
function labelCount(name: string): number {
  let n = 1;
  for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) n++;
  return n;
}

export interface WalkResult {
  /** Valid records found, longest name first. */
  found: Array<{ domain: string; record: DmarcRecord }>;
  error?: string;
}

/**
 * treeWalk(lookups, start) decided without an await when every record it reads has settled (the
 * usual From domain's walk, sent ahead by authenticate()), with the same prefetch and release of the
 * names; undefined, with nothing done, when a record it needs is still on its way.
 */
export function settledTreeWalk(lookups: DmarcLookups, start: string): WalkResult | undefined {
  const targets = lookups.walkTargets(start);
  const found: WalkResult["found"] = [];
  let error: string | undefined;
  for (const target of targets) {
    const r = lookups.settled(target);
    if (r === undefined) return undefined;
    if (r.kind === "error") {
      error = r.reason;
      break;
    }
    if (r.kind === "record") {
      found.push({ domain: target, record: r.record });
      if (r.record.psd === "y" || r.record.psd === "n") break;
    }
  }
  if (lookups.slow) {
    // What treeWalk does around its reads (here all made in this turn, as there).
    lookups.prefetch(targets);
    lookups.release(targets);
  }
  return error === undefined ? { found } : { found, error };
}

/** Walks up from `start` (included unless skipStart), stopping at a record with psd=y or psd=n. */
export async function treeWalk(lookups: DmarcLookups, start: string, skipStart = false): Promise<WalkResult> {
  const found: WalkResult["found"] = [];
  const all = lookups.walkTargets(start);
  const targets = skipStart ? all.slice(1) : all;
  // Every name of the walk is known now: with real DNS their queries go out together (at most 8),
  // and the walk still reads the answers one by one from the bottom up, stopping where the RFC stops.
  const ahead = lookups.slow;
  if (ahead) lookups.prefetch(targets);
  try {
    for (const target of targets) {
      const r = lookups.settled(target) ?? (await lookups.record(target));
      if (r.kind === "error") return { found, error: r.reason };
      if (r.kind === "record") {
        found.push({ domain: target, record: r.record });
        if (r.record.psd === "y" || r.record.psd === "n") break;
      }
    }
  } finally {
    if (ahead) lookups.release(targets); // the names above a stop are not waited for
  }
  return { found };
}

/** The organizational domain from a walk's records (RFC 9989 4.10.2 selection rules). */
export function selectOrgDomain(start: string, found: WalkResult["found"]): string {
  for (const { domain, record } of found) {
    if (record.psd === "n") return domain;
    if (record.psd === "y" && domain !== start) {
      // One label below the PSD, on the way to the start domain.
      const labels = start.split(".");
      const depth = domain.split(".").length + 1;
      return labels.slice(labels.length - depth).join(".");
    }
  }
  if (found.length === 0) return start;
  let fewest = found[0]!.domain;
  let fewestLabels = labelCount(fewest);
  for (let i = 1; i < found.length; i++) {
    const domain = found[i]!.domain;
    const labels = labelCount(domain);
    if (labels < fewestLabels) {
      fewest = domain;
      fewestLabels = labels;
    }
  }
  return fewest;
}

/** The organizational domain of a name under the Public Suffix List (RFC 7489 3.2), via tldts. */
export function pslOrgDomain(domain: string): string {
  return tldts().getDomain(domain, { allowPrivateDomains: true, validHosts: [] }) ?? domain;
}

/**
 * Organizational domains for alignment, one walk (or PSL look-up) per name, shared by every check
 * in one evaluation.
 */
export class OrgDomains {
  readonly #mode: DmarcMode;
  readonly #lookups: DmarcLookups;
  // Both made on first use (an evaluation whose walk has settled makes only #values).
  #cache: Map<string, Promise<{ org: string; error?: string }>> | undefined;
  /** Those found by settledOf (a later of() answers with them, walking nothing again). */
  #values: Map<string, { org: string; error?: string }> | undefined;

  constructor(mode: DmarcMode, lookups: DmarcLookups) {
    this.#mode = mode;
    this.#lookups = lookups;
  }

  /**
   * What of(domain) gives, without a promise, when it can be known now: a walk whose records have all
   * settled (see settledTreeWalk), or the PSL's answer; undefined otherwise (then await of()).
   */
  settledOf(domain: string): { org: string; error?: string } | undefined {
    let v = this.#values?.get(domain);
    if (v !== undefined || this.#cache?.has(domain)) return v;
    if (this.#mode === "rfc7489") v = { org: pslOrgDomain(domain) };
    else {
      const w = settledTreeWalk(this.#lookups, domain);
      if (w === undefined) return undefined;
      v = w.error ? { org: domain, error: w.error } : { org: selectOrgDomain(domain, w.found) };
    }
    (this.#values ??= new Map()).set(domain, v);
    return v;
  }

  of(domain: string): Promise<{ org: string; error?: string }> {
    let p = this.#cache?.get(domain);
    if (!p) {
      const v = this.#values?.get(domain);
      p =
        v !== undefined
          ? Promise.resolve(v)
          : this.#mode === "rfc7489"
            ? Promise.resolve({ org: pslOrgDomain(domain) })
            : treeWalk(this.#lookups, domain).then((w) =>
                w.error ? { org: domain, error: w.error } : { org: selectOrgDomain(domain, w.found) },
              );
      (this.#cache ??= new Map()).set(domain, p);
    }
    return p;
  }
}
