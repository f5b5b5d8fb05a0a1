import { z } from "zod";
import { signalAborted } from "../abort.js";
import type { Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { fn, nonNegativeInt, optionsChecker, positiveInt, resolverSchema, timerMs } from "../options.js";
import { MemoryStateStore } from "../store/memory.js";
import { type CachedPolicy, expiresAt, PolicyCache, type PolicyStore } from "./cache.js";
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_POLICY_BYTES, fetchStsPolicy, type PolicyFetcher, type StsFailure } from "./fetch.js";
import type { StsPolicy } from "./policy.js";
import { discoverStsRecord } from "./record.js";

/** The policy that applies to a domain now (RFC 8461 5.1), or why there is none. */
export type StsPolicyLookup =
  | {
      kind: "policy";
      domain: string;
      id: string;
      policy: StsPolicy;
      /** The policy body as served. */
      text: string;
      /** "fetched" just now, or from the cache (the TXT id was unchanged, or no live policy could be had). */
      source: "fetched" | "cache";
      fetchedAt: number;
      expiresAt: number;
      /** A refresh failed and the cached policy was applied instead (reportable, RFC 8461 6, unless mode is none). */
      failure?: StsFailure;
      /** Why the TXT record could not be used, when the cached policy was applied without it. */
      dns?: string;
      /** The store failed or was slow; the policy was still applied. */
      storeError?: string;
    }
  | {
      kind: "none";
      domain: string;
      reason: string;
      /** A TXT record was found but no policy could be fetched: reportable (RFC 8461 6, RFC 8460 4.3.2.2). */
      failure?: StsFailure;
      storeError?: string;
    };

export interface MtaStsOptions {
  resolver: Resolver;
  /** The HTTPS edge: `createNodePolicyFetcher()` in Node, or your own. */
  fetch: PolicyFetcher;
  /** Where policies are cached: a `Store` (memory, SQLite, Redis). Default: a memory store of this instance. */
  store?: PolicyStore;
  /** Milliseconds for a policy fetch. Default 60000; at most 2^31-1 (as storeTimeoutMs). */
  timeoutMs?: number;
  /** Largest policy body. Default 65536 bytes. */
  maxBytes?: number;
  /** Milliseconds before fetching again after a failed fetch of the same policy id. Default 300000 (RFC 8461 3.3). */
  retryAfterFailureMs?: number;
  /** Milliseconds for each store call. Default 2000. */
  storeTimeoutMs?: number;
  /** Milliseconds clock. Default Date.now. */
  now?: () => number;
}

const checkOptions = optionsChecker<MtaStsOptions>("options", {
  resolver: resolverSchema,
  fetch: fn<PolicyFetcher>("fetch"),
  store: z
    .custom<PolicyStore>((v) => typeof (v as PolicyStore)?.get === "function" && typeof (v as PolicyStore)?.set === "function", {
      message: "store must be a Store (get and set)",
    })
    .optional(),
  timeoutMs: timerMs.optional(),
  maxBytes: positiveInt.optional(),
  retryAfterFailureMs: nonNegativeInt.optional(),
  storeTimeoutMs: timerMs.optional(),
  now: fn<() => number>("now").optional(),
});

/**
 * MTA-STS for a sending MTA or app (RFC 8461): discovers, fetches, caches and applies policies.
 * On every call the `_mta-sts` TXT record is looked up: an unchanged id uses the cached policy, a new
 * id fetches the new one. A cached, unexpired policy keeps applying when DNS or the fetch fails, so an
 * attacker who blocks the refresh cannot turn the policy off.
 */
export class MtaSts {
  readonly #resolver: Resolver;
  readonly #fetch: PolicyFetcher;
  readonly #cache: PolicyCache;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  /** Lookups in progress, so concurrent deliveries to one domain share one DNS query and one fetch. */
  readonly #inFlight = new Map<string, Promise<StsPolicyLookup>>();

  constructor(options: MtaStsOptions) {
    checkOptions(options);
    this.#resolver = options.resolver;
    this.#fetch = options.fetch;
    const now = options.now ?? Date.now;
    this.#now = now;
    this.#cache = new PolicyCache(options.store ?? new MemoryStateStore({ now }), options.storeTimeoutMs ?? 2000);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_POLICY_BYTES;
    this.#retryMs = options.retryAfterFailureMs ?? 300_000;
  }

