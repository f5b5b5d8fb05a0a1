import type { AuthenticationResult, Envelope } from "../authenticate.js";
import { describeError, MsgauthError } from "../errors.js";
import { checkOptionKeys, invalidOption } from "../options.js";
import type { Store } from "../store/types.js";
import { MAX_FIELD_LENGTH, MAX_NAME_LENGTH, StoreError } from "../store/types.js";
import type { AggregateRecord, EvaluatedDisposition, PolicyOverride, PolicyPublished } from "./types.js";

/** What collect() needs from authenticate()'s result. */
export type CollectInput = Pick<AuthenticationResult, "dmarc" | "spf" | "dkim">;

export interface CollectExtra {
  /** Policy overrides you applied (RFC 9990 PolicyOverrideType): a trusted ARC forwarder, local policy. */
  overrides?: PolicyOverride[];
  /** The disposition you actually applied, when it differs from what DMARC asked (an override). */
  disposition?: EvaluatedDisposition;
}

export type CollectOutcome =
  | { collected: true; policyDomain: string; begin: number; end: number }
  | { collected: false; reason: string }
  | { collected: false; error: string };

export interface CollectorOptions {
  store: Store;
  /** Seconds per reporting period, aligned to UTC midnight; a divisor of 86,400, at least 3600. Default 86,400 (daily). */
  periodSeconds?: number;
  /**
   * Use a shorter period when the domain's record asks with ri= (historic in RFC 9989, still
   * published): the largest allowed divisor of a day not above ri=. Default false.
   */
  honourRi?: boolean;
  /** Also collect for domains without rua= (nobody to send them to). Default false. */
  includeWithoutRua?: boolean;
  /** Milliseconds clock. */
  now?: () => number;
  /** Prefix of the store's map names. Default "dmarc:". */
  prefix?: string;
}

const PERIODS = [3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400];
const OPTIONS = new Set(["store", "periodSeconds", "honourRi", "includeWithoutRua", "now", "prefix"]);
const MAX_AUTH_RESULTS = 10;

const DISPOSITIONS = new Set(["none", "pass", "quarantine", "reject"]);
const OVERRIDES = new Set(["local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder", "forwarded", "sampled_out"]);

/** Programmer errors in what the caller adds: an OptionsError naming the problem. */
function checkExtra(extra: CollectExtra): void {
  checkOptionKeys(extra, ["overrides", "disposition"], "extra", (k) => `unknown collect option ${k}`);
  if (extra.disposition !== undefined && !DISPOSITIONS.has(extra.disposition))
    throw invalidOption("extra.disposition", "disposition must be none, pass, quarantine or reject");
  for (const o of extra.overrides ?? []) {
    if (!OVERRIDES.has(o?.type)) throw invalidOption("extra.overrides", `unknown policy override type ${String(o?.type)}`);
    if (o.comment !== undefined && (typeof o.comment !== "string" || o.comment.length > 1024))
      throw invalidOption("extra.overrides", "an override comment must be a string of at most 1024 characters");
  }
}

/** The store map name of one policy domain's period: sorted by begin time. */
export function periodMapName(prefix: string, begin: number, seconds: number, domain: string): string {
  return `${prefix}agg:${String(begin).padStart(12, "0")}:${seconds}:${domain}`;
}

export function parsePeriodMapName(name: string, prefix: string): { begin: number; seconds: number; domain: string } | undefined {
  const m = /^agg:([0-9]{12}):([0-9]{1,6}):(.+)$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : "");
  if (!m) return undefined;
  return { begin: Number(m[1]), seconds: Number(m[2]), domain: m[3]! };
}

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const a = address.trim().replace(/^<|>$/g, "");
  const at = a.lastIndexOf("@");
  if (at < 0 || at === a.length - 1) return undefined;
  return a
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, "");
}

