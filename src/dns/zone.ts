import { isIPv4, isIPv6 } from "node:net";
import { MsgauthError } from "../errors.js";
import { checkFixtureResolverOptions } from "../options.js";
import { answersNow, optionless } from "./guard.js";
import { reverseName } from "./reverse.js";
import type { DnsAnswer, MxRecord, RecordsByType, RecordType, Resolver } from "./types.js";
import { normalizeName } from "./types.js";

/** One owner name's records in a fixture zone. */
export interface ZoneEntry {
  /** Each record as its character-strings (chunks), joined when served. */
  TXT?: string[][];
  A?: string[];
  AAAA?: string[];
  MX?: MxRecord[];
  PTR?: string[];
  CNAME?: string;
  /**
   * Queries time out: `true` for every type the name has no records of, or a list of types.
   * A name with only `timeout: true` times out for everything.
   */
  timeout?: true | RecordType[];
  /**
   * Queries answer NXDOMAIN: `true` for every type, even when names below this one exist (a name
   * recorded as NXDOMAIN replays as NXDOMAIN); or a list of types (a recording in which live DNS
   * answered NXDOMAIN for some types of a name and records for others). `true` holds no records.
   */
  nxdomain?: true | RecordType[];
}

/** Fixture zone data keyed by normalized owner name (lower case, no trailing dot). */
export type Zone = Map<string, ZoneEntry>;

/** An error in a fixture file, naming the file, the line and why. */
export class ZoneError extends MsgauthError {
  declare readonly code: "ERR_MSGAUTH_ZONE_INVALID" | "ERR_MSGAUTH_ZONE_UNREADABLE";
  readonly file: string;
  readonly line: number | undefined;
  readonly why: string;
  constructor(
    file: string,
    line: number | undefined,
    why: string,
    code: "ERR_MSGAUTH_ZONE_INVALID" | "ERR_MSGAUTH_ZONE_UNREADABLE" = "ERR_MSGAUTH_ZONE_INVALID",
  ) {
    super(code, `${file}${line === undefined ? "" : `:${line}`}: ${why}`);
    this.file = file;
    this.line = line;
    this.why = why;
  }
}

export function validateRecord(type: RecordType | "CNAME", value: unknown): string | undefined {
  switch (type) {
    case "A":
      return typeof value === "string" && isIPv4(value) ? undefined : `A needs an IPv4 address, got ${show(value)}`;
    case "AAAA":
      return typeof value === "string" && isIPv6(value) ? undefined : `AAAA needs an IPv6 address, got ${show(value)}`;
    default:
      return undefined;
  }
}
function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Merges zones; a later zone's entry for a name replaces an earlier one's records of the same type. */
export function mergeZones(...zones: Zone[]): Zone {
  const out: Zone = new Map();
  for (const zone of zones) {
    for (const [name, entry] of zone) out.set(name, { ...out.get(name), ...entry });
  }
  return out;
}

export interface FixtureResolverOptions {
  /** Milliseconds to wait before answering a query marked as timing out (default 0; at most 2^31-1, MAX_TIMER_MS). */
  timeoutDelayMs?: number;
}

let answerNow: (r: FixtureResolver, type: RecordType, name: string) => DnsAnswer<string[] | MxRecord[]> | undefined;

/**
 * Answers from fixture zones, offline and deterministic. A name that is absent is NXDOMAIN unless a
 * name below it exists (an empty non-terminal answers NODATA, as real DNS does); a present name
 * without records of the asked type is NODATA; a name marked `nxdomain` is NXDOMAIN. CNAMEs are
 * followed up to 8 hops.
 */
export class FixtureResolver implements Resolver {
  readonly zone: Zone;
  readonly #ancestors = new Set<string>();
  readonly #delay: number;

  constructor(zone: Zone | Zone[], options: FixtureResolverOptions = {}) {
    checkFixtureResolverOptions(options);
    this.zone = Array.isArray(zone) ? mergeZones(...zone) : zone;
    this.#delay = options.timeoutDelayMs ?? 0;
    for (const name of this.zone.keys()) {
      let dot = name.indexOf(".");
      while (dot >= 0) {
        this.#ancestors.add(name.slice(dot + 1));
        dot = name.indexOf(".", dot + 1);
      }
    }
  }

  async lookup<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordsByType[T]>> {
    const answer = FixtureResolver.#answer(this, name, type);
    return answer === TIMED_OUT ? this.#timedOut() : answer;
  }

