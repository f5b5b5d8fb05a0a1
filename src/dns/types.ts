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

/**
 * What msgauth needs from DNS. Names are passed without a trailing dot; implementations follow
 * CNAME chains as a recursive resolver would. `txt` gives one string per record, its chunks joined
 * in order (RFC 7208 3.3, RFC 6376 3.6.2.2).
 */
export interface Resolver {
  txt(name: string): Promise<DnsAnswer<string[]>>;
  a(name: string): Promise<DnsAnswer<string[]>>;
  aaaa(name: string): Promise<DnsAnswer<string[]>>;
  mx(name: string): Promise<DnsAnswer<MxRecord[]>>;
  /** Reverse lookup of an IPv4 or IPv6 address (the resolver builds the in-addr/ip6.arpa name). */
  ptr(ip: string): Promise<DnsAnswer<string[]>>;
}

/** Calls a resolver method by record type, typed. */
export function query<T extends RecordType>(resolver: Resolver, type: T, name: string): Promise<DnsAnswer<RecordsByType[T]>> {
  switch (type) {
    case "TXT":
      return resolver.txt(name) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "A":
      return resolver.a(name) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "AAAA":
      return resolver.aaaa(name) as Promise<DnsAnswer<RecordsByType[T]>>;
    case "MX":
      return resolver.mx(name) as Promise<DnsAnswer<RecordsByType[T]>>;
    default:
      return resolver.ptr(name) as Promise<DnsAnswer<RecordsByType[T]>>;
  }
}

/** Lower-cases a name and drops one trailing dot, the form every table in msgauth is keyed by. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