/** The policy_published element for a DMARC result with a record. */
export function policyPublished(dmarc: NonNullable<CollectInput["dmarc"]>): PolicyPublished | undefined {
  const r = dmarc.record;
  if (!r || !dmarc.policyDomain) return undefined;
  const p: PolicyPublished = {
    domain: dmarc.policyDomain,
    p: r.p ?? "none",
    adkim: r.adkim,
    aspf: r.aspf,
    discoveryMethod: dmarc.mode === "rfc7489" ? "psl" : "treewalk",
    fo: r.fo.join(":"),
    testing: r.testing ? "y" : "n",
  };
  if (r.sp) p.sp = r.sp;
  if (r.np) p.np = r.np;
  return p;
}

/**
 * The record (without its count) that a message adds to its policy domain's report: pure, for
 * tests and for callers with their own storage. Undefined when DMARC did not evaluate a policy
 * (none, temperror, permerror).
 */
export function recordOf(input: CollectInput, envelope: Envelope, extra: CollectExtra = {}): Omit<AggregateRecord, "count"> | undefined {
  checkExtra(extra);
  const d = input.dmarc;
  if (!d || (d.result !== "pass" && d.result !== "fail") || !d.record) return undefined;
  const reasons: PolicyOverride[] = [];
  if (d.testing) reasons.push({ type: "policy_test_mode" });
  if (d.sampledOut) reasons.push({ type: "other", comment: "outside the pct= sample" });
  reasons.push(...(extra.overrides ?? []));
  const evaluated: EvaluatedDisposition = d.result === "pass" ? (d.policy === "none" ? "none" : "pass") : d.disposition;
  const rcpt = new Set((envelope.rcptTo ?? []).map(domainOf).filter((x): x is string => x !== undefined));
  const record: Omit<AggregateRecord, "count"> = {
    sourceIp: envelope.ip,
    disposition: extra.disposition ?? evaluated,
    dkim: d.dkim.aligned ? "pass" : "fail",
    spf: d.spf.aligned ? "pass" : "fail",
    reasons,
    headerFrom: d.fromDomain,
    dkimResults: input.dkim
      // d= and s= are DNS labels: anything longer than a domain name is not worth a row.
      .filter((k) => k.domain !== "" && k.domain.length <= 253 && k.selector.length <= 253)
      .slice(0, MAX_AUTH_RESULTS)
      .map((k) => ({ domain: k.domain, selector: k.selector, result: k.result })),
    spfResults: [],
  };
  const envFrom = domainOf(envelope.mailFrom);
  if (envFrom) record.envelopeFrom = envFrom;
  if (rcpt.size === 1) record.envelopeTo = [...rcpt][0]!;
  if (input.spf && input.spf.domain !== "") {
    record.spfResults.push(
      input.spf.identity === "mailfrom"
        ? { domain: input.spf.domain, scope: "mfrom", result: input.spf.result }
        : { domain: input.spf.domain, result: input.spf.result },
    );
  }
  return record;
}

/** Row content as a compact, stable store field: identical content, identical field. */
export function encodeRecord(r: Omit<AggregateRecord, "count">): string {
  return `r${JSON.stringify([
    r.sourceIp,
    r.disposition,
    r.dkim,
    r.spf,
    r.reasons.map((x) => (x.comment === undefined ? [x.type] : [x.type, x.comment])),
    r.headerFrom,
    r.envelopeFrom ?? null,
    r.envelopeTo ?? null,
    r.dkimResults.map((k) => [k.domain, k.selector ?? null, k.result]),
    r.spfResults.map((s) => [s.domain, s.scope ?? null, s.result]),
  ])}`;
}

type Encoded = [
  string,
  AggregateRecord["disposition"],
  "pass" | "fail",
  "pass" | "fail",
  Array<[PolicyOverride["type"], string?]>,
  string,
  string | null,
  string | null,
  Array<[string, string | null, AggregateRecord["dkimResults"][number]["result"]]>,
  Array<[string, "mfrom" | "helo" | null, AggregateRecord["spfResults"][number]["result"]]>,
];

