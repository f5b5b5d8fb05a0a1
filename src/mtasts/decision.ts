import { ArgumentError } from "../errors.js";
import type { NextHop } from "../mx/next-hop.js";
import { checkOptionKeys } from "../options.js";
import type { Reply } from "../smtp/reply.js";
import type { StsPolicyLookup } from "./client.js";
import { mxMatches } from "./policy.js";
import { checkDnsIdentity } from "./tls.js";

/** What MTA-STS asks of one candidate MX host. */
export interface StsHostDecision {
  /** The MX host name (lower case, no trailing dot). */
  host: string;
  /** The policy pattern it matches; undefined when it matches none (or there is no policy). */
  pattern?: string;
  /** May the message go to this host? False only under `enforce` for a host outside the policy (RFC 8461 5). */
  allowed: boolean;
  /**
   * `require`: STARTTLS with a certificate that chains to a trusted root, is unexpired and names `host`
   * (RFC 8461 4.2) or no delivery (enforce). `report`: try that, and on failure deliver anyway and record
   * it (testing). `none`: MTA-STS asks nothing.
   */
  tls: "require" | "report" | "none";
  /** The name the certificate must be valid for, also sent as SNI (RFC 8461 7.1): the MX host. */
  certificateName?: string;
  /** Why the host fails the policy (for the TLS report), when it does. */
  failure?: { resultType: "validation-failure"; failureReasonCode: string };
}

export interface StsDecision {
  domain: string;
  /** The applied mode; "none" also when the domain has no policy. */
  mode: "enforce" | "testing" | "none";
  lookup: StsPolicyLookup;
  /** Every candidate, in the order given (MX preference order from the next-hop module). */
  hosts: StsHostDecision[];
  /** The hosts that may be tried, in order. */
  allowedHosts: string[];
  /**
   * Set under `enforce` when no candidate is allowed: a temporary failure, since a message must not
   * fail permanently before the policy has been checked again (RFC 8461 5, 5.1 step 3).
   */
  reply?: Reply;
}

const clean = (h: string) => h.toLowerCase().replace(/\.$/, "");

/**
 * Applies a policy lookup to a domain's MX hosts (RFC 8461 4, 5). Pass the hosts from
 * `resolveNextHop()` (a NextHop of kind "hosts") or their names in preference order.
 */
export function decideDelivery(lookup: StsPolicyLookup, mx: NextHop | readonly string[]): StsDecision {
  const names = Array.isArray(mx)
    ? (mx as readonly string[]).map(clean)
    : (mx as NextHop).kind === "hosts"
      ? (mx as Extract<NextHop, { kind: "hosts" }>).hosts.map((h) => clean(h.exchange))
      : [];
  const mode = lookup.kind === "policy" ? lookup.policy.mode : "none";
  const hosts: StsHostDecision[] = names.map((host) => {
    if (lookup.kind !== "policy" || mode === "none") return { host, allowed: true, tls: "none" };
    const pattern = lookup.policy.mx.find((p) => mxMatches(p, host));
    const base: StsHostDecision = { host, allowed: true, tls: mode === "enforce" ? "require" : "report", certificateName: host };
    if (pattern !== undefined) return { ...base, pattern };
    const failure = { resultType: "validation-failure" as const, failureReasonCode: "mx-not-in-policy" };
    // RFC 8461 5: enforce must not deliver to a host that fails MX matching; testing delivers and reports.
    return mode === "enforce" ? { host, allowed: false, tls: "require", certificateName: host, failure } : { ...base, failure };
  });
  const allowedHosts = hosts.filter((h) => h.allowed).map((h) => h.host);
  const decision: StsDecision = { domain: lookup.domain, mode, lookup, hosts, allowedHosts };
  if (mode === "enforce" && allowedHosts.length === 0) {
    decision.reply = {
      code: 451,
      enhanced: "4.7.5",
      lines: [`MTA-STS policy of ${lookup.domain} allows none of its MX hosts (${names.join(", ") || "none"}); will retry`],
    };
  }
  return decision;
}

/** Connection options for nodemailer's SMTP transport (and the `tls` part for `tls.connect`). */
export interface StsTransportOptions {
  /** nodemailer: fail unless STARTTLS succeeds. */
  requireTLS: boolean;
  /** nodemailer: never skip STARTTLS when offered. */
  ignoreTLS: false;
  /** nodemailer: go on without TLS when STARTTLS fails (only under `report`). */
  opportunisticTLS?: true;
  tls: {
    servername: string;
    minVersion: "TLSv1.2";
    rejectUnauthorized: boolean;
    checkServerIdentity?: (host: string, cert: import("node:tls").PeerCertificate) => Error | undefined;
    ca?: string | Buffer | Array<string | Buffer>;
  };
}

/**
 * The TLS settings one host's decision asks for (RFC 8461 4.2, 7.1, 7.2): SNI set to the MX host, TLS
 * 1.2 or later; under `require` STARTTLS is mandatory, the chain must verify and the certificate must
 * name the MX host by DNS-ID. Under `report` TLS is used when offered and not enforced: check the
 * socket yourself (or read nodemailer's error) and record the outcome. Throws ArgumentError for a host the
 * decision does not allow (a programming error: filter by `allowed` first).
 */
export function stsTransportOptions(
  host: StsHostDecision,
  extra: { ca?: string | Buffer | Array<string | Buffer> } = {},
): StsTransportOptions {
  if (!host || typeof host.host !== "string") throw new ArgumentError("stsTransportOptions: pass one entry of decision.hosts");
  checkOptionKeys(extra, ["ca"], "options", (key) => `stsTransportOptions: unknown option "${key}"`);
  if (!host.allowed) throw new ArgumentError(`stsTransportOptions: MTA-STS does not allow delivery to ${host.host}`);
  const name = host.certificateName ?? host.host;
  const ca = extra.ca !== undefined ? { ca: extra.ca } : {};
  if (host.tls === "require") {
    return {
      requireTLS: true,
      ignoreTLS: false,
      tls: {
        servername: name,
        minVersion: "TLSv1.2",
        rejectUnauthorized: true,
        checkServerIdentity: (_h, cert) => checkDnsIdentity(name, cert),
        ...ca,
      },
    };
  }
  // testing: as though MTA-STS had not failed, so a failed STARTTLS falls back to plain text
  return {
    requireTLS: false,
    ignoreTLS: false,
    opportunisticTLS: true,
    tls: { servername: name, minVersion: "TLSv1.2", rejectUnauthorized: false, ...ca },
  };
}
