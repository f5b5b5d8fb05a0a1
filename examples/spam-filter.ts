/**
 * A spam filter that runs after the MTA: it reads a stored message, believes only the
 * Authentication-Results written by its own MTAs (anything else in the message may be forged), and
 * re-verifies what it can without the SMTP session: DKIM and ARC.
 */
import { type Resolver, splitMessage, trustedAuthResults, verifyArc, verifyDkim } from "../src/index.js";

export interface FilterReport {
  /** Results our own MTAs recorded: method to result. */
  recorded: Record<string, string>;
  /** DKIM verified again now: d= to result. */
  dkimNow: Record<string, string>;
  arcNow: string;
  /** Results from other authserv-ids that were ignored (possibly forged). */
  ignored: number;
}

export async function recheck(message: Buffer, options: { trustedAuthservIds: string[]; resolver: Resolver }): Promise<FilterReport> {
  const { headers } = splitMessage(message);
  const trusted = trustedAuthResults(headers, options.trustedAuthservIds);
  const all = headers.filter((h) => h.key === "authentication-results").length;
  const recorded: Record<string, string> = {};
  for (const ar of trusted) for (const r of ar.results) recorded[r.method] ??= r.result;
  const dkimNow: Record<string, string> = {};
  for (const d of await verifyDkim(message, { resolver: options.resolver })) dkimNow[d.domain] ??= d.result;
  const arc = await verifyArc(message, { resolver: options.resolver });
  return { recorded, dkimNow, arcNow: arc.result, ignored: all - trusted.length };
}
