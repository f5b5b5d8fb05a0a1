import { hostname } from "node:os";
import type { DkimSignOptions } from "../dkim/sign.js";
import type { DmarcMode } from "../dmarc/discover.js";
import { type ReportDestinationCheck, verifyReportDestination } from "../dmarc/report.js";
import type { Resolver } from "../dns/types.js";
import { describeError } from "../errors.js";
import { checkOptionKeys, checkTimerMs, invalidOption } from "../options.js";
import type { Store } from "../store/types.js";
import { parsePeriodMapName } from "./collect.js";
import { reportEmail } from "./email.js";
import { type GeneratedReport, generateFromStore, newReportId, type ReporterIdentity } from "./generate.js";

/** Delivers one report email (for example through nodemailer's sendMail with `raw`). Reject to retry later. */
export type ReportTransport = (mail: { from: string; to: string; raw: Uint8Array; report: GeneratedReport }) => Promise<void>;

export interface ReporterOptions {
  store: Store;
  identity: ReporterIdentity;
  transport: ReportTransport;
  /** For the external destination check (RFC 9990 4): a rua= address outside the policy domain's
   * organization must be authorized by <domain>._report._dmarc.<destination>. */
  resolver: Resolver;
  dmarcMode?: DmarcMode;
  /** DKIM-sign report emails (report mail must pass DMARC). */
  dkim?: DkimSignOptions | readonly DkimSignOptions[];
  /** Milliseconds clock. */
  now?: () => number;
  /** Must match the collector's. Default "dmarc:". */
  prefix?: string;
  /** Seconds after a period's end before it is reported (late collects land first). Default 300. */
  graceSeconds?: number;
  /** This host's name in leases. Default the host name and process id. */
  hostId?: string;
  /** Milliseconds a host holds a period it is sending before another may retry it. Default 15 minutes. */
  leaseMs?: number;
  /** Runs that may fail transiently before a period is dropped. Default 3. */
  maxAttempts?: number;
  /** The largest report email sent at all (bytes), whatever rua= allows. Default 10 MiB. */
  maxEmailBytes?: number;
  /** Milliseconds one transport call may take before it counts as failed (retried later). Default 120,000; at most 2^31-1. */
  transportTimeoutMs?: number;
  /** rua= URIs used per report, the first ones listed (RFC 7489 6.2: a receiver may limit them but must
   * send to at least two). Default 5. */
  maxDestinations?: number;
  /** Milliseconds all destination checks of one report may take together (they run side by side). Default 10,000; at most 2^31-1. */
  checkTimeoutMs?: number;
}

/** Default rua= URIs used per report (the first ones). */
export const MAX_AGGREGATE_DESTINATIONS = 5;

/** Throws OptionsError unless the resolver has the five lookups the destination check needs. */
export function checkResolverShape(resolver: unknown, at: string): void {
  const r = resolver as Record<string, unknown> | undefined;
  if (typeof r !== "object" || r === null || !["txt", "a", "aaaa", "mx", "ptr"].every((k) => typeof r[k] === "function"))
    throw invalidOption(at, "resolver must be a Resolver (txt, a, aaaa, mx and ptr)");
}

/** A positive integer option, or throws OptionsError. */
export function checkCount(value: unknown, at: string, min = 1): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < min))
    throw invalidOption(at, `${at} must be an integer of at least ${min}`);
}

export interface Delivery {
  to: string;
  result: "sent" | "skipped" | "failed";
  reason?: string;
}

export interface PeriodOutcome {
  policyDomain: string;
  begin: number;
  end: number;
  /** sent: every destination done (or refused for good); retry: kept for the next run; dropped: out of attempts; empty: nothing to report. */
  state: "sent" | "retry" | "dropped" | "empty";
  report?: Omit<GeneratedReport, "gzip">;
  deliveries: Delivery[];
  error?: string;
}

