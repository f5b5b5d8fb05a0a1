import { guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { asciiDomain } from "../message/address.js";
import { DmarcLookups, type DmarcMode, pslOrgDomain, selectOrgDomain, treeWalk } from "./discover.js";
import { isDmarcRecord } from "./record.js";

export type ReportDestinationCheck =
  | { result: "authorized"; reason: string }
  | { result: "unauthorized"; reason: string }
  | { result: "temperror"; reason: string };

/**
 * External report destination verification (RFC 7489 7.1, RFC 9989 aggregate reporting): a report
 * for policyDomain may go to a mailto: URI in another organizational domain only if that domain
 * publishes a DMARC record at <policyDomain>._report._dmarc.<destination>.
 */
export async function verifyReportDestination(
  policyDomain: string,
  uri: string,
  options: { resolver: Resolver; mode?: DmarcMode },
): Promise<ReportDestinationCheck> {
  const m = /^mailto:([^?]+)/i.exec(uri);
  if (!m) return { result: "unauthorized", reason: `only mailto: destinations are checked: ${uri}` };
  const address = decodeURIComponent(m[1]!);
  const at = address.lastIndexOf("@");
  const dest = at > 0 ? asciiDomain(address.slice(at + 1)) : undefined;
  const policy = asciiDomain(policyDomain);
  if (!dest || !policy) return { result: "unauthorized", reason: `not a valid address: ${address}` };
  const resolver = guardResolver(options.resolver);
  const lookups = new DmarcLookups(resolver);
  const org = async (d: string) => {
    if ((options.mode ?? "rfc9989") === "rfc7489") return pslOrgDomain(d);
    const w = await treeWalk(lookups, d);
    return selectOrgDomain(d, w.found);
  };
  if (dest === policy || (await org(dest)) === (await org(policy))) {
    return { result: "authorized", reason: `${dest} is in the same organizational domain as ${policy}` };
  }
  const name = `${policy}._report._dmarc.${dest}`;
  const answer = await resolver.txt(name);
  if (answer.kind === "error") return { result: "temperror", reason: `DNS failure looking up ${name}: ${answer.reason}` };
  if (answer.kind === "ok" && answer.records.some(isDmarcRecord)) return { result: "authorized", reason: `${name} authorizes reports` };
  return { result: "unauthorized", reason: `${dest} has not authorized reports for ${policy} (no v=DMARC1 at ${name})` };
}
