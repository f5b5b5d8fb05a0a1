import { Resolver as NodeDnsResolver } from "node:dns/promises";
import { listenAbort, signalAborted, unlistenAbort } from "../abort.js";
import { describeError } from "../errors.js";
import { checkNodeResolverOptions } from "../options.js";
import { optionless } from "./guard.js";
import { ipFromReverseName, reverseName } from "./reverse.js";
import type { DnsAnswer, MxRecord, QueryOptions, Resolver } from "./types.js";

export interface NodeResolverOptions {
  /** DNS servers ("192.0.2.53", "[2001:db8::53]:5353"); the system's when omitted. */
  servers?: string[];
  /** Milliseconds for one query, all retries included. Default 5000; at most 2^31-1 (MAX_TIMER_MS). */
  timeoutMs?: number;
  /** Attempts per server (node:dns `tries`). Default 2. */
  tries?: number;
}

/** Maps node:dns error codes to the three outcomes msgauth keeps apart. */
export function answerFromDnsError(err: unknown): DnsAnswer<never> {
  let code: unknown;
  try {
    code = (err as { code?: unknown } | null)?.code;
  } catch {
    code = undefined; // a thrown Proxy
  }
  if (code === "ENOTFOUND") return { kind: "nxdomain" };
  if (code === "ENODATA") return { kind: "nodata" };
  const text = typeof code === "string" ? code : describeError(err);
  return { kind: "error", reason: text };
}

function withTimeout<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | typeof TIMED_OUT | typeof ABORTED> {
  if (signal !== undefined && signalAborted(signal)) {
    work.catch(() => {});
    return Promise.resolve(ABORTED);
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<typeof TIMED_OUT | typeof ABORTED>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref?.();
    if (signal) {
      onAbort = () => resolve(ABORTED);
      listenAbort(signal, onAbort);
    }
  });
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
    if (onAbort && signal) unlistenAbort(signal, onAbort);
  });
}
const TIMED_OUT = Symbol("timeout");
const ABORTED = Symbol("aborted");

/** The default resolver, on node:dns, with a per-query time limit and configurable servers. */
export class NodeResolver implements Resolver {
  readonly #dns: NodeDnsResolver;
  readonly #timeoutMs: number;

  constructor(options: NodeResolverOptions = {}) {
    checkNodeResolverOptions(options);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#dns = new NodeDnsResolver({ timeout: this.#timeoutMs, tries: options.tries ?? 2 });
    if (options.servers) this.#dns.setServers(options.servers);
  }

  async #run<T, R>(work: () => Promise<R>, map: (r: R) => T, signal: AbortSignal | undefined): Promise<DnsAnswer<T>> {
    // node:dns can only cancel every query of a Resolver at once, so an aborted query is abandoned:
    // its answer is dropped and the caller stops waiting at once.
    if (signal !== undefined && signalAborted(signal)) return { kind: "error", reason: "aborted" };
    try {
      const r = await withTimeout(work(), this.#timeoutMs, signal);
      if (r === TIMED_OUT) return { kind: "error", reason: "ETIMEOUT" };
      if (r === ABORTED) return { kind: "error", reason: "aborted" };
      return { kind: "ok", records: map(r) };
    } catch (err) {
      return answerFromDnsError(err);
    }
  }

  txt(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#run(
      () => this.#dns.resolveTxt(name),
      (rs) => rs.map((chunks) => chunks.join("")),
      options?.signal,
    );
  }
  async a(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#withTtl(
      await this.#run(
        () => this.#dns.resolve4(name, { ttl: true }),
        (rs) => rs,
        options?.signal,
      ),
    );
  }
  async aaaa(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>> {
    return this.#withTtl(
      await this.#run(
        () => this.#dns.resolve6(name, { ttl: true }),
        (rs) => rs,
        options?.signal,
      ),
    );
  }
  mx(name: string, options?: QueryOptions): Promise<DnsAnswer<MxRecord[]>> {
    return this.#run(
      () => this.#dns.resolveMx(name),
      (rs) => rs.map((r) => ({ exchange: r.exchange, priority: r.priority })),
      options?.signal,
    );
  }
  ptr(ip: string, options?: QueryOptions): Promise<DnsAnswer<string[]>> {
    const name = reverseName(ip);
    if (!name) return Promise.resolve({ kind: "error", reason: `not an IP address: ${ip}` });
    return this.#run(
      () => this.#dns.resolvePtr(name),
      (rs) => rs,
      options?.signal,
    );
  }

  #withTtl(ans: DnsAnswer<{ address: string; ttl: number }[]>): DnsAnswer<string[]> {
    if (ans.kind !== "ok") return ans;
    const ttl = ans.records.reduce((m, r) => Math.min(m, r.ttl), Number.POSITIVE_INFINITY);
    const out: DnsAnswer<string[]> = { kind: "ok", records: ans.records.map((r) => r.address) };
    if (Number.isFinite(ttl)) out.ttl = ttl;
    return out;
  }
}

