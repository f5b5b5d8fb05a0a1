import { isAbortSignal } from "../abort.js";
import { BudgetedResolver } from "../dns/budget.js";
import { guardResolver } from "../dns/guard.js";
import { formatIp, ipv4PrefixMatch, ipv4Value, type ParsedIp, parseIp, prefixMatch } from "../dns/ip.js";
import { eventLoopTurn, Prefetcher } from "../dns/prefetch.js";
import type { DnsAnswer, RecordsByType, RecordType, Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { checkSpfHeloParams, checkSpfOptions, checkSpfParams, isPlainObject, isResolver, isTimerMs, isVouched } from "../options.js";
import { expandMacro, type MacroPart, type MacroValues, parseMacroString } from "./macro.js";
import { countsLookup, type Directive, isSpfRecord, parseSpfRecord, type Qualifier, type SpfRecord } from "./record.js";

/** SPF results, with RFC 8601's words. */
export type SpfResultWord = "pass" | "fail" | "softfail" | "neutral" | "none" | "temperror" | "permerror";

export interface SpfParams {
  /** The SMTP client's address (IPv4, IPv6, or IPv4-mapped IPv6). */
  ip: string;
  /** The HELO/EHLO name. */
  helo?: string;
  /** The MAIL FROM address, with or without angle brackets; "" or "<>" for the null sender. */
  mailFrom?: string;
}

export interface SpfOptions {
  resolver: Resolver;
  /** DNS-querying terms per check (RFC 7208 4.6.4). Default 10. */
  maxLookups?: number;
  /** Lookups that answer NXDOMAIN or NODATA (4.6.4). Default 2. */
  maxVoidLookups?: number;
  /** MX names looked up per mx mechanism (4.6.4). Default 10. */
  maxMxNames?: number;
  /** PTR names considered per ptr mechanism or %{p} (4.6.4). Default 10. */
  maxPtrNames?: number;
  /** Milliseconds the whole check may spend on DNS; past it the result is temperror. At most 2^31-1 (MAX_TIMER_MS). */
  timeBudgetMs?: number;
  /** Stops the check: pending lookups are abandoned and the result is temperror. */
  signal?: AbortSignal;
  /** This host's domain, for %{r} in explanations. Default "unknown". */
  receiver?: string;
  /** Clock in milliseconds, for %{t}. */
  now?: () => number;
  /**
   * Send the queries a record's terms will need as soon as the record is read (the records of its
   * includes and redirect, the a, mx and exists names written without macros, recursively), so that
   * sibling includes and the names in them are fetched concurrently. The terms are still evaluated
   * one by one in the record's order (RFC 7208 4.6.2): the result, the lookup counts and the queries
   * the evaluation itself makes are those of a sequential evaluation. Prefetched queries count
   * against maxLookups (no more than maxLookups are sent ahead, and only for terms within the first
   * maxLookups the check could reach) and against a BudgetedResolver's budget. Nothing is sent ahead
   * until an answer has waited for I/O (with a resolver answering from memory it would only cost
   * CPU). Default true.
   */
  prefetch?: boolean;
}

export interface SpfResult {
  result: SpfResultWord;
  /** Which identity was checked: MAIL FROM, or HELO (for the null sender, or checkSpfHelo). */
  identity: "mailfrom" | "helo";
  /** The domain checked (lower case, A-label), or "" when there was none. */
  domain: string;
  /** The sender used in the check: MAIL FROM, or postmaster@helo. */
  sender: string;
  /** The client address as checked (IPv4-mapped IPv6 as IPv4). */
  ip: string;
  helo: string;
  /** The term that decided the result, as written ("ip4:192.0.2.0/24", "-all"), or "default". */
  mechanism?: string;
  /** The domain owner's explanation (exp=), for fail results. */
  explanation?: string;
  /** Why, in words: for the errors the problem, for the rest what matched. */
  reason: string;
  /** DNS-querying terms and void lookups used. */
  lookups: number;
  voidLookups: number;
}

class Abort {
  constructor(
    readonly result: "temperror" | "permerror",
    readonly reason: string,
  ) {}
}

interface Outcome {
  result: SpfResultWord;
  mechanism?: string;
  explanation?: string;
  reason: string;
}

const QUALIFIER_RESULT: Record<Qualifier, SpfResultWord> = { "+": "pass", "-": "fail", "~": "softfail", "?": "neutral" };

/**
 * A domain fit for check_host (4.3): at most 253 characters, labels of 1-63, at least two labels.
 * ASCII names are checked in one pass (no regular expression, split or copy unless lower-casing or
 * a trailing dot needs one); the rest go through asciiDomain. test/spf/fast-paths.test.ts holds the
 * pass to the general rule.
 */
export function checkableDomain(domain: string): string | undefined {
  const len = domain.length;
  const n = len > 0 && domain.charCodeAt(len - 1) === 0x2e ? len - 1 : len;
  let upper = false;
  let label = 0;
  let labels = 1;
  let ok = true;
  for (let i = 0; i < n; i++) {
    const c = domain.charCodeAt(i);
    if (c > 0x7f) return nonAsciiCheckable(domain);
    if (c === 0x2e) {
      if (label === 0 || label > 63) ok = false;
      labels++;
      label = 0;
    } else {
      label++;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
  }
  if (!ok || label === 0 || label > 63 || labels < 2 || n > 253) return undefined;
  const ascii = n === len ? domain : domain.slice(0, n);
  return upper ? ascii.toLowerCase() : ascii;
}

function nonAsciiCheckable(domain: string): string | undefined {
  const ascii = asciiDomain(domain);
  if (!ascii || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2) return undefined;
  for (const l of labels) if (l.length === 0 || l.length > 63) return undefined;
  return ascii;
}

/** 7.3: an expanded name over 253 characters loses labels from the left until it fits. */
function truncateName(name: string): string {
  let n = name.endsWith(".") ? name.slice(0, -1) : name;
  while (n.length > 253) {
    const dot = n.indexOf(".");
    if (dot < 0) return n.slice(-253);
    n = n.slice(dot + 1);
  }
  return n;
}

function nibbles(ip: ParsedIp): string {
  if (ip.family === 4) return [...ip.bytes].join(".");
  const out: string[] = [];
  for (const b of ip.bytes) out.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return out.join(".");
}

/** A 4-byte address as an ipv4Value number. */
function bytesValue(b: Uint8Array): number {
  return b[0]! * 0x1000000 + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

/** A macro-string that holds no macro: its text, or undefined. */
function literalOf(parts: MacroPart[]): string | undefined {
  let text = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.kind !== "literal") return undefined;
    text += p.text;
  }
  return text;
}

/**
 * What check_host needs of a record's terms that depends on the record alone, worked out once per
 * parsed record (parsed records are cached and frozen, and records repeat across checks): the
 * include targets written without macros, expanded (7.3) and checked (4.3). Saves the expansion and
 * the one-pass domain check of each include of each check.
 */
interface RecordPlan {
  /** Per term: an include's target when its domain-spec holds no macro, else undefined. */
  readonly targets: readonly (string | undefined)[];
  /** Per term: checkableDomain of that target (undefined when it is not one, or not known). */
  readonly checked: readonly (string | undefined)[];
}

const plans = new WeakMap<SpfRecord, RecordPlan>();

function planOf(record: SpfRecord): RecordPlan {
  let plan = plans.get(record);
  if (plan !== undefined) return plan;
  const targets: (string | undefined)[] = [];
  const checked: (string | undefined)[] = [];
  for (const dir of record.directives) {
    const m = dir.mechanism;
    const literal = m.type === "include" ? literalOf(m.domain) : undefined;
    const target = literal === undefined ? undefined : truncateName(literal);
    targets.push(target);
    checked.push(target === undefined ? undefined : checkableDomain(target));
  }
  plan = { targets, checked };
  plans.set(record, plan);
  return plan;
}

/** Selects and parses the SPF record among a name's TXT records (4.5). */
function selectRecord(domain: string, records: readonly string[]): SpfRecord | Outcome {
  let spf: string | undefined;
  let count = 0;
  for (const r of records) if (isSpfRecord(r) && count++ === 0) spf = r;
  if (count === 0) return { result: "none", reason: `${domain} publishes no SPF record` };
  if (count > 1) return { result: "permerror", reason: `${domain} publishes ${count} SPF records (RFC 7208 4.5)` };
  const parsed = parseSpfRecord(spf!);
  if (!parsed.ok) return { result: "permerror", reason: `${domain}: ${parsed.reason}` };
  return parsed.record;
}

/** The SPF record of a domain from its TXT answer, or the outcome when there is none (4.4, 4.5). */
function recordOf(domain: string, answer: DnsAnswer<string[]>): SpfRecord | Outcome {
  if (answer.kind === "error") return { result: "temperror", reason: `DNS failure looking up ${domain} TXT: ${answer.reason}` };
  if (answer.kind !== "ok") return { result: "none", reason: `${domain} has no TXT records` };
  return selectRecord(domain, answer.records);
}

/**
 * What a matched term gives a record reached by include: only its result is read (the include
 * matches or not), so one shared outcome a qualifier instead of a reason built and dropped.
 */
const INCLUDED_MATCH: Readonly<Record<Qualifier, Outcome>> = Object.freeze({
  "+": Object.freeze({ result: "pass", reason: "" }),
  "-": Object.freeze({ result: "fail", reason: "" }),
  "~": Object.freeze({ result: "softfail", reason: "" }),
  "?": Object.freeze({ result: "neutral", reason: "" }),
});

/** Whether include:target matched, from check_host's result for target (5.2); errors end the check. */
function includeMatched(inner: Outcome, term: string, target: string): boolean {
  switch (inner.result) {
    case "pass":
      return true;
    case "fail":
    case "softfail":
    case "neutral":
      return false;
    case "temperror":
      throw new Abort("temperror", inner.reason);
    case "permerror":
      throw new Abort("permerror", inner.reason);
    default:
      throw new Abort("permerror", `${term}: ${target} has no SPF record (RFC 7208 5.2)`);
  }
}

/** A record under evaluation in checkHost. */
interface Frame {
  readonly record: SpfRecord;
  readonly domain: string;
  readonly top: boolean;
  /** The next term to evaluate. */
  next: number;
  /** The include whose check_host() result the record waits for, and its target. */
  include: Directive | undefined;
  target: string;
}

class Evaluation {
  lookups = 0;
  voids = 0;
  #validated: Map<string, Promise<string[]>> | undefined;
  #values: MacroValues | undefined;
  /**
   * Queries sent ahead of the evaluation; once there is one, the evaluation asks for every answer
   * through this, in its own order. Made with the first query sent ahead: over a resolver answering
   * from memory there is none.
   */
  pf: Prefetcher | undefined;
  /**
   * An answer of this check waited for I/O: the resolver is not answering from memory, so queries
   * are worth sending ahead. Until then none are (with a resolver in memory they only cost CPU).
   */
  slow = false;
  readonly v4: boolean;
  /** The client address as an ipv4Value number, or -1 for IPv6. */
  readonly v4Value: number;
  readonly maxLookups: number;
  readonly maxVoidLookups: number;
  readonly maxMxNames: number;
  readonly maxPtrNames: number;
  readonly prefetch: boolean;
  readonly receiver: string;
  /**
   * The caller's clock when the check began, for %{t}; without one, Date.now() is read when a macro
   * is first expanded (most checks expand none: a clock read saved per check).
   */
  readonly nowMs: number | undefined;

  #ip: ParsedIp | undefined;

  /**
   * `client` is the client address parsed, or a dotted quad's ipv4Value: then its bytes are made
   * only if a macro or a ptr term needs them (ip4 terms compare numbers), no typed array per check.
   */
  constructor(
    readonly resolver: Resolver,
    client: ParsedIp | number,
    readonly local: string,
    readonly senderDomain: string,
    readonly helo: string,
    opts: SpfOptions,
  ) {
    if (typeof client === "number") {
      this.v4 = true;
      this.v4Value = client;
    } else {
      this.#ip = client;
      this.v4 = client.family === 4;
      this.v4Value = this.v4 ? bytesValue(client.bytes) : -1;
    }
    this.maxLookups = opts.maxLookups ?? 10;
    this.maxVoidLookups = opts.maxVoidLookups ?? 2;
    this.maxMxNames = opts.maxMxNames ?? 10;
    this.maxPtrNames = opts.maxPtrNames ?? 10;
    this.prefetch = opts.prefetch !== false;
    this.receiver = opts.receiver ?? "unknown";
    // Called as a function, not a method of opts: msgauth's own options objects must not be the
    // caller's `this` (red team: the mark on them was read through it).
    const now = opts.now;
    this.nowMs = now === undefined ? undefined : now();
  }

  /** The client address (IPv4-mapped IPv6 as IPv4). */
  get ip(): ParsedIp {
    if (this.#ip === undefined) {
      const v = this.v4Value;
      this.#ip = { family: 4, bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff) };
    }
    return this.#ip;
  }

  /** The macro values (7.2), made when a macro is first expanded: most records hold none. */
  get values(): MacroValues {
    this.#values ??= {
      s: `${this.local}@${this.senderDomain}`,
      l: this.local,
      o: this.senderDomain,
      d: this.senderDomain,
      i: nibbles(this.ip),
      h: this.helo,
      c: formatIp(this.ip),
      r: this.receiver,
      t: String(Math.floor((this.nowMs ?? Date.now()) / 1000)),
      v: this.v4 ? "in-addr" : "ip6",
      p: () => this.pMacro(this.senderDomain),
    };
    return this.#values;
  }

  /** The Prefetcher, made on first use (see pf). */
  prefetcher(): Prefetcher {
    this.pf ??= new Prefetcher(this.resolver, this.prefetch ? this.maxLookups : 0);
    return this.pf;
  }

  /** An answer for the evaluation: the one sent ahead if there is one, else a query now. */
  query<T extends RecordType>(type: T, name: string): Promise<DnsAnswer<RecordsByType[T]>> {
    if (this.pf) return this.pf.query(type, name);
    // The resolver's method called directly (as query() would, with the name alone), without
    // query()'s argument array.
    const r = this.resolver;
    const answer =
      type === "TXT" ? r.txt(name) : type === "A" ? r.a(name) : type === "AAAA" ? r.aaaa(name) : type === "MX" ? r.mx(name) : r.ptr(name);
    return answer as Promise<DnsAnswer<RecordsByType[T]>>;
  }

  countLookup(term: string): void {
    if (++this.lookups > this.maxLookups) {
      throw new Abort("permerror", `more than ${this.maxLookups} DNS-querying terms (RFC 7208 4.6.4) at ${term}`);
    }
  }

  countVoid(term: string): void {
    if (++this.voids > this.maxVoidLookups) {
      throw new Abort("permerror", `more than ${this.maxVoidLookups} void lookups (RFC 7208 4.6.4) at ${term}`);
    }
  }

  /** A DNS answer that must not be a failure: a failure ends the check with temperror (RFC 7208 5). */
  must<T>(answer: DnsAnswer<T>, what: string): DnsAnswer<T> {
    if (answer.kind === "error") throw new Abort("temperror", `DNS failure looking up ${what}: ${answer.reason}`);
    return answer;
  }

  /**
   * A domain-spec expanded (7.3) and truncated to 253 characters. One without macros (most) is
   * its text, given at once rather than through expandMacro's promise and a copy of the values.
   */
  expandDomain(parts: MacroPart[], domain: string): string | Promise<string> {
    const literal = literalOf(parts);
    if (literal !== undefined) return truncateName(literal);
    return expandMacro(parts, { ...this.values, d: domain, p: () => this.pMacro(domain) }).then(truncateName);
  }

  /**
   * Whether an A or AAAA answer for `name` holds an address matching the client on `bits` bits; an
   * error ends the check (temperror), no address counts a void lookup when `countVoid` is set.
   */
  anyAddress(answer: DnsAnswer<string[]>, name: string, term: string, bits: number, countVoid: boolean): boolean {
    this.must(answer, name);
    if (answer.kind !== "ok") {
      if (countVoid) this.countVoid(term);
      return false;
    }
    let match = false;
    for (const text of answer.records) {
      // A dotted quad is read as parseIp reads it, as a number: no { family, bytes } object and no
      // typed array an address.
      const v4 = ipv4Value(text);
      if (v4 >= 0) {
        if (this.v4 && ipv4PrefixMatch(v4, this.v4Value, bits)) match = true;
        continue;
      }
      const parsed = parseIp(text);
      if (parsed && parsed.family === this.ip.family && prefixMatch(parsed.bytes, this.ip.bytes, bits)) match = true;
    }
    return match;
  }

  /** Names from PTR whose forward lookup gives the client address back (5.5), at most maxPtrNames. */
  validatedNames(term: string | undefined): Promise<string[]> {
    const key = term === undefined ? "p" : "ptr";
    this.#validated ??= new Map();
    let cached = this.#validated.get(key);
    if (cached) return cached;
    cached = (async () => {
      const answer = await this.resolver.ptr(formatIp(this.ip));
      if (answer.kind !== "ok") {
        if (term !== undefined && answer.kind !== "error") this.countVoid(term);
        return []; // 5.5: a DNS error on the PTR lookup means no match
      }
      const out: string[] = [];
      for (const name of answer.records.slice(0, this.maxPtrNames)) {
        const fwd = this.v4 ? await this.resolver.a(name) : await this.resolver.aaaa(name);
        if (fwd.kind !== "ok") continue; // 5.5: an error on the A lookup skips that name
        const match = fwd.records.some((t) => {
          const p = parseIp(t);
          return p !== undefined && p.family === this.ip.family && prefixMatch(p.bytes, this.ip.bytes, p.family === 4 ? 32 : 128);
        });
        if (match) out.push(name.toLowerCase().replace(/\.$/, ""));
      }
      return out;
    })();
    this.#validated.set(key, cached);
    return cached;
  }

  /** %{p}: a validated name, preferring the domain itself, then a subdomain of it (7.3). */
  async pMacro(domain: string): Promise<string> {
    const names = await this.validatedNames(undefined);
    const d = domain.toLowerCase();
    return names.find((n) => n === d) ?? names.find((n) => n.endsWith(`.${d}`)) ?? names[0] ?? "unknown";
  }

  /** The mx, ptr and exists mechanisms (5.4, 5.5, 5.7); check_host decides the others itself. */
  async matches(dir: Directive, domain: string): Promise<boolean> {
    const m = dir.mechanism;
    switch (m.type) {
      case "mx": {
        const target = m.domain ? await this.expandDomain(m.domain, domain) : domain;
        const bits = this.v4 ? m.cidr4 : m.cidr6;
        const answer = this.must(await this.query("MX", target), target);
        if (answer.kind !== "ok") {
          this.countVoid(dir.text);
          return false;
        }
        const names = answer.records.map((r) => r.exchange).filter((x) => x !== "" && x !== ".");
        if (names.length > this.maxMxNames) {
          throw new Abort("permerror", `${target} has ${names.length} MX names, over ${this.maxMxNames} (RFC 7208 4.6.4)`);
        }
        const type = this.v4 ? "A" : "AAAA";
        // The names are looked up in order, as the RFC evaluates them; their queries are sent together.
        if (this.prefetch && this.slow) for (const name of names.slice(1)) this.prefetcher().prefetch(type, name, false);
        for (const name of names) {
          if (this.anyAddress(await this.query(type, name), name, dir.text, bits, false)) return true;
        }
        return false;
      }
      case "ptr": {
        const target = (m.domain ? await this.expandDomain(m.domain, domain) : domain).toLowerCase();
        const names = await this.validatedNames(dir.text);
        return names.some((n) => n === target || n.endsWith(`.${target}`));
      }
      case "exists": {
        const target = await this.expandDomain(m.domain, domain);
        // 5.7: an A lookup even when the client is IPv6.
        const answer = this.must(await this.query("A", target), target);
        if (answer.kind !== "ok") {
          this.countVoid(dir.text);
          return false;
        }
        return true;
      }
      default:
        throw new Error(`unreachable: ${m.type}`);
    }
  }

  /**
   * Sends ahead the queries of a record's DNS-querying terms whose names are known without
   * evaluating anything (no macros). `before` is the number of terms counted when the record is
   * reached at the earliest: its k-th term is then term `before + k` at the earliest, and one past
   * maxLookups is never evaluated (4.6.4), so it is not fetched either. Included records are read as
   * they arrive and looked through the same way.
   */
  speculate(record: SpfRecord, domain: string, before: number): void {
    let k = before;
    const pf = this.prefetcher();
    const ahead = (parts: MacroPart[] | undefined): string | undefined => {
      const text = parts ? literalOf(parts) : domain;
      return text === undefined ? undefined : truncateName(text);
    };
    for (const dir of record.directives) {
      const m = dir.mechanism;
      if (!countsLookup(m)) continue;
      if (++k > this.maxLookups || pf.closed) return;
      if (m.type === "include") this.speculateRecord(ahead(m.domain), k);
      else if (m.type === "a") {
        const name = ahead(m.domain);
        if (name !== undefined) pf.prefetch(this.v4 ? "A" : "AAAA", name);
      } else if (m.type === "mx") {
        const name = ahead(m.domain);
        if (name !== undefined) pf.prefetch("MX", name);
      } else if (m.type === "exists") {
        const name = ahead(m.domain);
        if (name !== undefined) pf.prefetch("A", name);
      }
    }
    if (record.redirect && !record.hasAll && ++k <= this.maxLookups) this.speculateRecord(ahead(record.redirect), k);
  }

  speculateRecord(name: string | undefined, before: number): void {
    const domain = name === undefined ? undefined : checkableDomain(name);
    if (domain === undefined) return;
    const pf = this.prefetcher();
    const sent = eventLoopTurn();
    const answer = pf.prefetch("TXT", domain);
    void answer?.then((a) => {
      if (eventLoopTurn() !== sent) this.slow = true;
      if (a.kind !== "ok" || pf.closed || !this.slow) return;
      const record = selectRecord(domain, a.records);
      if ("directives" in record) this.speculate(record, domain, before);
    });
  }

  /**
   * check_host() (RFC 7208 4). `top` is set for the first record and those reached by redirect;
   * the others are reached by include, which reads only the result of a match. `checked` is
   * checkableDomain(rawDomain) when the caller has it. Its recursion
   * (include 5.2, redirect 6.1) runs in this one async function, the records waiting for an
   * include's result on a stack: no promise and await of a nested call per level (the bench's
   * include chain four deep: 6 promises fewer per check). test/spf/check-host.test.ts holds it to
   * a recursive check_host written from the RFC.
   */
  async checkHost(rawDomain: string, top: boolean, checked?: string): Promise<Outcome> {
    // The records whose include is being evaluated, the innermost last.
    const waiting: Frame[] = [];
    let name = rawDomain;
    // checkableDomain(name) when known already (an include's target in its record's plan).
    let known = checked;
    // `name` is the target of a redirect: "none" there is a permerror (6.1).
    let redirected = false;
    descend: for (;;) {
      // check_host(name): the record to evaluate, or the outcome when there is none.
      let frame: Frame | undefined;
      let outcome: Outcome | undefined;
      const domain = known ?? checkableDomain(name);
      if (!domain) outcome = { result: "none", reason: `'${name}' is not a valid domain for SPF (RFC 7208 4.3)` };
      else {
        const sent = eventLoopTurn();
        const record = recordOf(domain, await this.query("TXT", domain));
        if (eventLoopTurn() !== sent) this.slow = true;
        if ("directives" in record) {
          if (this.prefetch && this.slow) this.speculate(record, domain, this.lookups);
          frame = { record, domain, top, next: 0, include: undefined, target: "" };
        } else outcome = record;
      }
      if (outcome !== undefined && redirected && outcome.result === "none") {
        outcome = { result: "permerror", reason: `redirect=${name}: no SPF record there (RFC 7208 6.1)` };
      }
      for (;;) {
        if (frame !== undefined) {
          // The record's terms from frame.next on, in order (4.6.2).
          const { record, domain } = frame;
          const directives = record.directives;
          outcome = undefined;
          for (let i = frame.next; i < directives.length; i++) {
            const dir = directives[i]!;
            const m = dir.mechanism;
            let hit: boolean;
            // all, ip4 and ip6 are decided here; include and a (the usual DNS-querying terms) wait
            // here for their answer; mx, ptr and exists go to matches().
            if (m.type === "all") hit = true;
            else if (m.type === "ip4" || m.type === "ip6")
              hit =
                m.type === "ip4"
                  ? this.v4 && ipv4PrefixMatch(bytesValue(m.network), this.v4Value, m.cidr)
                  : !this.v4 && prefixMatch(m.network, this.ip.bytes, m.cidr);
            else {
              this.countLookup(dir.text);
              if (m.type === "include") {
                const plan = planOf(record);
                const target = plan.targets[i] ?? (await this.expandDomain(m.domain, domain));
                known = plan.checked[i];
                // check_host(target) next; this record waits for its result at term i + 1.
                frame.next = i + 1;
                frame.include = dir;
                frame.target = target;
                waiting.push(frame);
                name = target;
                top = false;
                redirected = false;
                continue descend;
              }
              if (m.type === "a") {
                const t = m.domain ? this.expandDomain(m.domain, domain) : domain;
                const target = typeof t === "string" ? t : await t;
                const answer = await this.query(this.v4 ? "A" : "AAAA", target);
                hit = this.anyAddress(answer, target, dir.text, this.v4 ? m.cidr4 : m.cidr6, true);
              } else hit = await this.matches(dir, domain);
            }
            if (hit) {
              outcome = this.matched(frame, dir);
              if (outcome.result === "fail" && frame.top && record.exp) await this.explainInto(outcome, record.exp, domain);
              break;
            }
          }
          if (outcome === undefined) {
            if (record.redirect && !record.hasAll) {
              // check_host(target) in place of this record: its outcome is this record's.
              this.countLookup("redirect");
              name = await this.expandDomain(record.redirect, domain);
              known = undefined;
              top = frame.top;
              redirected = true;
              continue descend;
            }
            outcome = { result: "neutral", mechanism: "default", reason: `no term matched in the SPF record of ${domain}` };
          }
        }
        // This level's outcome is the result of the include waiting for it.
        const parent = waiting.pop();
        if (parent === undefined) return outcome!;
        const include = parent.include!;
        if (includeMatched(outcome!, include.text, parent.target)) {
          outcome = this.matched(parent, include);
          const exp = parent.record.exp;
          if (outcome.result === "fail" && parent.top && exp) await this.explainInto(outcome, exp, parent.domain);
          frame = undefined;
        } else frame = parent;
      }
    }
  }

  /** The outcome of a record whose term `dir` matched (4.6.2); an included record's gives only its result. */
  matched(frame: Frame, dir: Directive): Outcome {
    if (!frame.top) return INCLUDED_MATCH[dir.qualifier];
    return {
      result: QUALIFIER_RESULT[dir.qualifier],
      mechanism: dir.text,
      reason: `matched ${dir.text} in the SPF record of ${frame.domain}`,
    };
  }

  /** A fail's explanation (6.2), when there is one. */
  async explainInto(outcome: Outcome, exp: MacroPart[], domain: string): Promise<void> {
    const explanation = await this.explain(exp, domain);
    if (explanation !== undefined) outcome.explanation = explanation;
  }

  /** The exp= explanation (6.2); any problem means no explanation, never a different result. */
  async explain(exp: MacroPart[], domain: string): Promise<string | undefined> {
    try {
      const name = await this.expandDomain(exp, domain);
      if (!checkableDomain(name)) return undefined;
      const answer = await this.resolver.txt(name);
      if (answer.kind !== "ok" || answer.records.length !== 1) return undefined;
      const parsed = parseMacroString(answer.records[0]!, true);
      if (!parsed.ok) return undefined;
      return await expandMacro(parsed.parts, { ...this.values, d: domain, p: () => this.pMacro(domain) });
    } catch {
      return undefined;
    }
  }
}