export function decodeRecord(field: string, count: number): AggregateRecord {
  const a = JSON.parse(field.slice(1)) as Encoded;
  const r: AggregateRecord = {
    sourceIp: a[0],
    count,
    disposition: a[1],
    dkim: a[2],
    spf: a[3],
    reasons: a[4].map(([type, comment]) => (comment === undefined ? { type } : { type, comment })),
    headerFrom: a[5],
    dkimResults: a[8].map(([domain, selector, result]) => (selector === null ? { domain, result } : { domain, selector, result })),
    spfResults: a[9].map(([domain, scope, result]) => (scope === null ? { domain, result } : { domain, scope, result })),
  };
  if (a[6] !== null) r.envelopeFrom = a[6];
  if (a[7] !== null) r.envelopeTo = a[7];
  return r;
}

/**
 * Receiver side: records what authenticate() decided for each message, counted per policy domain
 * and reporting period in a Store. Identical rows are counted, not stored twice. One collect() is one
 * atomic store write, done before it resolves. Never throws for a store failure: it says so.
 */
export class AggregateCollector {
  readonly #o: Required<Omit<CollectorOptions, "now">> & { now: () => number };

  constructor(options: CollectorOptions) {
    checkOptionKeys(options, OPTIONS, "options", (k) => `unknown collector option ${k}`);
    if (typeof options.store?.increment !== "function") throw invalidOption("options.store", "store must be a Store");
    const periodSeconds = options.periodSeconds ?? 86400;
    if (!PERIODS.includes(periodSeconds))
      throw invalidOption("options.periodSeconds", `periodSeconds must be one of ${PERIODS.join(", ")}`);
    this.#o = {
      store: options.store,
      periodSeconds,
      honourRi: options.honourRi ?? false,
      includeWithoutRua: options.includeWithoutRua ?? false,
      now: options.now ?? Date.now,
      prefix: options.prefix ?? "dmarc:",
    };
  }

  /** The period (begin, seconds) a message at `nowMs` falls in, for a record's ri=. */
  period(nowMs: number, ri?: number): { begin: number; seconds: number } {
    let seconds = this.#o.periodSeconds;
    if (this.#o.honourRi && ri !== undefined) seconds = Math.min(seconds, PERIODS.filter((p) => p <= Math.max(ri, 3600)).pop()!);
    const t = Math.floor(nowMs / 1000);
    return { begin: t - (t % seconds), seconds };
  }

  async collect(input: CollectInput, envelope: Envelope, extra: CollectExtra = {}): Promise<CollectOutcome> {
    checkExtra(extra);
    const d = input.dmarc;
    const record = recordOf(input, envelope, extra);
    if (!d || !record) return { collected: false, reason: `DMARC result ${d?.result ?? "absent"}: nothing to report` };
    const policy = policyPublished(d)!;
    if (!this.#o.includeWithoutRua && d.record!.rua.length === 0)
      return { collected: false, reason: `${policy.domain} asks for no aggregate reports (no rua=)` };
    const { begin, seconds } = this.period(this.#o.now(), d.record!.ri);
    const map = periodMapName(this.#o.prefix, begin, seconds, policy.domain);
    const field = encodeRecord(record);
    // The published policy (and where reports go) rides in the same map, counted: the report uses
    // the one seen most.
    const policyField = `p${JSON.stringify({ policy, rua: d.record!.rua })}`;
    if (field.length > MAX_FIELD_LENGTH || policyField.length > MAX_FIELD_LENGTH || map.length > MAX_NAME_LENGTH)
      return { collected: false, reason: "the row is too large to store (over 64 KiB)" };
    try {
      await this.#o.store.increment([
        { map, field, by: 1 },
        { map, field: policyField, by: 1 },
      ]);
    } catch (err) {
      if (err instanceof MsgauthError) throw err;
      return { collected: false, error: err instanceof StoreError ? `${err.code}: ${err.message}` : describeError(err) };
    }
    return { collected: true, policyDomain: policy.domain, begin, end: begin + seconds - 1 };
  }
}
