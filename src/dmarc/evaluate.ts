import type { ArcResult } from "../arc/verify.js";
import type { DkimResult, DkimResultWord } from "../dkim/verify.js";
import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { OptionsError } from "../errors.js";
import type { AuthorResult } from "../message/from.js";
import { checkDmarcOptions } from "../options.js";
import type { SpfResult, SpfResultWord } from "../spf/check.js";
import { DmarcLookups, type DmarcMode, guardedResolver, OrgDomains, pslOrgDomain, selectOrgDomain, treeWalk } from "./discover.js";
import type { AlignmentMode, DmarcPolicy, DmarcRecord } from "./record.js";

export type DmarcResultWord = "pass" | "fail" | "none" | "temperror" | "permerror";

export interface DmarcAlignment {
  /** An authenticated identifier (SPF pass, or a DKIM pass) aligned with the From domain. */
  aligned: boolean;
  mode: AlignmentMode;
  /** The identifier that aligned, or the one that was checked. */
  domain?: string;
  result?: SpfResultWord | DkimResultWord;
  /** DKIM: the selector of the aligned signature. */
  selector?: string;
}

export interface DmarcResult {
  result: DmarcResultWord;
  reason: string;
  mode: DmarcMode;
  /** The From domain (A-label), as header.from; "" when there was none. */
  fromDomain: string;
  /** Where the applied record was found: the From domain, its organizational domain, or its PSD. */
  policyDomain?: string;
  /** The From domain's organizational domain, when it was determined. */
  orgDomain?: string;
  record?: DmarcRecord;
  /** The requested policy that applies (p=, sp= or np=); "none" with no record. */
  policy: DmarcPolicy;
  policyTag?: "p" | "sp" | "np";
  /**
   * What the domain asks you to do with this message: "none" for a pass, for t=y (testing), and in
   * RFC 7489 mode for a message outside the pct= sample; otherwise the policy.
   */
  disposition: DmarcPolicy;
  testing: boolean;
  /** RFC 7489 mode: the message fell outside pct= and the policy was lowered one step. */
  sampledOut?: boolean;
  /** The From domain does not exist (NXDOMAIN or NODATA for A, AAAA and MX): np= applies. */
  nonExistent?: boolean;
  spf: DmarcAlignment;
  dkim: DmarcAlignment;
  /** With several From domains: the result for each. */
  domains?: DmarcResult[];
  /**
   * From domains past `maxAuthorDomains`, not evaluated. Their policy is unknown, so the result is
   * `fail` with `reject` (a domain that was not evaluated can never count as passed).
   */
  unevaluated?: string[];
  /**
   * The message's ARC chain, when it was checked: with a DMARC fail, a pass from sealers you trust
   * can justify a local override (RFC 8617 7.2); see arcOverride().
   */
  arc?: ArcResult;
}

export interface DmarcInput {
  author: AuthorResult;
  spf?: SpfResult | undefined;
  dkim: readonly DkimResult[];
  /** The ARC chain result, carried into the DMARC result for local policy. */
  arc?: ArcResult | undefined;
}

export interface DmarcOptions {
  resolver: Resolver;
  /** "rfc9989" (default: DNS tree walk, psd=, np=, t=) or "rfc7489" (Public Suffix List, pct=). */
  mode?: DmarcMode;
  /** A number in [0, 1) for pct= sampling in RFC 7489 mode; injectable for reproducible tests. */
  random?: () => number;
  /**
   * Most distinct From domains evaluated when a message has several (a positive integer). Default 5.
   * With more, the result is `fail` with `reject`: the rest are listed in `unevaluated`.
   */
  maxAuthorDomains?: number;
  /** Record look-ups to share (authenticate() starts the From domain's query before DKIM ends). */
  lookups?: DmarcLookups;
  /**
   * Abandons the DNS queries still pending when it aborts: those answers count as failed, so the
   * result is temperror where a policy could not be found (never a pass on a guess).
   */
  signal?: AbortSignal;
}

const STRICTNESS: Record<DmarcPolicy, number> = { none: 0, quarantine: 1, reject: 2 };
const LOWER: Record<DmarcPolicy, DmarcPolicy> = { reject: "quarantine", quarantine: "none", none: "none" };