  /**
   * What `r.lookup()` answers, now; TIMED_OUT for a query marked as timing out. (Static: `r` may be
   * a Proxy of a FixtureResolver, whose lookup of a name that exists reads no private field.)
   */
  static #answer<T extends RecordType>(r: FixtureResolver, name: string, type: T): DnsAnswer<RecordsByType[T]> | typeof TIMED_OUT {
    let owner = normalizeName(name);
    for (let hop = 0; ; hop++) {
      const entry = r.zone.get(owner);
      if (!entry) return r.#ancestors.has(owner) ? { kind: "nodata" } : { kind: "nxdomain" };
      if (entry.CNAME !== undefined) {
        if (hop >= 8) return { kind: "error", reason: `CNAME chain too long at ${owner}` };
        owner = normalizeName(entry.CNAME);
        continue;
      }
      const nx = entry.nxdomain;
      if (nx === true || (Array.isArray(nx) && nx.includes(type))) return { kind: "nxdomain" };
      const timeout = entry.timeout;
      if (Array.isArray(timeout) && timeout.includes(type)) return TIMED_OUT;
      // A fresh array each answer (TXT's map makes one already): callers may keep or change it.
      const records = type === "TXT" ? entry.TXT?.map(joinChunks) : entry[type]?.slice();
      if (records && records.length > 0) {
        return { kind: "ok", records: records as RecordsByType[T] };
      }
      if (timeout === true) return TIMED_OUT;
      return { kind: "nodata" };
    }
  }

  static {
    answerNow = (r, type, name) => {
      // A lookup overridden in a subclass or on the instance is called as such (the general path).
      if (!(#ancestors in r) || r.lookup !== ownLookup) return undefined;
      const raw = type === "PTR" ? r.#ptrAnswer(name) : FixtureResolver.#answer(r, name, type);
      return raw === TIMED_OUT ? undefined : raw;
    };
  }

  async #timedOut(): Promise<DnsAnswer<never>> {
    if (this.#delay > 0) await new Promise((r) => setTimeout(r, this.#delay));
    return { kind: "error", reason: "ETIMEOUT" };
  }

  txt(name: string) {
    return this.lookup(name, "TXT");
  }
  a(name: string) {
    return this.lookup(name, "A");
  }
  aaaa(name: string) {
    return this.lookup(name, "AAAA");
  }
  mx(name: string) {
    return this.lookup(name, "MX");
  }
  ptr(ip: string): Promise<DnsAnswer<string[]>> {
    const name = reverseName(ip);
    if (!name) return Promise.resolve({ kind: "error", reason: `not an IP address: ${ip}` });
    return this.lookup(name, "PTR");
  }

  /** What ptr() answers, now (the lookup not overridden). */
  #ptrAnswer(ip: string): DnsAnswer<string[]> | typeof TIMED_OUT {
    const name = reverseName(ip);
    if (!name) return { kind: "error", reason: `not an IP address: ${ip}` };
    return FixtureResolver.#answer(this, name, "PTR");
  }
}

const TIMED_OUT = Symbol("timed out");

/**
 * TXT records of several character-strings (a DKIM key's) joined, by their chunk array: while its
 * chunks are the same strings, each answer gives the same string (no join of ~400 characters, and
 * a string whose hash a cache keyed by it, as DKIM's parsed keys are, has already computed).
 */
const JOINED = new WeakMap<readonly string[], { chunks: readonly string[]; text: string }>();

/** A TXT record's character-strings joined (one chunk, the usual case, is the record as it is). */
function joinChunks(chunks: string[]): string {
  if (!Array.isArray(chunks)) return (chunks as string[]).join(""); // not an array: as join would (a user's Map may hold anything)
  const n = chunks.length;
  if (n === 1 && typeof chunks[0] === "string") return chunks[0];
  if (n < 2) return chunks.join("");
  const seen = JOINED.get(chunks);
  if (seen !== undefined && sameChunks(seen.chunks, chunks)) return seen.text;
  const text = chunks.join("");
  for (let i = 0; i < n; i++) if (typeof chunks[i] !== "string") return text;
  JOINED.set(chunks, { chunks: chunks.slice(), text });
  return text;
}

function sameChunks(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ownLookup = FixtureResolver.prototype.lookup;

// Its methods never read a query's options: the guard calls them without (see optionless).
const methods = (["txt", "a", "aaaa", "mx", "ptr"] as const).map((m) => FixtureResolver.prototype[m]);
optionless(...methods);
// The guard takes their answer at once, with no promise of the lookup's own (see answersNow).
answersNow(answerNow as (r: Resolver, type: RecordType, name: string) => unknown, ...methods);