// Through the guard its signal changes nothing (see optionless): the guard stops waiting itself.
optionless(...(["txt", "a", "aaaa", "mx", "ptr"] as const).map((m) => NodeResolver.prototype[m]));

/**
 * The shape of `dns.promises.resolve` and of mailauth's `resolver` option:
 * `(name, rrtype) => Promise<records>`, throwing errors with node:dns codes.
 */
export type ResolveFunction = (name: string, rrtype: string) => Promise<unknown>;

/** Adapts a mailauth-style resolver function to the Resolver interface. */
export function fromResolveFunction(resolve: ResolveFunction): Resolver {
  async function run<T>(name: string, rrtype: string, map: (raw: unknown) => T): Promise<DnsAnswer<T>> {
    try {
      const raw = await resolve(name, rrtype);
      if (!Array.isArray(raw) || raw.length === 0) return { kind: "nodata" };
      return { kind: "ok", records: map(raw) };
    } catch (err) {
      return answerFromDnsError(err);
    }
  }
  const strings = (raw: unknown) => (raw as unknown[]).map((r) => String(r));
  return {
    txt: (name) => run(name, "TXT", (raw) => (raw as unknown[]).map((r) => (Array.isArray(r) ? r.map(String).join("") : String(r)))),
    a: (name) => run(name, "A", strings),
    aaaa: (name) => run(name, "AAAA", strings),
    mx: (name) =>
      run(name, "MX", (raw) =>
        (raw as { exchange?: unknown; priority?: unknown }[]).map((r) => ({
          exchange: String(r.exchange ?? ""),
          priority: Number(r.priority ?? 0),
        })),
      ),
    ptr: (ip) => {
      const name = reverseName(ip);
      if (!name) return Promise.resolve({ kind: "error", reason: `not an IP address: ${ip}` });
      return run(name, "PTR", strings);
    },
  };
}

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed: ${code}`), { code });
}

/**
 * The other way round: a Resolver as a `(name, rrtype) => Promise` function shaped like
 * `dns.promises.resolve` (TXT as chunk arrays, errors with node:dns codes), so that one resolver can
 * serve msgauth and mailauth side by side in tests and benchmarks.
 */
export function toResolveFunction(resolver: Resolver): ResolveFunction {
  return async (name: string, rrtype: string): Promise<unknown> => {
    let answer: DnsAnswer<unknown>;
    switch (rrtype.toUpperCase()) {
      case "TXT":
        answer = await resolver.txt(name);
        if (answer.kind === "ok") return (answer.records as string[]).map((r) => [r]);
        break;
      case "A":
        answer = await resolver.a(name);
        break;
      case "AAAA":
        answer = await resolver.aaaa(name);
        break;
      case "MX":
        answer = await resolver.mx(name);
        break;
      case "PTR": {
        const ip = ipFromReverseName(name);
        if (!ip) throw dnsError("ENOTFOUND");
        answer = await resolver.ptr(ip);
        break;
      }
      default:
        throw dnsError("ENOTIMP");
    }
    if (answer.kind === "ok") return answer.records;
    if (answer.kind === "nxdomain") throw dnsError("ENOTFOUND");
    if (answer.kind === "nodata") throw dnsError("ENODATA");
    throw dnsError(/timeout/i.test(answer.reason) ? "ETIMEOUT" : "ESERVFAIL");
  };
}