/** Splits MAIL FROM into local part and domain (4.3: an empty local part becomes "postmaster"). */
function splitSender(mailFrom: string): { local: string; domain: string } | undefined {
  let addr = mailFrom.trim();
  if (addr.startsWith("<") && addr.endsWith(">")) addr = addr.slice(1, -1);
  if (addr === "") return undefined;
  const at = addr.lastIndexOf("@");
  if (at < 0) return { local: "postmaster", domain: addr };
  return { local: addr.slice(0, at) || "postmaster", domain: addr.slice(at + 1) };
}

/** The resolver the check queries: every answer validated and every wait bounded. */
function guardedResolver(options: SpfOptions): Resolver {
  if (options.timeBudgetMs !== undefined)
    return new BudgetedResolver(options.resolver, {
      maxQueries: Number.MAX_SAFE_INTEGER,
      timeBudgetMs: options.timeBudgetMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  if (options.signal) return guardResolver(options.resolver, { signal: options.signal });
  // A BudgetedResolver (authenticate()'s, one per message) is its own guard and comes back as it is;
  // a subclass of it, which may override a method, is guarded like any resolver (guard.ts decides).
  return guardResolver(options.resolver); // made once per resolver (guard.ts)
}

/** The result, its fields in one order whatever the path. */
function spfResult(
  identity: "mailfrom" | "helo",
  domain: string,
  sender: string,
  ip: string,
  helo: string,
  lookups: number,
  voidLookups: number,
  outcome: Outcome,
): SpfResult {
  const { result, mechanism, reason } = outcome;
  // The keys in the order of earlier versions (mechanism before reason), for printed JSON.
  const r: SpfResult =
    mechanism === undefined
      ? { identity, domain, sender, ip, helo, lookups, voidLookups, result, reason }
      : { identity, domain, sender, ip, helo, lookups, voidLookups, result, mechanism, reason };
  if (outcome.explanation !== undefined) r.explanation = outcome.explanation;
  return r;
}

async function run(
  identity: "mailfrom" | "helo",
  params: SpfParams,
  options: SpfOptions,
  sender: { local: string; domain: string } | undefined,
): Promise<SpfResult> {
  const helo = params.helo ?? "";
  const local = sender?.local ?? "postmaster";
  const domain = sender?.domain ?? helo;
  const valid = checkableDomain(domain);
  const checked = valid ?? domain.toLowerCase();
  const senderText = `${local}@${domain}`;
  // A dotted quad (the usual client) read as a number; other forms parsed into bytes.
  const v4 = ipv4Value(params.ip);
  const ip = v4 >= 0 ? v4 : parseIp(params.ip);
  if (ip === undefined)
    return spfResult(identity, checked, senderText, params.ip, helo, 0, 0, {
      result: "permerror",
      reason: `'${params.ip}' is not an IP address`,
    });
  // A dotted quad is its own canonical text (ipv4Value reads only that form).
  const ipText = typeof ip === "number" ? params.ip : formatIp(ip);
  if (domain === "" || domain.startsWith("[")) {
    return spfResult(identity, checked, senderText, ipText, helo, 0, 0, {
      result: "none",
      reason: identity === "helo" ? "HELO is not a domain name" : "no domain to check",
    });
  }
  // Every answer is validated and every wait bounded, whatever resolver the caller gave.
  const ev = new Evaluation(guardedResolver(options), ip, local, domain, helo, options);
  let outcome: Outcome;
  try {
    outcome = await ev.checkHost(domain, true, valid);
  } catch (err) {
    if (!(err instanceof Abort)) throw err;
    outcome = { result: err.result, reason: err.reason };
  } finally {
    ev.pf?.close(); // queries sent ahead for terms never reached are not waited for
  }
  return spfResult(identity, checked, senderText, ipText, helo, ev.lookups, ev.voids, outcome);
}

const optionalString = (v: unknown) => v === undefined || typeof v === "string";

/**
 * Whether checkSpfParams (or checkSpfHeloParams, `withMailFrom` false) accepts `v`, decided by hand
 * for the usual shape; false leaves the decision (and any refusal) to the checker. Never true for
 * what the checker refuses (test/spf/fast-paths.test.ts compares the two). Saves zod's parse.
 */
export function plainSpfParams(v: unknown, withMailFrom: boolean): boolean {
  if (!isPlainObject(v)) return false;
  for (const key in v) if (key !== "ip" && key !== "helo" && (key !== "mailFrom" || !withMailFrom)) return false;
  return typeof v.ip === "string" && optionalString(v.helo) && optionalString(v.mailFrom);
}

const PLAIN_OPTION_KEYS = new Set([
  "resolver",
  "maxLookups",
  "maxVoidLookups",
  "maxMxNames",
  "maxPtrNames",
  "timeBudgetMs",
  "signal",
  "receiver",
  "now",
  "prefetch",
]);
const optionalCount = (v: unknown, min: number) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= min);

/** Whether checkSpfOptions accepts `v`, decided by hand; see plainSpfParams. */
export function plainSpfOptions(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  for (const key in v) if (!PLAIN_OPTION_KEYS.has(key)) return false;
  return (
    isResolver(v.resolver) &&
    optionalCount(v.maxLookups, 0) &&
    optionalCount(v.maxVoidLookups, 0) &&
    optionalCount(v.maxMxNames, 1) &&
    optionalCount(v.maxPtrNames, 1) &&
    (v.timeBudgetMs === undefined || isTimerMs(v.timeBudgetMs)) &&
    (v.signal === undefined || isAbortSignal(v.signal)) &&
    optionalString(v.receiver) &&
    (v.now === undefined || typeof v.now === "function") &&
    (v.prefetch === undefined || typeof v.prefetch === "boolean")
  );
}

/**
 * Checks the MAIL FROM identity (RFC 7208 2.4); for the null sender, the HELO identity with
 * postmaster@helo (2.4, 4.3). Never throws for anything DNS or the record holds.
 */
export function checkSpf(params: SpfParams, options: SpfOptions): Promise<SpfResult> {
  // Marked by authenticate(), which made them from checked values: not looked at again.
  if (!isVouched(params) && !plainSpfParams(params, true)) checkSpfParams(params);
  if (!isVouched(options) && !plainSpfOptions(options)) checkSpfOptions(options);
  const sender = splitSender(params.mailFrom ?? "");
  return run(sender === undefined ? "helo" : "mailfrom", params, options, sender);
}

/** Checks the HELO identity on its own (RFC 7208 2.3). */
export function checkSpfHelo(params: Omit<SpfParams, "mailFrom">, options: SpfOptions): Promise<SpfResult> {
  if (!plainSpfParams(params, false)) checkSpfHeloParams(params);
  if (!plainSpfOptions(options)) checkSpfOptions(options);
  return run("helo", params, options, undefined);
}
