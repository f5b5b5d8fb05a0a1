/**
 * The DNS answers every protocol module works with. NXDOMAIN, NODATA and failure are kept apart:
 * SPF void lookups (RFC 7208 4.6.4) count the first two, and only the third maps to temperror.
 */
export type DnsAnswer<T> =
  | { kind: "ok"; records: T; ttl?: number }
  | { kind: "nxdomain"; ttl?: number }
  | { kind: "nodata"; ttl?: number }
  | { kind: "error"; reason: string };

export interface MxRecord {
  exchange: string;
  priority: number;
}

export type RecordType = "TXT" | "A" | "AAAA" | "MX" | "PTR";
export const RECORD_TYPES: readonly RecordType[] = ["TXT", "A", "AAAA", "MX", "PTR"];

export interface RecordsByType {
  TXT: string[];
  A: string[];
  AAAA: string[];
  MX: MxRecord[];
  PTR: string[];
}

/** Per-query options msgauth passes to a resolver. */
export interface QueryOptions {
  /**
   * Aborted when msgauth no longer wants the answer (the time budget ran out, the per-query
   * timeout passed, or the caller's own signal fired). A resolver may stop the lookup; msgauth
   * does not wait for it either way.
   */
  signal?: AbortSignal;
}

/**
 * What msgauth needs from DNS. Names are passed without a trailing dot; implementations follow
 * CNAME chains as a recursive resolver would. `txt` gives one string per record, its chunks joined
 * in order (RFC 7208 3.3, RFC 6376 3.6.2.2). The `options` argument is optional to honour: msgauth
 * validates every answer and bounds every wait itself (see `guardResolver`).
 */
export interface Resolver {
  txt(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>>;
  a(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>>;
  aaaa(name: string, options?: QueryOptions): Promise<DnsAnswer<string[]>>;
  mx(name: string, options?: QueryOptions): Promise<DnsAnswer<MxRecord[]>>;
  /** Reverse lookup of an IPv4 or IPv6 address (the resolver builds the in-addr/ip6.arpa name). */
  ptr(ip: string, options?: QueryOptions): Promise<DnsAnswer<string[]>>;
}

/** Calls a resolver method by record type, typed. */
export function query<T extends RecordType>(
  resolver: Resolver,
  type: T,
  name: string,
  options?: QueryOptions,
): Promise<DnsAnswer<RecordsByType[T]>> {
  // The options argument is passed only when there is one: a resolver written for one argument
  // sees exactly the call it was written for (two calls written out: no argument array to spread).
  switch (type) {
    case "TXT":
      return (options ? resolver.txt(name, options) : resolver.txt(name)) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "A":
      return (options ? resolver.a(name, options) : resolver.a(name)) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "AAAA":
      return (options ? resolver.aaaa(name, options) : resolver.aaaa(name)) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "MX":
      return (options ? resolver.mx(name, options) : resolver.mx(name)) as Promise<DnsAnswer<RecordsByType[T]>>;
    default:
      return (options ? resolver.ptr(name, options) : resolver.ptr(name)) as Promise<DnsAnswer<RecordsByType[T]>>;
  }
}

/** Lower-cases a name and drops one trailing dot, the form every table in msgauth is keyed by. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
