import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { ArgumentError } from "../errors.js";
import type { StsPolicyLookup } from "../mtasts/client.js";
import { policyStrings } from "../mtasts/policy.js";
import { fn, invalidOption, optionsChecker, unknownOption } from "../options.js";
import type { Store } from "../store/types.js";
import { isRealDateTime, type TlsFailureDetail, type TlsReport, type TlsReportPolicy, type TlsReportPolicyId } from "./report.js";

/** One failure seen in a session (RFC 8460 4.3, 4.4): failure types are not exclusive, a session may have several. */
export type TlsSessionFailure = Omit<TlsFailureDetail, "failedSessionCount">;

/** The outcome of one delivery attempt (one SMTP session) to a policy domain. */
export interface TlsSessionOutcome {
  /** The Policy Domain (recipient domain), A-labels. */
  policyDomain: string;
  /** The policy applied: {@link reportPolicyFor} builds it from an MTA-STS lookup. */
  policy: Omit<TlsReportPolicyId, "domain">;
  /** Empty (or absent) for a session that negotiated policy-compliant TLS. */
  failures?: TlsSessionFailure[];
  /** Milliseconds since the epoch; default the recorder's clock. */
  at?: number;
}

/** The `policy` of a report section for an MTA-STS lookup: the sts policy applied, or no-policy-found. */
export function reportPolicyFor(lookup: StsPolicyLookup): Omit<TlsReportPolicyId, "domain"> {
  if (lookup.kind === "policy" && lookup.policy.mode !== "none")
    return { type: "sts", string: policyStrings(lookup.policy), mxHost: [...lookup.policy.mx] };
  return { type: "no-policy-found", string: [], mxHost: [] };
}

export interface ReportMeta {
  /** organization-name */
  organizationName: string;
  /** contact-info: an address at the submitter's domain (it becomes TLS-Report-Submitter). */
  contactInfo: string;
}

/** A report taken out of the store for one policy domain and day; call `done()` once it is delivered. */
export interface TakenReport {
  policyDomain: string;
  day: string;
  report: TlsReport;
  /** Deletes the taken counters. Until then `pending()` lists them again (a crash loses nothing). */
  done(): Promise<void>;
}

const checkRecorderOptions = optionsChecker<{ store: Store; now?: () => number }>("options", {
  store: z.custom<Store>((v) => typeof (v as Store)?.increment === "function" && typeof (v as Store)?.take === "function", {
    message: "store must be a Store (memory, SQLite or Redis)",
  }),
  now: fn<() => number>("now").optional(),
});

const OPEN = "tlsrpt:open:";
const POLICY = "tlsrpt:policy:";
/** Policies are kept long enough for any open or pending day to be reported. */
const POLICY_TTL_MS = 10 * 86_400_000;
const MAX_POLICY_JSON = 200_000;

function cut(value: string | undefined, max: number): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  return text.length > max ? text.slice(0, max) : text;
}
const TAKEN = "tlsrpt:taken:";
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const isDomain = (d: string) => /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(d) && !d.includes("..");

/**
 * Aggregates TLS session outcomes per policy domain, per applied policy and per UTC day (RFC 8460 4.1)
 * in a {@link Store}: memory in one process, SQLite on one host, Redis for a fleet (increments are
 * atomic; `takeReports` hands each closed day to exactly one caller).
 */
export class TlsRptRecorder {
  readonly #store: Store;
  readonly #now: () => number;
  /** Policy hashes this recorder wrote, and when (bounded; written again after a day, before they expire). */
  readonly #stored = new Map<string, number>();