  /**
   * The policy for a recipient domain (RFC 8461 5.1). The domain is the recipient's own: a subdomain
   * never falls back to its parent (RFC 8461 3.4); for a smart host pass the smart host's domain.
   * `refresh: true` fetches even when the TXT id matches the cached policy (a proactive refresh).
   * Concurrent calls for one domain share one lookup. DNS waits are bounded (10 s a query) and the
   * fetch by `timeoutMs`; `signal` stops both early. Never throws for DNS, HTTPS or store trouble.
   */
  async policy(domain: string, options: { refresh?: boolean; signal?: AbortSignal } = {}): Promise<StsPolicyLookup> {
    const ascii = typeof domain === "string" ? asciiDomain(domain) : undefined;
    if (!ascii) return { kind: "none", domain: String(domain), reason: "not a valid domain name" };
    const name = ascii.toLowerCase();
    // a caller with its own signal or a forced refresh does not share another caller's lookup
    if (options.refresh || options.signal) return this.#lookup(name, options);
    const pending = this.#inFlight.get(name);
    if (pending) return pending;
    const run = this.#lookup(name, options).finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, run);
    return run;
  }

  async #lookup(name: string, options: { refresh?: boolean; signal?: AbortSignal }): Promise<StsPolicyLookup> {
    const now = this.#now();
    const cached = await this.#cache.get(name, now);
    const storeError = cached.error;
    const withStore = <T extends object>(r: T): T => (storeError ? { ...r, storeError } : r);
    const fromCache = (entry: CachedPolicy, extra: { failure?: StsFailure; dns?: string }): StsPolicyLookup =>
      withStore({
        kind: "policy",
        domain: name,
        id: entry.id,
        policy: entry.policy,
        text: entry.text,
        source: "cache",
        fetchedAt: entry.fetchedAt,
        expiresAt: expiresAt(entry),
        ...extra,
      });
    const discovery = await discoverStsRecord(name, this.#resolver, options.signal ? { signal: options.signal } : {});
    if (discovery.kind !== "found") {
      // RFC 8461 3.1, 5.1: no usable TXT record does not by itself remove a cached policy.
      if (cached.entry) return fromCache(cached.entry, { dns: discovery.reason });
      return withStore({ kind: "none", domain: name, reason: discovery.reason });
    }
    const id = discovery.record.id;
    if (cached.entry && cached.entry.id === id && !options.refresh) return fromCache(cached.entry, {});
    if (await this.#cache.failedRecently(name, id)) {
      const failure: StsFailure = {
        resultType: "sts-policy-fetch-error",
        reason: `fetching policy ${id} failed recently; not retried yet`,
      };
      if (cached.entry) return fromCache(cached.entry, { failure });
      return withStore({ kind: "none", domain: name, reason: failure.reason, failure });
    }
    const fetched = await fetchStsPolicy(name, {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!fetched.ok) {
      // the caller giving up says nothing about the server: no back-off for the others then
      if (options.signal === undefined || !signalAborted(options.signal)) await this.#cache.noteFailure(name, id, this.#retryMs);
      // RFC 8461 3.3: with a valid cached policy, apply it; without one, deliver as if there were none.
      if (cached.entry) return fromCache(cached.entry, { failure: fetched.failure });
      return withStore({ kind: "none", domain: name, reason: fetched.failure.reason, failure: fetched.failure });
    }
    const fetchedAt = this.#now();
    const entry: CachedPolicy = { id, policy: fetched.policy, text: fetched.text, fetchedAt };
    const setError = await this.#cache.set(name, entry, fetchedAt);
    const result: StsPolicyLookup = {
      kind: "policy",
      domain: name,
      id,
      policy: fetched.policy,
      text: fetched.text,
      source: "fetched",
      fetchedAt,
      expiresAt: expiresAt(entry),
    };
    const err = setError ?? storeError;
    return err ? { ...result, storeError: err } : result;
  }
}
