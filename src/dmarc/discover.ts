import { tldts } from "../deps.js";
import { guardResolver } from "../dns/guard.js";
import { Prefetcher } from "../dns/prefetch.js";
import type { Resolver } from "../dns/types.js";
import { type DmarcRecord, isDmarcRecord, parseDmarcRecord } from "./record.js";

export type DmarcMode = "rfc9989" | "rfc7489";

export type RecordLookup =
  | { kind: "record"; domain: string; record: DmarcRecord }
  | { kind: "none"; reason: string }
  | { kind: "error"; reason: string };

/**
 * Looks up and selects the DMARC record of one name. No record, no DMARC record, or several DMARC
 * records all mean "none" (RFC 9989 4.10 step 2; RFC 7489 6.6.3 step 3).
 */
export class DmarcLookups {
  readonly #resolver: Resolver;
  readonly #cache = new Map<string, Promise<RecordLookup>>();
  /** Queries sent ahead: three tree walks' worth (the From domain, and two identifiers to align). */
  readonly #pf: Prefetcher;
  queries = 0;

  constructor(resolver: Resolver) {
    this.#resolver = guardResolver(resolver); // answers validated, waits bounded
    this.#pf = new Prefetcher(this.#resolver, 24);
  }

  /**
   * Sends the record queries of these names at once, ahead of need (a tree walk's names are all
   * known from its start). {@link record} still asks for them in its callers' order and decides the
   * same; a query sent ahead counts against a BudgetedResolver's budget (see its `speculate`).
   */
  prefetch(domains: readonly string[]): void {
    for (const domain of domains) if (!this.#cache.has(domain)) this.#pf.prefetch("TXT", `_dmarc.${domain}`);
  }

  /** The evaluation is over: nothing more is sent ahead, and what was and is unused is let go. */
  close(): void {
    this.#pf.close();
  }

  /** Lets the queries sent ahead for these names go, if nothing asked for them. */
  release(domains: readonly string[]): void {
    for (const domain of domains) this.#pf.release("TXT", `_dmarc.${domain}`);
  }

  record(domain: string): Promise<RecordLookup> {
    let p = this.#cache.get(domain);
    if (!p) {
      this.queries++;
      p = this.#fetch(domain);
      this.#cache.set(domain, p);
    }
    return p;
  }

  async #fetch(domain: string): Promise<RecordLookup> {
    const name = `_dmarc.${domain}`;
    const answer = await this.#pf.query("TXT", name);
    if (answer.kind === "error") return { kind: "error", reason: `DNS failure looking up ${name}: ${answer.reason}` };
    if (answer.kind !== "ok") return { kind: "none", reason: `no record at ${name}` };
    const records = answer.records.filter(isDmarcRecord);
    if (records.length === 0) return { kind: "none", reason: `no DMARC record at ${name}` };
    if (records.length > 1) return { kind: "none", reason: `${records.length} DMARC records at ${name}: all discarded` };
    const parsed = parseDmarcRecord(records[0]!);
    if (!parsed.ok) return { kind: "none", reason: parsed.reason };
    return { kind: "record", domain, record: parsed.record };
  }
}

/**
 * The names a DNS tree walk queries, from the start domain up (RFC 9989 4.10): one label at a time,
 * except that a name of 8 or more labels jumps to its last 7 first, so no walk makes more than 8
 * queries.
 */
export function treeWalkTargets(domain: string): string[] {
  const labels = domain.split(".");
  const targets = [domain];
  let x = labels.length;
  x = x >= 8 ? 7 : x - 1;
  while (x >= 1) {
    targets.push(labels.slice(labels.length - x).join("."));
    x--;
  }
  return targets;
}

export interface WalkResult {
  /** Valid records found, longest name first. */
  found: Array<{ domain: string; record: DmarcRecord }>;
  error?: string;
}

/** Walks up from `start` (included unless skipStart), stopping at a record with psd=y or psd=n. */
export async function treeWalk(lookups: DmarcLookups, start: string, skipStart = false): Promise<WalkResult> {
  const found: WalkResult["found"] = [];
  const all = treeWalkTargets(start);
  const targets = skipStart ? all.slice(1) : all;
  // Every name of the walk is known now: their queries go out together (at most 8), and the walk
  // still reads the answers one by one from the bottom up, stopping where the RFC stops.
  lookups.prefetch(targets);
  try {
    for (const target of targets) {
      const r = await lookups.record(target);
      if (r.kind === "error") return { found, error: r.reason };
      if (r.kind === "record") {
        found.push({ domain: target, record: r.record });
        if (r.record.psd === "y" || r.record.psd === "n") break;
      }
    }
  } finally {
    lookups.release(targets); // the names above a stop are not waited for
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
  for (const { domain } of found) if (domain.split(".").length < fewest.split(".").length) fewest = domain;
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
  readonly #cache = new Map<string, Promise<{ org: string; error?: string }>>();

  constructor(mode: DmarcMode, lookups: DmarcLookups) {
    this.#mode = mode;
    this.#lookups = lookups;
  }

  of(domain: string): Promise<{ org: string; error?: string }> {
    let p = this.#cache.get(domain);
    if (!p) {
      p =
        this.#mode === "rfc7489"
          ? Promise.resolve({ org: pslOrgDomain(domain) })
          : treeWalk(this.#lookups, domain).then((w) =>
              w.error ? { org: domain, error: w.error } : { org: selectOrgDomain(domain, w.found) },
            );
      this.#cache.set(domain, p);
    }
    return p;
  }
}