  constructor(options: { store: Store; now?: () => number }) {
    checkRecorderOptions(options);
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts one session. Resolves once stored; rejects only with the store's StoreError (a report is
   * best effort: callers usually log it and deliver on). Throws ArgumentError for a malformed outcome.
   */
  async record(outcome: TlsSessionOutcome): Promise<void> {
    if (!outcome || typeof outcome !== "object") throw new ArgumentError("record: an outcome object is required");
    const domain = String(outcome.policyDomain ?? "")
      .toLowerCase()
      .replace(/\.$/, "");
    if (!isDomain(domain))
      throw new ArgumentError(`record: policyDomain ${JSON.stringify(outcome.policyDomain)} is not an A-label domain name`);
    const p = outcome.policy;
    if (!p || !["sts", "tlsa", "no-policy-found"].includes(p.type) || !Array.isArray(p.string) || !Array.isArray(p.mxHost))
      throw new ArgumentError("record: policy must be { type, string[], mxHost[] }");
    const failures = outcome.failures ?? [];
    for (const f of failures)
      if (typeof f?.resultType !== "string" || f.resultType === "") throw new ArgumentError("record: each failure needs a resultType");
    const map = `${OPEN}${dayOf(outcome.at ?? this.#now())}:${domain}`;
    // The policy (up to a 64 KiB body) is stored once under its hash; counter fields stay short.
    const policyJson = JSON.stringify([p.type, p.string.map(String), p.mxHost.map(String)]);
    if (policyJson.length > MAX_POLICY_JSON) throw new ArgumentError(`record: the policy is over ${MAX_POLICY_JSON} characters`);
    const policyId = createHash("sha256").update(policyJson).digest("hex").slice(0, 32);
    const now = this.#now();
    const storedAt = this.#stored.get(policyId);
    if (storedAt === undefined || now - storedAt > 86_400_000 || now < storedAt) {
      await this.#store.set(`${POLICY}${policyId}`, policyJson, { ttlMs: POLICY_TTL_MS });
      if (this.#stored.size >= 10_000) this.#stored.clear();
      this.#stored.set(policyId, now);
    }
    const changes = [{ map, field: JSON.stringify([policyId, failures.length === 0 ? "S" : "F"]), by: 1 }];
    for (const f of failures) {
      // values may come from the remote side (HELO, error texts): each is cut to a bounded length
      const detail = [
        cut(f.resultType, 128),
        cut(f.sendingMtaIp, 64),
        cut(f.receivingMxHostname, 255),
        cut(f.receivingMxHelo, 255),
        cut(f.receivingIp, 64),
        cut(f.additionalInformation, 1024),
        cut(f.failureReasonCode, 1024),
      ];
      changes.push({ map, field: JSON.stringify([policyId, detail]), by: 1 });
    }
    await this.#store.increment(changes);
  }

  /**
   * Takes every policy domain's counters for a finished UTC day out of the store and builds one report
   * each (RFC 8460 4.4, 00:00-24:00 UTC). In a fleet each day and domain goes to one caller only.
   */
  async takeReports(day: string, meta: ReportMeta): Promise<TakenReport[]> {
    if (typeof day !== "string" || !DAY.test(day) || !isRealDateTime(`${day}T00:00:00Z`))
      throw new ArgumentError("takeReports: day must be YYYY-MM-DD");
    checkMeta(meta);
    const end = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    if (end > this.#now()) throw new ArgumentError(`takeReports: ${day} is not over yet (UTC)`);
    const out: TakenReport[] = [];
    for (const map of await this.#store.maps(`${OPEN}${day}:`)) {
      const policyDomain = map.slice(`${OPEN}${day}:`.length);
      const taken = `${TAKEN}${day}:${policyDomain}:${randomBytes(6).toString("hex")}`;
      if (!(await this.#store.take(map, taken))) continue;
      out.push(await this.#build(taken, day, policyDomain, meta));
    }
    return out;
  }

  /** Reports taken earlier whose `done()` was never called (the process stopped, delivery failed). */
  async pending(meta: ReportMeta): Promise<TakenReport[]> {
    checkMeta(meta);
    const out: TakenReport[] = [];
    for (const map of await this.#store.maps(TAKEN)) {
      const [day, policyDomain] = map.slice(TAKEN.length).split(":");
      if (day && policyDomain) out.push(await this.#build(map, day, policyDomain, meta));
    }
    return out;
  }

  async #policy(policyId: string, known: Map<string, [TlsReportPolicyId["type"], string[], string[]]>) {
    const have = known.get(policyId);
    if (have) return have;
    const raw = await this.#store.get(`${POLICY}${policyId}`);
    let value: [TlsReportPolicyId["type"], string[], string[]] = ["no-policy-found", [], []];
    try {
      const parsed = raw === undefined ? undefined : JSON.parse(raw);
      if (
        Array.isArray(parsed) &&
        ["sts", "tlsa", "no-policy-found"].includes(parsed[0]) &&
        Array.isArray(parsed[1]) &&
        Array.isArray(parsed[2])
      )
        value = parsed as typeof value;
    } catch {
      // a lost or damaged policy entry: the counts are still reported, as no-policy-found
    }
    known.set(policyId, value);
    return value;
  }

  async #build(map: string, day: string, policyDomain: string, meta: ReportMeta): Promise<TakenReport> {
    const policies = new Map<string, TlsReportPolicy>();
    const known = new Map<string, [TlsReportPolicyId["type"], string[], string[]]>();
    for await (const [field, count] of this.#store.entries(map)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(field);
      } catch {
        continue; // not ours
      }
      if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string") continue;
      const [key, what] = parsed as [string, unknown];
      const policyKey = await this.#policy(key, known);
      let entry = policies.get(key);
      if (!entry) {
        entry = {
          policy: { type: policyKey[0], string: policyKey[1], domain: policyDomain, mxHost: policyKey[2] },
          summary: { totalSuccessfulSessionCount: 0, totalFailureSessionCount: 0 },
          failureDetails: [],
        };
        policies.set(key, entry);
      }
      if (what === "S") entry.summary.totalSuccessfulSessionCount += count;
      else if (what === "F") entry.summary.totalFailureSessionCount += count;
      else if (Array.isArray(what)) {
        const [resultType, sendingMtaIp, receivingMxHostname, receivingMxHelo, receivingIp, additionalInformation, failureReasonCode] =
          what as Array<string | null>;
        const d: TlsFailureDetail = { resultType: String(resultType), failedSessionCount: count };
        if (sendingMtaIp) d.sendingMtaIp = sendingMtaIp;
        if (receivingMxHostname) d.receivingMxHostname = receivingMxHostname;
        if (receivingMxHelo) d.receivingMxHelo = receivingMxHelo;
        if (receivingIp) d.receivingIp = receivingIp;
        if (additionalInformation) d.additionalInformation = additionalInformation;
        if (failureReasonCode) d.failureReasonCode = failureReasonCode;
        entry.failureDetails.push(d);
      }
    }
    const submitter = meta.contactInfo.slice(meta.contactInfo.lastIndexOf("@") + 1);
    const sorted = [...policies.values()];
    for (const p of sorted)
      p.failureDetails.sort((a, b) => b.failedSessionCount - a.failedSessionCount || a.resultType.localeCompare(b.resultType));
    const report: TlsReport = {
      organizationName: meta.organizationName,
      dateRange: {
        startDatetime: `${day}T00:00:00Z`,
        endDatetime: new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().replace(".000Z", "Z"),
      },
      contactInfo: meta.contactInfo,
      reportId: `${day}.${policyDomain}.${map.slice(map.lastIndexOf(":") + 1)}@${submitter}`,
      policies: sorted,
    };
    return { policyDomain, day, report, done: () => this.#store.deleteMap(map) };
  }
}

function checkMeta(meta: ReportMeta): void {
  if (!meta || typeof meta.organizationName !== "string" || meta.organizationName === "")
    throw invalidOption("meta.organizationName", "report meta: organizationName is required");
  if (typeof meta.contactInfo !== "string" || !/^[^@\s]+@[A-Za-z0-9.-]+$/.test(meta.contactInfo))
    throw invalidOption("meta.contactInfo", "report meta: contactInfo must be an address (addr-spec)");
  for (const key of Object.keys(meta))
    if (key !== "organizationName" && key !== "contactInfo") throw unknownOption(`meta.${key}`, `report meta: unknown option "${key}"`);
}