/** Settles like `p`, or rejects after `ms` (the transport is the caller's: it gets a deadline too). */
export async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A report destination as both reporters read it; see startDestinationChecks. */
export interface DestinationTarget<D> {
  dest: D;
  /** The mailto: URI's match (its address text in [1]), null for another scheme. */
  m: RegExpExecArray | null;
  /** The address, when it is a plain one. */
  to: string | undefined;
  /** Its external destination check, started; undefined when there is no plain address or `skip` said so. */
  check: Promise<ReportDestinationCheck> | undefined;
}

/**
 * Starts the external destination checks of `dests` (RFC 9990 / 9991 verification that the policy
 * domain's reports may go there) side by side under one deadline of `checkTimeoutMs` (10 s by
 * default), not one each in turn. A check that throws answers temperror.
 */
export function startDestinationChecks<D extends { uri: string }>(
  policyDomain: string,
  dests: readonly D[],
  o: { resolver: Resolver; dmarcMode?: DmarcMode | undefined; checkTimeoutMs?: number | undefined },
  skip?: (to: string) => boolean,
): DestinationTarget<D>[] {
  const checkMs = o.checkTimeoutMs ?? 10_000;
  const signal = AbortSignal.timeout(checkMs);
  return dests.map((dest) => {
    const m = /^mailto:([^?]+)/i.exec(dest.uri);
    const to = m ? safeAddress(m[1]!) : undefined;
    const check =
      to && !skip?.(to)
        ? verifyReportDestination(policyDomain, dest.uri, {
            resolver: o.resolver,
            signal,
            timeoutMs: checkMs,
            ...(o.dmarcMode ? { mode: o.dmarcMode } : {}),
          }).catch((err: unknown): ReportDestinationCheck => ({ result: "temperror", reason: `destination check: ${describeError(err)}` }))
        : undefined;
    return { dest, m, to, check };
  });
}

