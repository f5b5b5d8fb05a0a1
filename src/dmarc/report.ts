import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { checkReportDestinationOptions } from "../options.js";
import { DmarcLookups, type DmarcMode, pslOrgDomain, selectOrgDomain, treeWalk } from "./discover.js";
import { isDmarcRecord } from "./record.js";

export type ReportDestinationCheck =
  | { result: "authorized"; reason: string }
  | { result: "unauthorized"; reason: string }
  | { result: "temperror"; reason: string };

export interface ReportDestinationOptions {
  resolver: Resolver;
  mode?: DmarcMode;
  /** Abandons the check when it aborts: pending DNS queries count as failed (temperror). */
  signal?: AbortSignal;
  /** Milliseconds the whole check may take, all DNS queries together (1 to 2^31-1, MAX_TIMER_MS). Default 10,000. */
  timeoutMs?: number;
}

/**
 * External report destination verification (RFC 7489 7.1, RFC 9989 aggregate reporting): a report
 * for policyDomain may go to a mailto: URI in another organizational domain only if that domain
 * publishes a DMARC record at <policyDomain>._report._dmarc.<destination>. Bounded: the queries run
 * side by side under one deadline (`timeoutMs`) and the caller's `signal`; what did not answer in time
 * is temperror. Unknown options are refused (OptionsError).
 */
export async function verifyReportDestination(
  policyDomain: string,
  uri: string,
  options: ReportDestinationOptions,
): Promise<ReportDestinationCheck> {
  checkReportDestinationOptions(options);
  const m = /^mailto:([^?]+)/i.exec(uri);
  if (!m) return { result: "unauthorized", reason: `only mailto: destinations are checked: ${uri}` };
  let address: string;
  try {
    address = decodeURIComponent(m[1]!);
  } catch {
    // A malformed %-escape (a%E0%A4%A): a result, never a URIError out of the API.
    return { result: "unauthorized", reason: `not a valid mailto: URI (bad percent-encoding): ${uri.slice(0, 200)}` };
  }
  const at = address.lastIndexOf("@");
  const dest = at > 0 ? asciiDomain(address.slice(at + 1)) : undefined;
  const policy = asciiDomain(policyDomain);
  if (!dest || !policy) return { result: "unauthorized", reason: `not a valid address: ${address}` };
  if (dest === policy) return { result: "authorized", reason: `${dest} is in the same organizational domain as ${policy}` };
  const deadline = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const resolver = guardResolver(options.resolver, { signal });
  const lookups = new DmarcLookups(resolver);
  const org = async (d: string): Promise<{ org: string; error?: string }> => {
    if ((options.mode ?? "rfc9989") === "rfc7489") return { org: pslOrgDomain(d) };
    const w = await treeWalk(lookups, d);
    return { org: selectOrgDomain(d, w.found), ...(w.error ? { error: w.error } : {}) };
  };
  // All three side by side: the walks of both domains and the authorization record.
  const name = `${policy}._report._dmarc.${dest}`;
  const [a, b, answer] = await Promise.all([org(dest), org(policy), resolver.txt(name)]);
  if (a.error === undefined && b.error === undefined && a.org === b.org) {
    return { result: "authorized", reason: `${dest} is in the same organizational domain as ${policy}` };
  }
  if (answer.kind === "ok" && answer.records.some(isDmarcRecord)) return { result: "authorized", reason: `${name} authorizes reports` };
  // A walk that failed may have hidden a shared organizational domain: no permanent verdict.
  const walkError = a.error ?? b.error;
  if (walkError !== undefined) return { result: "temperror", reason: `DNS failure finding the organizational domains: ${walkError}` };
  if (answer.kind === "error") return { result: "temperror", reason: `DNS failure looking up ${name}: ${answer.reason}` };
  return { result: "unauthorized", reason: `${dest} has not authorized reports for ${policy} (no v=DMARC1 at ${name})` };
}
