import { describeError } from "../errors.js";
import type { Store } from "../store/types.js";
import { parseStsPolicy, type StsPolicy } from "./policy.js";

/** A policy as cached (RFC 8461 5.1): the text it was parsed from, its TXT id and when it was fetched. */
export interface CachedPolicy {
  id: string;
  policy: StsPolicy;
  text: string;
  /** Milliseconds since the epoch. */
  fetchedAt: number;
}

/** The part of a {@link Store} the policy cache uses: a memory store in one process, Redis for a fleet. */
export type PolicyStore = Pick<Store, "get" | "set">;

const KEY = "mta-sts:policy:";
const FAILED = "mta-sts:failed:";

/** Expiry of a cached policy: fetch time plus max_age (RFC 8461 3.2). */
export function expiresAt(entry: Pick<CachedPolicy, "fetchedAt" | "policy">): number {
  return entry.fetchedAt + entry.policy.maxAge * 1000;
}

async function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads and writes cached policies in a store. An entry is kept as JSON with the policy's own text and
 * parsed again when read, so a damaged or foreign value in a shared store is a miss, never a policy.
 * Every store call has a deadline; a store that fails or is slow reads as a miss and its error is
 * returned, never thrown.
 */
export class PolicyCache {
  readonly #store: PolicyStore;
  readonly #timeoutMs: number;

  constructor(store: PolicyStore, timeoutMs: number) {
    this.#store = store;
    this.#timeoutMs = timeoutMs;
  }

  async get(domain: string, now: number): Promise<{ entry?: CachedPolicy; error?: string }> {
    let raw: string | undefined;
    try {
      raw = await bounded(this.#store.get(KEY + domain), this.#timeoutMs, "the policy store");
    } catch (err) {
      return { error: describeError(err) };
    }
    if (raw === undefined) return {};
    const entry = decode(raw);
    if (!entry) return { error: `the cached entry for ${domain} is damaged` };
    if (expiresAt(entry) <= now) return {};
    return { entry };
  }

  async set(domain: string, entry: CachedPolicy, now: number): Promise<string | undefined> {
    // max_age 0: nothing to keep, and the policy it replaces must not linger (a 1 ms entry)
    const ttlMs = Math.max(1, Math.ceil(expiresAt(entry) - now));
    try {
      await bounded(
        this.#store.set(KEY + domain, JSON.stringify({ id: entry.id, text: entry.text, fetchedAt: entry.fetchedAt }), { ttlMs }),
        this.#timeoutMs,
        "the policy store",
      );
      return undefined;
    } catch (err) {
      return describeError(err);
    }
  }

  /** RFC 8461 3.3: after a failed fetch, wait `ms` before fetching the same policy id again. */
  async failedRecently(domain: string, id: string): Promise<boolean> {
    try {
      return (await bounded(this.#store.get(`${FAILED}${domain}:${id}`), this.#timeoutMs, "the policy store")) !== undefined;
    } catch {
      return false;
    }
  }

  async noteFailure(domain: string, id: string, ms: number): Promise<void> {
    if (ms < 1) return;
    try {
      await bounded(this.#store.set(`${FAILED}${domain}:${id}`, "1", { ttlMs: Math.ceil(ms) }), this.#timeoutMs, "the policy store");
    } catch {
      // the back-off is advice (RFC 8461 3.3 SHOULD); a store failure only means fetching again sooner
    }
  }
}

function decode(raw: string): CachedPolicy | undefined {
  if (raw.length > 200_000) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== "object") return undefined;
  const { id, text, fetchedAt } = data as Record<string, unknown>;
  if (typeof id !== "string" || !/^[A-Za-z0-9]{1,32}$/.test(id)) return undefined;
  if (typeof text !== "string" || typeof fetchedAt !== "number" || !Number.isFinite(fetchedAt)) return undefined;
  const parsed = parseStsPolicy(text);
  if (!parsed.ok) return undefined;
  return { id, text, fetchedAt, policy: parsed.policy };
}