interface Discovery {
  record: DmarcRecord;
  policyDomain: string;
}

class Evaluation {
  #resolver: Resolver | undefined;
  readonly lookups: DmarcLookups;
  readonly orgs: OrgDomains;

  constructor(
    readonly options: DmarcOptions,
    readonly mode: DmarcMode,
  ) {
    this.lookups = options.lookups ?? new DmarcLookups(this.resolver);
    this.orgs = new OrgDomains(mode, this.lookups);
  }

  /** The guarded resolver, made when first needed (with shared lookups, only for np=). */
  get resolver(): Resolver {
    const o = this.options;
    return (this.#resolver ??= o.signal ? guardResolver(o.resolver, { signal: o.signal }) : guardedResolver(o.resolver));
  }

  /** Policy discovery (RFC 9989 4.10.1; RFC 7489 6.6.3). */
  async discover(author: string): Promise<Discovery | { none: string } | { error: string }> {
    const own = await this.lookups.record(author);
    if (own.kind === "error") return { error: own.reason };
    if (own.kind === "record") return { record: own.record, policyDomain: author };
    if (this.mode === "rfc7489") {
      const org = pslOrgDomain(author);
      if (org === author) return { none: own.reason };
      const r = await this.lookups.record(org);
      if (r.kind === "error") return { error: r.reason };
      if (r.kind === "none") return { none: `no DMARC record at ${author} or its organizational domain ${org}` };
      return { record: r.record, policyDomain: org };
    }
    const walk = await treeWalk(this.lookups, author, true);
    if (walk.error) return { error: walk.error };
    const org = selectOrgDomain(author, walk.found);
    const atOrg = walk.found.find((f) => f.domain === org);
    if (atOrg) return { record: atOrg.record, policyDomain: org };
    const psd = walk.found.find((f) => f.record.psd === "y");
    if (psd) return { record: psd.record, policyDomain: psd.domain };
    return { none: `no DMARC record for ${author} in a DNS tree walk` };
  }

  /** Whether `id` aligns with `author` (the same name; relaxed: the same organizational domain). */
  aligned(author: string, id: string, mode: AlignmentMode): boolean | Promise<boolean> {
    if (id === author) return true; // decided without an await (the usual case: no promise made)
    if (mode === "s") return false;
    return this.sameOrg(author, id);
  }

  async sameOrg(author: string, id: string): Promise<boolean> {
    const [a, b] = await Promise.all([this.orgs.of(author), this.orgs.of(id)]);
    return a.error === undefined && b.error === undefined && a.org === b.org;
  }

  async nonExistent(domain: string): Promise<boolean> {
    const r = guardResolver(this.resolver);
    const answers = await Promise.all([r.a(domain), r.aaaa(domain), r.mx(domain)]);
    return answers.every((a) => a.kind === "nxdomain" || a.kind === "nodata");
  }

  /**
   * DMARC for one author domain. `noAlignment` names why identifier alignment cannot occur (a
   * malformed, absent or repeated From: RFC 9989 4.4): the domain is then judged as if no identifier
   * aligned, so its policy applies whatever passed.
   */
  async evaluate(author: string, input: DmarcInput, noAlignment?: string, withArc = false): Promise<DmarcResult> {
    const spf = input.spf;
    // checkDmarc's result carries the ARC result, set last (after every other property).
    const arc = withArc ? input.arc : undefined;
    const base: DmarcResult = {
      result: "none",
      reason: "",
      mode: this.mode,
      fromDomain: author,
      policy: "none",
      disposition: "none",
      testing: false,
      // The SPF identifier's object, made once (its alignment is set below).
      spf: spf?.domain ? { aligned: false, mode: "r", domain: spf.domain, result: spf.result } : { aligned: false, mode: "r" },
      dkim: { aligned: false, mode: "r" },
    };
    // The From domain's record settled already (authenticate() asks for it before DKIM): decided
    // here as discover() would, without its promise and awaits (and without a Discovery object).
    const own = this.lookups.settled(author);
    let record: DmarcRecord;
    let policyDomain: string;
    if (own !== undefined && own.kind === "record") {
      record = own.record;
      policyDomain = author;
    } else if (own !== undefined && own.kind === "error") return settle(base, "temperror", own.reason, arc);
    else {
      const found = await this.discover(author);
      if ("error" in found) return settle(base, "temperror", found.error, arc);
      if ("none" in found) return settle(base, "none", found.none, arc);
      record = found.record;
      policyDomain = found.policyDomain;
    }
    base.record = record;
    base.policyDomain = policyDomain;
    if (record.invalidPolicyTags.length > 0 || record.p === undefined) {
      // RFC 9989 4.10.1: an invalid or missing p (or invalid sp/np) means p=none if rua holds a
      // valid URI, otherwise no DMARC processing at all.
      const what =
        record.p === undefined && record.invalidPolicyTags.length === 0 ? "no p= tag" : `invalid ${record.invalidPolicyTags.join(", ")}=`;
      if (record.rua.length === 0)
        return settle(base, "none", `record at ${policyDomain} has ${what} and no valid rua=: DMARC does not apply`, arc);
    }
    base.spf.mode = record.aspf;
    base.dkim.mode = record.adkim;
    // Decided in this turn when the walk's records have settled (no promise, no await: issue 19).
    const org = this.orgs.settledOf(author) ?? (await this.orgs.of(author));
    if (!org.error) base.orgDomain = org.org;

    // Identifier alignment (RFC 9989 4.4; RFC 7489 3.1).
    let spfAligned: boolean | Promise<boolean> = spf?.domain ? this.aligned(author, spf.domain.toLowerCase(), record.aspf) : false;
    if (typeof spfAligned !== "boolean") spfAligned = await spfAligned;
    if (spf?.domain) base.spf.aligned = spfAligned && spf.result === "pass";
    let dkimTemp = false;
    for (const d of input.dkim) {
      if (!d.domain) continue;
      const isAligned = this.aligned(author, d.domain, record.adkim);
      if (!(typeof isAligned === "boolean" ? isAligned : await isAligned)) continue;
      if (d.result === "pass") {
        base.dkim = { aligned: true, mode: record.adkim, domain: d.domain, selector: d.selector, result: "pass" };
        break;
      }
      if (d.result === "temperror") dkimTemp = true;
      if (!base.dkim.domain) base.dkim = { aligned: false, mode: record.adkim, domain: d.domain, selector: d.selector, result: d.result };
    }
    const spfWhich = base.spf.aligned ? `SPF (${base.spf.domain})` : "";
    const dkimWhich = base.dkim.aligned ? `DKIM (${base.dkim.domain})` : "";
    const which = spfWhich && dkimWhich ? `${spfWhich} and ${dkimWhich}` : spfWhich || dkimWhich;
    if (which && !noAlignment) {
      base.policy = this.policyOf(record, author, policyDomain, false).policy;
      return settle(base, "pass", `aligned ${which} pass for ${author}`, arc);
    }
    // RFC 9989 5.3.5: with no aligned pass and an aligned identifier that failed temporarily, no
    // permanent conclusion can be drawn.
    if (!noAlignment && ((spfAligned && spf?.result === "temperror") || dkimTemp)) {
      return settle(base, "temperror", "an aligned identifier could not be checked (temporary DNS error)", arc);
    }
    let nonExistent = false;
    if (policyDomain !== author && this.mode === "rfc9989" && record.np !== undefined) nonExistent = await this.nonExistent(author);
    const { policy, tag } = this.policyOf(record, author, policyDomain, nonExistent);
    const result = settle(
      base,
      "fail",
      noAlignment
        ? `${which ? `${which} pass for ${author}, but` : `no aligned SPF or DKIM pass for ${author}, and`} identifier alignment cannot occur with ${noAlignment} (RFC 9989 4.4)`
        : `no aligned SPF or DKIM pass for ${author}`,
    );
    result.policy = policy;
    result.policyTag = tag;
    result.disposition = policy;
    if (nonExistent) result.nonExistent = true;
    if (this.mode === "rfc9989") {
      if (record.testing) {
        result.testing = true;
        result.disposition = "none";
      }
    } else if (record.pct < 100) {
      // RFC 7489 6.6.4: outside the sample, apply the next less strict policy.
      const sample = (this.options.random ?? Math.random)() * 100;
      if (sample >= record.pct) {
        result.sampledOut = true;
        result.disposition = LOWER[policy];
      }
    }
    if (arc) result.arc = arc;
    return result;
  }

  policyOf(
    record: DmarcRecord,
    author: string,
    policyDomain: string,
    nonExistent: boolean,
  ): { policy: DmarcPolicy; tag: "p" | "sp" | "np" } {
    const p = record.p ?? "none";
    if (record.invalidPolicyTags.length > 0) return { policy: "none", tag: "p" };
    if (policyDomain === author) return { policy: p, tag: "p" };
    if (nonExistent && record.np) return { policy: record.np, tag: "np" };
    if (record.sp) return { policy: record.sp, tag: "sp" };
    return { policy: p, tag: "p" };
  }
}

/**
 * Sets the verdict on `base`, the result object this evaluation built as a literal, and returns it.
 * A result made by spreading it instead (`{ ...base, result }`) and then given a property it did not
 * have (policyTag; checkDmarc's `arc`) made V8 allocate in old space on every call: about 5 us of
 * garbage collection per authenticate() (measured with --trace-gc; the heap grew between Mark-Compacts).
 */
function settle(base: DmarcResult, result: DmarcResultWord, reason: string, arc?: ArcResult): DmarcResult {
  base.result = result;
  base.reason = reason;
  if (arc) base.arc = arc;
  return base;
}

/** Why identifier alignment cannot occur for this author, or undefined when it can (RFC 9989 4.4). */
function alignmentBlocked(author: Extract<AuthorResult, { ok: false }>): string | undefined {
  switch (author.reason) {
    case "multiple-mailboxes":
    case "group":
      return undefined; // a valid multi-valued From: each domain is evaluated (RFC 9989 11.5)
    case "multiple-from":
      return "a repeated From field";
    case "ambiguous-local-part":
      return "an ambiguous From address";
    case "group-name":
      return "an address in a From group name";
    case "no-from":
      return "no From field";
    case "header-not-read":
      return "a header not read whole";
    default:
      return "a malformed From field";
  }
}

function combine(
  author: Extract<AuthorResult, { ok: false }>,
  results: DmarcResult[],
  mode: DmarcMode,
  unevaluated: string[],
): DmarcResult {
  const first = results[0]!;
  const failing = results.filter((r) => r.result === "fail");
  const strictest = (rs: DmarcResult[], key: "policy" | "disposition") =>
    rs.reduce<DmarcPolicy>((m, r) => (STRICTNESS[r[key]] > STRICTNESS[m] ? r[key] : m), "none");
  let result: DmarcResultWord = "pass";
  if (failing.length > 0) result = "fail";
  else if (results.some((r) => r.result === "temperror")) result = "temperror";
  else if (results.some((r) => r.result !== "pass")) result = results.every((r) => r.result === "none") ? "none" : "fail";
  let policy = strictest(results, "policy");
  let disposition = strictest(failing, "disposition");
  let reason = `${author.detail}; evaluated each domain: ${results.map((r) => `${r.fromDomain}=${r.result}`).join(", ")}`;
  if (result === "fail" && disposition !== "reject" && results.some((r) => r.result === "temperror")) {
    // A domain whose policy could not be found may ask for more than the failures found so far:
    // no permanent verdict (an attacker could otherwise spend the DNS budget on other domains first).
    result = "temperror";
    reason += "; a domain could not be checked (temporary DNS error), so no permanent verdict";
  }
  if (unevaluated.length > 0) {
    // A domain that was not evaluated may ask for reject: under doubt, the strictest policy.
    result = "fail";
    policy = "reject";
    disposition = "reject";
    reason += `; ${unevaluated.length} more From domains past the limit of ${results.length} not evaluated: treated as reject`;
  }
  const combined: DmarcResult = {
    ...first,
    mode,
    result,
    fromDomain: results.map((r) => r.fromDomain).join(","),
    reason,
    policy,
    disposition,
    domains: results,
  };
  if (unevaluated.length > 0) combined.unevaluated = unevaluated;
  return combined;
}

/**
 * Evaluates DMARC for a message, given its author (parseAuthor) and its SPF and DKIM results.
 * DMARC passes only when every author domain a reader could be shown was evaluated and passed:
 * - one From with one mailbox: that domain is evaluated;
 * - one From with several mailboxes (or RFC 6854 group syntax): each domain is evaluated, the
 *   message passes only if all pass, the strictest policy among the failures applies;
 * - a repeated, malformed or ambiguous From: identifier alignment cannot occur (RFC 9989 4.4), so it
 *   never passes; every domain a reader could be shown (recovered leniently where the field does
 *   not parse) is evaluated and the strictest policy applies. permerror only when no domain at all
 *   can be recovered, or there is no From;
 * - more distinct domains than `maxAuthorDomains`: fail with reject, the rest listed in `unevaluated`.
 * Never throws for DNS content; throws an OptionsError (a TypeError) for invalid options such as `maxAuthorDomains`.
 */
export function checkDmarc(input: DmarcInput, options: DmarcOptions): Promise<DmarcResult> {
  // Not an async function: the evaluation's own promise (with one From mailbox, which sets `arc`
  // itself), or one then for `arc`, instead of a promise and an await of its own (issue 19). A
  // throw rejects, as from an async function.
  try {
    checkDmarcOptions(options); // maxAuthorDomains: a positive integer
    // Shared lookups are msgauth's own, made by new DmarcLookups (red team: any object, or one
    // with record() replaced, threw TypeErrors or hung the check).
    if (options.lookups !== undefined && !DmarcLookups.isInstance(options.lookups))
      throw new OptionsError(
        "ERR_MSGAUTH_INVALID_OPTION",
        "options.lookups",
        "options.lookups: must be made by new DmarcLookups(resolver)",
      );
    if (input.author.ok) return evaluateDmarc(input, options, true);
    const result = evaluateDmarc(input, options);
    if (!input.arc) return result;
    return result.then((r) => {
      if (input.arc) r.arc = input.arc;
      return r;
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

/** `withArc`: the result carries input.arc (checkDmarc's, for one From mailbox). */
function evaluateDmarc(input: DmarcInput, options: DmarcOptions, withArc = false): Promise<DmarcResult> {
  const mode = options.mode ?? "rfc9989";
  const ev = new Evaluation(options, mode);
  const author = input.author;
  // One From with one mailbox: its evaluation's own promise, with no async wrapper around it.
  return author.ok ? ev.evaluate(author.domain, input, undefined, withArc) : evaluateAuthors(input, author, options, mode, ev);
}

async function evaluateAuthors(
  input: DmarcInput,
  author: Extract<AuthorResult, { ok: false }>,
  options: DmarcOptions,
  mode: DmarcMode,
  ev: Evaluation,
): Promise<DmarcResult> {
  if (author.unseen !== undefined) {
    // A part of the header was never read: a From there, at a domain asking for reject, could not be
    // seen. Under doubt the strictest policy (the domains that were found are still evaluated).
    const { unseen, ...seen } = author;
    const found = author.domains.length > 0 ? await evaluateDmarc({ ...input, author: seen }, options) : undefined;
    const base: DmarcResult = found ?? {
      result: "fail",
      reason: "",
      mode,
      fromDomain: "",
      policy: "reject",
      disposition: "reject",
      testing: false,
      spf: { aligned: false, mode: "r" },
      dkim: { aligned: false, mode: "r" },
    };
    return {
      ...base,
      result: "fail",
      policy: "reject",
      disposition: "reject",
      reason: `${found ? `${found.reason}; ` : ""}${unseen}: treated as reject`,
    };
  }
  if (author.domains.length === 0) {
    return {
      result: "permerror",
      reason: author.detail,
      mode,
      fromDomain: "",
      policy: "none",
      disposition: "none",
      testing: false,
      spf: { aligned: false, mode: "r" },
      dkim: { aligned: false, mode: "r" },
    };
  }
  const blocked = alignmentBlocked(author);
  const cap = options.maxAuthorDomains ?? 5;
  const domains = author.domains.slice(0, cap);
  const unevaluated = author.domains.slice(cap);
  const results = await Promise.all(domains.map((d) => ev.evaluate(d, input, blocked)));
  if (results.length === 1 && unevaluated.length === 0 && author.reason !== "group") {
    const only = results[0]!; // this call's own object (see settle)
    only.reason = `${only.reason} (${author.detail})`;
    return only;
  }
  return combine(author, results, mode, unevaluated);
}
