import { guardResolver } from "../dns/guard.js";
import { parseIp } from "../dns/ip.js";
import type { Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { checkLookupOptions } from "../options.js";

export interface DnsblListing {
  zone: string;
  /** listed, not listed, or the list could not answer (never read as "not listed"). */
  status: "listed" | "not-listed" | "error";
  /** 127.0.0.x return codes (RFC 5782 2.1). */
  codes: string[];
  /** The list's TXT explanation, when listed. */
  reason?: string;
  /** For errors: timeout, SERVFAIL, or a return code outside 127.0.0.0/8 (a refusal, RFC 5782 5). */
  error?: string;
}

export interface DnsblResult {
  /** Listed in any zone. */
  listed: boolean;
  /** Some zone could not answer: decide whether that blocks delivery, never ignore it silently. */
  incomplete: boolean;
  listings: DnsblListing[];
}

/** The query label for an address: reversed octets, or reversed nibbles for IPv6 (RFC 5782 2.1, 2.4). */
export function dnsblLabel(ip: string): string | undefined {
  const p = parseIp(ip);
  if (!p) return undefined;
  if (p.family === 4) return [...p.bytes].reverse().join(".");
  const nibbles: string[] = [];
  for (let i = p.bytes.length - 1; i >= 0; i--) nibbles.push((p.bytes[i]! & 0xf).toString(16), (p.bytes[i]! >> 4).toString(16));
  return nibbles.join(".");
}

async function lookup(name: string, zone: string, resolver: Resolver): Promise<DnsblListing> {
  const a = await resolver.a(name);
  if (a.kind === "nxdomain" || a.kind === "nodata") return { zone, status: "not-listed", codes: [] };
  if (a.kind === "error") return { zone, status: "error", codes: [], error: a.reason };
  const codes = a.records;
  if (!codes.every((c) => c.startsWith("127.")))
    return { zone, status: "error", codes, error: `return code outside 127.0.0.0/8: ${codes.join(", ")}` };
  // 127.255.255.x is what large lists answer when they refuse the query (open resolvers, over quota).
  if (codes.some((c) => c.startsWith("127.255.255.")))
    return { zone, status: "error", codes, error: `the list refused the query (${codes.join(", ")})` };
  const listing: DnsblListing = { zone, status: "listed", codes };
  const txt = await resolver.txt(name);
  if (txt.kind === "ok" && txt.records.length > 0) listing.reason = txt.records.join(" ");
  return listing;
}

/** Checks an address against IP blocklists (RFC 5782), all zones at once. */
export async function checkDnsbl(
  ip: string,
  zones: readonly string[],
  options: { resolver: Resolver; signal?: AbortSignal },
): Promise<DnsblResult> {
  checkLookupOptions(options);
  const label = dnsblLabel(ip);
  if (!label)
    return {
      listed: false,
      incomplete: true,
      listings: zones.map((zone) => ({ zone, status: "error", codes: [], error: `not an IP address: ${ip}` })),
    };
  const resolver = guardResolver(options.resolver, options.signal ? { signal: options.signal } : {});
  return summarize(await Promise.all(zones.map((z) => lookup(`${label}.${z}`, z, resolver))));
}

/** Checks a domain against domain (URI/RHS) blocklists (RFC 5782 2.3). */
export async function checkDomainBl(
  domain: string,
  zones: readonly string[],
  options: { resolver: Resolver; signal?: AbortSignal },
): Promise<DnsblResult> {
  checkLookupOptions(options);
  const d = asciiDomain(domain);
  if (!d)
    return {
      listed: false,
      incomplete: true,
      listings: zones.map((zone) => ({ zone, status: "error", codes: [], error: `not a domain: ${domain}` })),
    };
  const resolver = guardResolver(options.resolver, options.signal ? { signal: options.signal } : {});
  return summarize(await Promise.all(zones.map((z) => lookup(`${d}.${z}`, z, resolver))));
}

function summarize(listings: DnsblListing[]): DnsblResult {
  return { listed: listings.some((l) => l.status === "listed"), incomplete: listings.some((l) => l.status === "error"), listings };
}
