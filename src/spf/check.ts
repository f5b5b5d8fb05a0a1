import { BudgetedResolver } from "../dns/budget.js";
import { guardResolver } from "../dns/guard.js";
import { formatIp, type ParsedIp, parseIp, prefixMatch } from "../dns/ip.js";
import { eventLoopTurn, Prefetcher } from "../dns/prefetch.js";
import type { DnsAnswer, Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { checkSpfHeloParams, checkSpfOptions, checkSpfParams } from "../options.js";
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
  /** Milliseconds the whole check may spend on DNS; past it the result is temperror. */
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

/** A domain fit for check_host (4.3): at most 253 characters, labels of 1-63, at least two labels. */
function checkableDomain(domain: string): string | undefined {
  const ascii = /^[\x00-\x7f]*$/.test(domain) ? domain.toLowerCase().replace(/\.$/, "") : asciiDomain(domain);
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

/** A macro-string that holds no macro: its text, or undefined. */
function literalOf(parts: MacroPart[]): string | undefined {
  let text = "";
  for (const p of parts) {
    if (p.kind !== "literal") return undefined;
    text += p.text;
  }
  return text;
}

/** Selects and parses the SPF record among a name's TXT records (4.5). */
function selectRecord(domain: string, records: string[]): SpfRecord | Outcome {
  const spf = records.filter(isSpfRecord);
  if (spf.length === 0) return { result: "none", reason: `${domain} publishes no SPF record` };
  if (spf.length > 1) return { result: "permerror", reason: `${domain} publishes ${spf.length} SPF records (RFC 7208 4.5)` };
  const parsed = parseSpfRecord(spf[0]!);
  if (!parsed.ok) return { result: "permerror", reason: `${domain}: ${parsed.reason}` };
  return parsed.record;
}

class Evaluation {
  lookups = 0;
  voids = 0;
  readonly #validated = new Map<string, Promise<string[]>>();
  readonly values: MacroValues;
  /** Queries sent ahead of the evaluation; it asks for every answer through this, in its own order. */
  readonly pf: Prefetcher;
  /**
   * An answer of this check waited for I/O: the resolver is not answering from memory, so queries
   * are worth sending ahead. Until then none are (with a resolver in memory they only cost CPU).
   */
  slow = false;

  constructor(
    readonly resolver: Resolver,
    readonly ip: ParsedIp,
    readonly local: string,
    readonly senderDomain: string,
    readonly helo: string,
    readonly opts: Required<Pick<SpfOptions, "maxLookups" | "maxVoidLookups" | "maxMxNames" | "maxPtrNames">> & SpfOptions,
  ) {
    const sender = `${local}@${senderDomain}`;
    this.pf = new Prefetcher(resolver, opts.prefetch === false ? 0 : opts.maxLookups);
    this.values = {
      s: sender,
      l: local,
      o: senderDomain,
      d: senderDomain,
      i: nibbles(ip),
      h: helo,
      c: formatIp(ip),
      r: opts.receiver ?? "unknown",
      t: String(Math.floor((opts.now?.() ?? Date.now()) / 1000)),
      v: ip.family === 4 ? "in-addr" : "ip6",
      p: () => this.pMacro(this.values.d),
    };
  }

  countLookup(term: string): void {
    if (++this.lookups > this.opts.maxLookups) {
      throw new Abort("permerror", `more than ${this.opts.maxLookups} DNS-querying terms (RFC 7208 4.6.4) at ${term}`);
    }
  }

  countVoid(term: string): void {
    if (++this.voids > this.opts.maxVoidLookups) {
      throw new Abort("permerror", `more than ${this.opts.maxVoidLookups} void lookups (RFC 7208 4.6.4) at ${term}`);
    }
  }

  /** A DNS answer that must not be a failure: a failure ends the check with temperror (RFC 7208 5). */
  must<T>(answer: DnsAnswer<T>, what: string): DnsAnswer<T> {
    if (answer.kind === "error") throw new Abort("temperror", `DNS failure looking up ${what}: ${answer.reason}`);
    return answer;
  }

  async expandDomain(parts: MacroPart[], domain: string): Promise<string> {
    return truncateName(await expandMacro(parts, { ...this.values, d: domain, p: () => this.pMacro(domain) }));
  }

  async addresses(name: string, term: string, countVoid: boolean): Promise<Uint8Array[]> {
    const answer = this.must(await this.pf.query(this.ip.family === 4 ? "A" : "AAAA", name), name);
    if (answer.kind !== "ok") {
      if (countVoid) this.countVoid(term);
      return [];
    }
    const out: Uint8Array[] = [];
    for (const text of answer.records) {
      const parsed = parseIp(text);
      if (parsed && parsed.family === this.ip.family) out.push(parsed.bytes);
    }
    return out;
  }

  /** Names from PTR whose forward lookup gives the client address back (5.5), at most maxPtrNames. */
  validatedNames(term: string | undefined): Promise<string[]> {
    const key = term === undefined ? "p" : "ptr";
    let cached = this.#validated.get(key);
    if (cached) return cached;
    cached = (async () => {
      const answer = await this.resolver.ptr(formatIp(this.ip));
      if (answer.kind !== "ok") {
        if (term !== undefined && answer.kind !== "error") this.countVoid(term);
        return []; // 5.5: a DNS error on the PTR lookup means no match
      }
      const out: string[] = [];
      for (const name of answer.records.slice(0, this.opts.maxPtrNames)) {
        const fwd = this.ip.family === 4 ? await this.resolver.a(name) : await this.resolver.aaaa(name);
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

  async matches(dir: Directive, domain: string): Promise<boolean> {
    const m = dir.mechanism;
    switch (m.type) {
      case "all":
        return true;
      case "ip4":
      case "ip6":
        return (m.type === "ip4") === (this.ip.family === 4) && prefixMatch(m.network, this.ip.bytes, m.cidr);
      case "a": {
        const target = m.domain ? await this.expandDomain(m.domain, domain) : domain;
        const bits = this.ip.family === 4 ? m.cidr4 : m.cidr6;
        return (await this.addresses(target, dir.text, true)).some((a) => prefixMatch(a, this.ip.bytes, bits));
      }
      case "mx": {
        const target = m.domain ? await this.expandDomain(m.domain, domain) : domain;
        const bits = this.ip.family === 4 ? m.cidr4 : m.cidr6;
        const answer = this.must(await this.pf.query("MX", target), target);
        if (answer.kind !== "ok") {
          this.countVoid(dir.text);
          return false;
        }
        const names = answer.records.map((r) => r.exchange).filter((x) => x !== "" && x !== ".");
        if (names.length > this.opts.maxMxNames) {
          throw new Abort("permerror", `${target} has ${names.length} MX names, over ${this.opts.maxMxNames} (RFC 7208 4.6.4)`);
        }
        // The names are looked up in order, as the RFC evaluates them; their queries are sent together.
        if (this.opts.prefetch !== false && this.slow)
          for (const name of names.slice(1)) this.pf.prefetch(this.ip.family === 4 ? "A" : "AAAA", name, false);
        for (const name of names) {
          if ((await this.addresses(name, dir.text, false)).some((a) => prefixMatch(a, this.ip.bytes, bits))) return true;
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
        const answer = this.must(await this.pf.query("A", target), target);
        if (answer.kind !== "ok") {
          this.countVoid(dir.text);
          return false;
        }
        return true;
      }
      case "include": {
        const target = await this.expandDomain(m.domain, domain);
        const inner = await this.checkHost(target, false);
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
            throw new Abort("permerror", `${dir.text}: ${target} has no SPF record (RFC 7208 5.2)`);
        }
      }
    }
  }

  /** Fetches and selects the SPF record of a domain (4.4, 4.5). */
  async record(domain: string): Promise<SpfRecord | Outcome> {
    const answer = await this.pf.query("TXT", domain);
    if (answer.kind === "error") return { result: "temperror", reason: `DNS failure looking up ${domain} TXT: ${answer.reason}` };
    if (answer.kind !== "ok") return { result: "none", reason: `${domain} has no TXT records` };
    return selectRecord(domain, answer.records);
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
    const ahead = (parts: MacroPart[] | undefined): string | undefined => {
      const text = parts ? literalOf(parts) : domain;
      return text === undefined ? undefined : truncateName(text);
    };
    for (const dir of record.directives) {
      const m = dir.mechanism;
      if (!countsLookup(m)) continue;
      if (++k > this.opts.maxLookups || this.pf.closed) return;
      if (m.type === "include") this.speculateRecord(ahead(m.domain), k);
      else if (m.type === "a") {
        const name = ahead(m.domain);
        if (name !== undefined) this.pf.prefetch(this.ip.family === 4 ? "A" : "AAAA", name);
      } else if (m.type === "mx") {
        const name = ahead(m.domain);
        if (name !== undefined) this.pf.prefetch("MX", name);
      } else if (m.type === "exists") {
        const name = ahead(m.domain);
        if (name !== undefined) this.pf.prefetch("A", name);
      }
    }
    if (record.redirect && !record.hasAll && ++k <= this.opts.maxLookups) this.speculateRecord(ahead(record.redirect), k);
  }

  speculateRecord(name: string | undefined, before: number): void {
    const domain = name === undefined ? undefined : checkableDomain(name);
    if (domain === undefined) return;
    const sent = eventLoopTurn();
    const answer = this.pf.prefetch("TXT", domain);
    void answer?.then((a) => {
      if (eventLoopTurn() !== sent) this.slow = true;
      if (a.kind !== "ok" || this.pf.closed || !this.slow) return;
      const record = selectRecord(domain, a.records);
      if ("directives" in record) this.speculate(record, domain, before);
    });
  }

  /** check_host() (RFC 7208 4). `top` is set for the first record and those reached by redirect. */
  async checkHost(rawDomain: string, top: boolean): Promise<Outcome> {
    const domain = checkableDomain(rawDomain);
    if (!domain) return { result: "none", reason: `'${rawDomain}' is not a valid domain for SPF (RFC 7208 4.3)` };
    const sent = eventLoopTurn();
    const record = await this.record(domain);
    if (eventLoopTurn() !== sent) this.slow = true;
    if (!("directives" in record)) return record;
    if (this.opts.prefetch !== false && this.slow) this.speculate(record, domain, this.lookups);
    for (const dir of record.directives) {
      if (countsLookup(dir.mechanism)) this.countLookup(dir.text);
      if (!(await this.matches(dir, domain))) continue;
      const result = QUALIFIER_RESULT[dir.qualifier];
      const outcome: Outcome = { result, mechanism: dir.text, reason: `matched ${dir.text} in the SPF record of ${domain}` };
      if (result === "fail" && top && record.exp) {
        const explanation = await this.explain(record.exp, domain);
        if (explanation !== undefined) outcome.explanation = explanation;
      }
      return outcome;
    }
    if (record.redirect && !record.hasAll) {
      this.countLookup("redirect");
      const target = await this.expandDomain(record.redirect, domain);
      const inner = await this.checkHost(target, top);
      if (inner.result === "none") {
        return { result: "permerror", reason: `redirect=${target}: no SPF record there (RFC 7208 6.1)` };
      }
      return inner;
    }
    return { result: "neutral", mechanism: "default", reason: `no term matched in the SPF record of ${domain}` };
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

async function run(identity: "mailfrom" | "helo", params: SpfParams, options: SpfOptions): Promise<SpfResult> {
  const helo = params.helo ?? "";
  let local = "postmaster";
  let domain = helo;
  if (identity === "mailfrom") {
    const sender = splitSender(params.mailFrom ?? "");
    if (sender) {
      local = sender.local;
      domain = sender.domain;
    }
  }
  const base = {
    identity,
    domain: checkableDomain(domain) ?? domain.toLowerCase(),
    sender: `${local}@${domain}`,
    ip: params.ip,
    helo,
    lookups: 0,
    voidLookups: 0,
  };
  const ip = parseIp(params.ip);
  if (!ip) return { ...base, result: "permerror", reason: `'${params.ip}' is not an IP address` };
  base.ip = formatIp(ip);
  if (domain === "" || domain.startsWith("[")) {
    return { ...base, result: "none", reason: identity === "helo" ? "HELO is not a domain name" : "no domain to check" };
  }
  // Every answer is validated and every wait bounded, whatever resolver the caller gave.
  const resolver =
    options.timeBudgetMs === undefined
      ? guardResolver(options.resolver, options.signal ? { signal: options.signal } : {})
      : new BudgetedResolver(options.resolver, {
          maxQueries: Number.MAX_SAFE_INTEGER,
          timeBudgetMs: options.timeBudgetMs,
          ...(options.signal ? { signal: options.signal } : {}),
        });
  const ev = new Evaluation(resolver, ip, local, domain, helo, {
    ...options,
    maxLookups: options.maxLookups ?? 10,
    maxVoidLookups: options.maxVoidLookups ?? 2,
    maxMxNames: options.maxMxNames ?? 10,
    maxPtrNames: options.maxPtrNames ?? 10,
  });
  let outcome: Outcome;
  try {
    outcome = await ev.checkHost(domain, true);
  } catch (err) {
    if (!(err instanceof Abort)) throw err;
    outcome = { result: err.result, reason: err.reason };
  } finally {
    ev.pf.close(); // queries sent ahead for terms never reached are not waited for
  }
  const result: SpfResult = { ...base, ...outcome, lookups: ev.lookups, voidLookups: ev.voids };
  return result;
}

/**
 * Checks the MAIL FROM identity (RFC 7208 2.4); for the null sender, the HELO identity with
 * postmaster@helo (2.4, 4.3). Never throws for anything DNS or the record holds.
 */
export function checkSpf(params: SpfParams, options: SpfOptions): Promise<SpfResult> {
  checkSpfParams(params);
  checkSpfOptions(options);
  const nullSender = splitSender(params.mailFrom ?? "") === undefined;
  return run(nullSender ? "helo" : "mailfrom", params, options);
}

/** Checks the HELO identity on its own (RFC 7208 2.3). */
export function checkSpfHelo(params: Omit<SpfParams, "mailFrom">, options: SpfOptions): Promise<SpfResult> {
  checkSpfHeloParams(params);
  checkSpfOptions(options);
  return run("helo", params, options);
}
