import { isAbortSignal } from "../abort.js";
import { guardResolver } from "../dns/guard.js";
import { formatIp, ipv4Value, parseIp } from "../dns/ip.js";
import type { Resolver } from "../dns/types.js";
import { checkIprevOptions, isPlainObject, isResolver, isVouched } from "../options.js";

export interface IprevResult {
  /** RFC 8601 3 words. */
  result: "pass" | "fail" | "temperror" | "permerror";
  ip: string;
  /** The name that pointed back to the address (for a pass). */
  name?: string;
  reason: string;
}

/**
 * iprev (RFC 8601 3): the client address's PTR names, each looked up forward; pass when one resolves
 * back to the address ("forward-confirmed reverse DNS"). At most `maxNames` (10) names are tried.
 */
export async function checkIprev(
  ip: string,
  options: { resolver: Resolver; maxNames?: number; signal?: AbortSignal },
): Promise<IprevResult> {
  if (!isVouched(options) && !plainIprevOptions(options)) checkIprevOptions(options); // authenticate()'s: checked
  // A dotted quad is its own canonical text (ipv4Value reads only that form): no parse into bytes.
  let addr = ip;
  let v4 = ipv4Value(ip) >= 0;
  if (!v4) {
    const parsed = parseIp(ip);
    if (!parsed) return { result: "permerror", ip, reason: `not an IP address: ${ip}` };
    addr = formatIp(parsed);
    v4 = parsed.family === 4;
  }
  const r = guardResolver(options.resolver, options.signal ? { signal: options.signal } : {});
  const ptr = await r.ptr(addr);
  if (ptr.kind === "error") return { result: "temperror", ip: addr, reason: `PTR lookup failed: ${ptr.reason}` };
  if (ptr.kind !== "ok" || ptr.records.length === 0) return { result: "fail", ip: addr, reason: "no PTR record" };
  let temp: string | undefined;
  for (const raw of ptr.records.slice(0, options.maxNames ?? 10)) {
    const lower = raw.toLowerCase();
    const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
    const fwd = v4 ? await r.a(name) : await r.aaaa(name);
    if (fwd.kind === "error") {
      temp ??= `${name}: ${fwd.reason}`;
      continue;
    }
    // `addr` is canonical, so an answer written as it is the address (no parse needed to know).
    if (fwd.kind === "ok" && fwd.records.some((a) => a === addr || formatOf(a) === addr)) {
      return { result: "pass", ip: addr, name, reason: `${name} resolves back to ${addr}` };
    }
  }
  if (temp) return { result: "temperror", ip: addr, reason: `forward lookup failed for ${temp}` };
  return { result: "fail", ip: addr, reason: `no PTR name (${ptr.records.slice(0, 3).join(", ")}) resolves back to ${addr}` };
}

/** An address's canonical text, or undefined for what is not an address. */
function formatOf(text: string): string | undefined {
  const p = parseIp(text);
  return p && formatIp(p);
}

/**
 * Whether checkIprevOptions accepts `v`, decided by hand for the usual shapes; false leaves the
 * decision (and any refusal) to the checker. Never true for what the checker refuses
 * (test/iprev/fast-paths.test.ts compares the two). Saves zod's parse: a third of checkIprev's time.
 */
export function plainIprevOptions(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  for (const key in v) if (key !== "resolver" && key !== "maxNames" && key !== "signal") return false;
  const { maxNames, signal } = v;
  return (
    isResolver(v.resolver) &&
    (maxNames === undefined || (Number.isSafeInteger(maxNames) && (maxNames as number) >= 1)) &&
    (signal === undefined || isAbortSignal(signal))
  );
}
