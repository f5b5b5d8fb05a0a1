import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { checkLookupOptions, checkNextHopOptions } from "../options.js";
import type { Reply } from "../smtp/reply.js";

export interface NextHopHost {
  exchange: string;
  priority: number;
  /** A and AAAA addresses, IPv6 first; empty when they could not be found. */
  addresses: string[];
  /** Set when this host's address lookups failed temporarily. */
  temporaryError?: string;
}

export type NextHop =
  /** Hosts to try in order: by preference, random among equals (RFC 5321 5.1). */
  | { kind: "hosts"; domain: string; hosts: NextHopHost[] /** no MX: the domain itself (RFC 5321 5.1) */; implicit: boolean }
  /** "0 ." (RFC 7505): the domain accepts no mail. */
  | { kind: "null-mx"; domain: string; reply: Reply }
  | { kind: "permanent"; domain: string; reason: string; reply: Reply }
  | { kind: "temporary"; domain: string; reason: string; reply: Reply };

export interface NextHopOptions {
  resolver: Resolver;
  /** [0, 1) source for the order among equal preferences; injectable for tests. */
  random?: () => number;
  /** Look up A/AAAA for each host. Default true. */
  addresses?: boolean;
  /** Most MX hosts used. Default 10. */
  maxHosts?: number;
  /** Stops the lookups: pending ones are abandoned and the answer is temporary. */
  signal?: AbortSignal;
}

function shuffleEqual<T extends { priority: number }>(list: T[], random: () => number): T[] {
  const withKey = list.map((item) => ({ item, key: random() }));
  withKey.sort((a, b) => a.item.priority - b.item.priority || a.key - b.key);
  return withKey.map((w) => w.item);
}

/**
 * Where to deliver mail for a domain (RFC 5321 5.1, RFC 7505): its MX hosts in order, the domain itself
 * when it has no MX but has an address, nothing at all for a null MX, and temporary failures kept apart
 * from permanent ones. IDN domains are looked up as A-labels.
 */
export async function resolveNextHop(domain: string, options: NextHopOptions): Promise<NextHop> {
  checkNextHopOptions(options);
  const ascii = asciiDomain(domain);
  if (!ascii)
    return {
      kind: "permanent",
      domain,
      reason: "not a valid domain name",
      reply: { code: 550, enhanced: "5.1.2", lines: [`Bad destination system address: ${domain}`] },
    };
  const r = guardResolver(options.resolver, options.signal ? { signal: options.signal } : {});
  const random = options.random ?? Math.random;
  const temporary = (reason: string): NextHop => ({
    kind: "temporary",
    domain: ascii,
    reason,
    reply: { code: 451, enhanced: "4.4.3", lines: [`Cannot resolve ${ascii}: ${reason}`] },
  });
  const mx = await r.mx(ascii);
  if (mx.kind === "error") return temporary(mx.reason);
  if (mx.kind === "nxdomain")
    return {
      kind: "permanent",
      domain: ascii,
      reason: "the domain does not exist",
      reply: { code: 550, enhanced: "5.1.2", lines: [`Domain ${ascii} does not exist`] },
    };
  let hosts: Array<{ exchange: string; priority: number }>;
  let implicit = false;
  if (mx.kind === "ok" && mx.records.length > 0) {
    const real = mx.records.filter((m) => m.exchange !== "" && m.exchange !== ".");
    if (real.length === 0) {
      // RFC 7505 3: a single "0 ." record says the domain accepts no mail.
      return {
        kind: "null-mx",
        domain: ascii,
        reply: { code: 556, enhanced: "5.1.10", lines: [`Recipient address has null MX: ${ascii} accepts no mail (RFC 7505)`] },
      };
    }
    hosts = shuffleEqual(
      real.map((m) => ({ exchange: m.exchange.toLowerCase().replace(/\.$/, ""), priority: m.priority })),
      random,
    ).slice(0, options.maxHosts ?? 10);
  } else {
    // RFC 5321 5.1: no MX records: the domain itself, if it has an address.
    const [a, aaaa] = await Promise.all([r.a(ascii), r.aaaa(ascii)]);
    if (a.kind === "error" && aaaa.kind === "error") return temporary(a.reason);
    if (a.kind !== "ok" && aaaa.kind !== "ok") {
      if (a.kind === "error" || aaaa.kind === "error")
        return temporary(a.kind === "error" ? a.reason : (aaaa as { reason: string }).reason);
      return {
        kind: "permanent",
        domain: ascii,
        reason: "no MX and no address",
        reply: { code: 550, enhanced: "5.1.2", lines: [`${ascii} has no MX and no address`] },
      };
    }
    hosts = [{ exchange: ascii, priority: 0 }];
    implicit = true;
  }
  const out: NextHopHost[] = [];
  for (const h of hosts) {
    const host: NextHopHost = { ...h, addresses: [] };
    if (options.addresses !== false) {
      const [a6, a4] = await Promise.all([r.aaaa(h.exchange), r.a(h.exchange)]);
      for (const ans of [a6, a4]) if (ans.kind === "ok") host.addresses.push(...ans.records);
      const err = [a6, a4].find((x) => x.kind === "error");
      if (err && host.addresses.length === 0) host.temporaryError = (err as { reason: string }).reason;
    }
    out.push(host);
  }
  if (options.addresses !== false && out.every((h) => h.addresses.length === 0)) {
    return out.some((h) => h.temporaryError)
      ? temporary("no MX host address could be resolved")
      : {
          kind: "permanent",
          domain: ascii,
          reason: "no MX host has an address",
          reply: { code: 550, enhanced: "5.4.4", lines: [`No address for any MX host of ${ascii}`] },
        };
  }
  return { kind: "hosts", domain: ascii, hosts: out, implicit };
}

/**
 * A receiver's check of the sender's domain (RFC 7505 4.2): mail from a domain that publishes a null MX
 * cannot get a bounce back, so it may be refused with 550 5.7.27. A failed MX lookup (timeout,
 * SERVFAIL, an abort) is not "no null MX": the result then has `nullMx: false` and `temperror` with
 * the reason, and the caller decides (a 451 4.4.3 reply is offered as `reply`).
 */
export async function checkSenderNullMx(
  domain: string,
  options: { resolver: Resolver; signal?: AbortSignal },
): Promise<{ nullMx: boolean; reply?: Reply; temperror?: string }> {
  checkLookupOptions(options);
  const ascii = asciiDomain(domain);
  if (!ascii) return { nullMx: false };
  const mx = await guardResolver(options.resolver, options.signal ? { signal: options.signal } : {}).mx(ascii);
  if (mx.kind === "ok" && mx.records.length > 0 && mx.records.every((m) => m.exchange === "" || m.exchange === ".")) {
    return { nullMx: true, reply: { code: 550, enhanced: "5.7.27", lines: [`Sender address has null MX: ${ascii}`] } };
  }
  if (mx.kind === "error") {
    return {
      nullMx: false,
      temperror: `the MX lookup for ${ascii} failed: ${mx.reason}`,
      reply: { code: 451, enhanced: "4.4.3", lines: [`Temporary DNS failure checking ${ascii}, try again later`] },
    };
  }
  return { nullMx: false };
}