/** The address of a mailto: URI when it is a plain addr-spec (no spaces, controls, quoting or extra headers). */
export function safeAddress(encoded: string): string | undefined {
  let a: string;
  try {
    a = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  return a.length <= 254 && /^[^\s@<>()",;:\\[\]\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(a)
    ? a
    : undefined;
}

const OPTIONS = new Set([
  "store",
  "identity",
  "transport",
  "resolver",
  "dmarcMode",
  "dkim",
  "now",
  "prefix",
  "graceSeconds",
  "hostId",
  "leaseMs",
  "maxAttempts",
  "maxEmailBytes",
  "transportTimeoutMs",
  "maxDestinations",
  "checkTimeoutMs",
]);

/**
 * Receiver side, end of period: for each closed period, one host of a fleet takes it over (an atomic
 * take() in the shared store), generates the policy domain's report, and mails it to each rua=
 * destination that passes the external destination check and whose size limit fits. Failed
 * deliveries are retried by a later run; never throws for store, DNS or transport failures.
 */
export class AggregateReporter {
  readonly #o: ReporterOptions & { prefix: string; now: () => number; hostId: string };

  constructor(options: ReporterOptions) {
    checkOptionKeys(options, OPTIONS, "options", (k) => `unknown reporter option ${k}`);
    if (typeof options.transport !== "function") throw invalidOption("options.transport", "transport must be a function");
    if (typeof options.store?.take !== "function") throw invalidOption("options.store", "store must be a Store");
    if (!options.identity?.email || !options.identity.receiver || !options.identity.orgName)
      throw invalidOption("options.identity", "identity needs orgName, email and receiver");
    checkResolverShape(options.resolver, "options.resolver");
    for (const k of ["leaseMs", "maxAttempts", "maxEmailBytes", "maxDestinations"] as const) checkCount(options[k], `options.${k}`);
    for (const k of ["transportTimeoutMs", "checkTimeoutMs"] as const) checkTimerMs(options[k], `options.${k}`);
    // A delivery starts only when it can finish inside the lease (run()): a shorter lease would never send.
    if ((options.leaseMs ?? 900_000) <= (options.transportTimeoutMs ?? 120_000))
      throw invalidOption("options.leaseMs", "leaseMs must be longer than transportTimeoutMs (a delivery must fit in the lease)");
    this.#o = {
      ...options,
      prefix: options.prefix ?? "dmarc:",
      now: options.now ?? Date.now,
      hostId: options.hostId ?? `${hostname()}:${process.pid}`,
    };
  }

  /** Period maps whose period ended at least graceSeconds ago. */
  async #closed(kind: "agg:" | "sending:"): Promise<Array<{ map: string; begin: number; seconds: number; domain: string }>> {
    const now = this.#o.now() / 1000 - (this.#o.graceSeconds ?? 300);
    const out = [];
    for (const map of await this.#o.store.maps(this.#o.prefix + kind)) {
      const p = parsePeriodMapName(
        kind === "agg:" ? map : map.replace(`${this.#o.prefix}sending:`, `${this.#o.prefix}agg:`),
        this.#o.prefix,
      );
      if (p && p.begin + p.seconds <= now) out.push({ map, ...p });
    }
    return out;
  }

  /** Reports of closed periods without taking or sending anything (for --dry-run). */
  async preview(): Promise<GeneratedReport[]> {
    const out: GeneratedReport[] = [];
    for (const p of await this.#closed("agg:")) {
      const r = await generateFromStore(this.#o.store, p.map, p, this.#o.identity);
      if (r) out.push(r);
    }
    return out;
  }

  /** Takes over, generates and sends every closed period; returns what happened to each. */
  async run(): Promise<PeriodOutcome[]> {
    const s = this.#o.store;
    const outcomes: PeriodOutcome[] = [];
    try {
      for (const p of await this.#closed("agg:")) {
        // Exactly one host wins each period; a loser (or a period still being sent) is skipped.
        await s.take(p.map, p.map.replace(`${this.#o.prefix}agg:`, `${this.#o.prefix}sending:`));
      }
      for (const p of await this.#closed("sending:")) {
        const lease = `${p.map}#lease`;
        if (!(await s.set(lease, this.#o.hostId, { ttlMs: this.#o.leaseMs ?? 900_000, ifAbsent: true }))) continue;
        const leaseEnd = this.#o.now() + (this.#o.leaseMs ?? 900_000);
        try {
          // Another host may have sent it between our listing and our lease: then it is gone.
          if (!(await s.maps(p.map)).includes(p.map)) continue;
          outcomes.push(await this.#send(p, leaseEnd));
        } catch (err) {
          // One period's failure (store, generation, signing) is that period's: counted, and the run goes on.
          outcomes.push(await this.#failed(p, err));
        } finally {
          // Release only our own lease (it may have expired and been taken by another host).
          if ((await s.get(lease).catch(() => undefined)) === this.#o.hostId) await s.delete(lease).catch(() => {});
        }
      }
    } catch (err) {
      outcomes.push({ policyDomain: "", begin: 0, end: 0, state: "retry", deliveries: [], error: `store: ${(err as Error).message}` });
    }
    return outcomes;
  }

  /** A period whose sending threw: one more try counted (dropped after maxAttempts), never thrown. */
  async #failed(p: { map: string; begin: number; seconds: number; domain: string }, err: unknown): Promise<PeriodOutcome> {
    const s = this.#o.store;
    const end = p.begin + p.seconds - 1;
    const error = describeError(err);
    try {
      const tries = Number((await s.get(`${p.map}#tries`)) ?? "0") + 1;
      if (tries >= (this.#o.maxAttempts ?? 3)) {
        await s.deleteMap(p.map);
        for (const k of ["#id", "#done", "#tries"]) await s.delete(`${p.map}${k}`);
        return { policyDomain: p.domain, begin: p.begin, end, state: "dropped", deliveries: [], error };
      }
      await s.set(`${p.map}#tries`, String(tries));
    } catch (e) {
      return { policyDomain: p.domain, begin: p.begin, end, state: "retry", deliveries: [], error: `${error}; store: ${describeError(e)}` };
    }
    return { policyDomain: p.domain, begin: p.begin, end, state: "retry", deliveries: [], error };
  }

  async #send(p: { map: string; begin: number; seconds: number; domain: string }, leaseEnd: number): Promise<PeriodOutcome> {
    const s = this.#o.store;
    const end = p.begin + p.seconds - 1;
    // A re-send uses the same report ID and file name (RFC 9990 3.5.2).
    const fresh = newReportId(p.domain, p.begin, this.#o.identity.receiver);
    await s.set(`${p.map}#id`, JSON.stringify(fresh), { ifAbsent: true });
    const ids = JSON.parse((await s.get(`${p.map}#id`)) ?? JSON.stringify(fresh)) as typeof fresh;
    const report = await generateFromStore(s, p.map, p, this.#o.identity, ids);
    const done = async () => {
      await s.deleteMap(p.map);
      for (const k of ["#id", "#done", "#tries"]) await s.delete(`${p.map}${k}`);
    };
    if (!report) {
      await done();
      return { policyDomain: p.domain, begin: p.begin, end, state: "empty", deliveries: [] };
    }
    const already = new Set(JSON.parse((await s.get(`${p.map}#done`)) ?? "[]") as string[]);
    const deliveries: Delivery[] = [];
    const max = this.#o.maxDestinations ?? MAX_AGGREGATE_DESTINATIONS;
    for (const dest of report.rua.slice(max))
      deliveries.push({ to: dest.uri.slice(0, 200), result: "skipped", reason: `only the first ${max} rua= destinations are used` });
    const targets = startDestinationChecks(p.domain, report.rua.slice(0, max), this.#o, (to) => already.has(to));
    const transportMs = this.#o.transportTimeoutMs ?? 120_000;
    for (const { dest, m, to, check: pending } of targets) {
      if (!m) {
        deliveries.push({ to: dest.uri, result: "skipped", reason: "only mailto: destinations are supported" });
        continue;
      }
      if (!to) {
        deliveries.push({ to: m[1]!.slice(0, 200), result: "skipped", reason: "not a plain email address" });
        continue;
      }
      if (already.has(to) || !pending) continue;
      const check = await pending;
      if (check.result === "temperror") {
        deliveries.push({ to, result: "failed", reason: check.reason });
        continue;
      }
      if (check.result === "unauthorized") {
        deliveries.push({ to, result: "skipped", reason: check.reason });
        continue;
      }
      const raw = await reportEmail(report, to, this.#o.identity, {
        ...(this.#o.dkim ? { dkim: this.#o.dkim } : {}),
        now: this.#o.now,
      });
      const limit = Math.min(dest.maxSize ?? Number.POSITIVE_INFINITY, this.#o.maxEmailBytes ?? 10 * 1024 * 1024);
      if (raw.length > limit) {
        deliveries.push({ to, result: "skipped", reason: `the report email is ${raw.length} bytes, over the limit of ${limit}` });
        continue;
      }
      // Never past the lease: another host may take the period over once it expires, and send it twice.
      if (this.#o.now() + transportMs > leaseEnd) {
        deliveries.push({
          to,
          result: "failed",
          reason: "the lease would expire before this delivery could finish: retried by a later run",
        });
        continue;
      }
      try {
        await withDeadline(this.#o.transport({ from: this.#o.identity.email, to, raw, report }), transportMs);
        deliveries.push({ to, result: "sent" });
        already.add(to);
        await s.set(`${p.map}#done`, JSON.stringify([...already]));
      } catch (err) {
        deliveries.push({ to, result: "failed", reason: `transport: ${(err as Error).message}` });
      }
    }
    const { gzip: _, ...summary } = report;
    const failed = deliveries.some((d) => d.result === "failed");
    if (!failed) {
      await done();
      return { policyDomain: p.domain, begin: p.begin, end, state: "sent", report: summary, deliveries };
    }
    const tries = Number((await s.get(`${p.map}#tries`)) ?? "0") + 1;
    if (tries >= (this.#o.maxAttempts ?? 3)) {
      await done();
      return { policyDomain: p.domain, begin: p.begin, end, state: "dropped", report: summary, deliveries };
    }
    await s.set(`${p.map}#tries`, String(tries));
    return { policyDomain: p.domain, begin: p.begin, end, state: "retry", report: summary, deliveries };
  }
}
