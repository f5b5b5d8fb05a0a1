import type { ArcResult } from "../arc/verify.js";
import type { DkimResult } from "../dkim/verify.js";
import type { DmarcResult } from "../dmarc/evaluate.js";
import type { IprevResult } from "../iprev/check.js";
import type { SpfResult } from "../spf/check.js";
import type { AuthResEntry } from "./write.js";

/** spf=... with smtp.mailfrom (or smtp.helo for the null sender), RFC 8601 2.7.2. */
export function spfEntry(spf: SpfResult): AuthResEntry {
  const props =
    spf.identity === "mailfrom"
      ? [{ ptype: "smtp", property: "mailfrom", value: spf.sender }]
      : [{ ptype: "smtp", property: "helo", value: spf.helo || spf.domain }];
  // Each entry is made whole, its keys in the order method, result, props, comment, reason: a
  // property added after creation costs a new backing store each time.
  if (spf.result === "pass" || spf.result === "fail" || spf.result === "softfail" || spf.result === "neutral") {
    const comment = `${spf.domain}: ${spf.result === "pass" ? "" : "does not "}designate${spf.result === "pass" ? "s" : ""} ${spf.ip} as permitted sender`;
    return { method: "spf", result: spf.result, props, comment };
  }
  return { method: "spf", result: spf.result, props, reason: spf.reason };
}

/** dkim=... with header.d, header.i, header.s, header.a and header.b (first 8 characters, RFC 6008). */
export function dkimEntry(r: DkimResult): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.domain) props.push({ ptype: "header", property: "d", value: r.domain });
  if (r.identity) props.push({ ptype: "header", property: "i", value: r.identity });
  if (r.selector) props.push({ ptype: "header", property: "s", value: r.selector });
  if (r.algorithm) props.push({ ptype: "header", property: "a", value: r.algorithm });
  if (r.signature) props.push({ ptype: "header", property: "b", value: r.signature.slice(0, 8) });
  let comment = r.keyBits === undefined ? undefined : keyComment(r.keyBits, r.algorithm?.startsWith("ed25519") === true, r.testing);
  // A filter must know that the tail of the body is not authenticated (RFC 6376 8.2).
  if (r.unsignedBodyBytes !== undefined) {
    const note = `l= leaves ${r.unsignedBodyBytes} body bytes unsigned`;
    comment = comment === undefined ? note : `${comment}; ${note}`;
  }
  if (r.result === "pass")
    return comment === undefined ? { method: "dkim", result: r.result, props } : { method: "dkim", result: r.result, props, comment };
  return comment === undefined
    ? { method: "dkim", result: r.result, props, reason: r.reason }
    : { method: "dkim", result: r.result, props, comment, reason: r.reason };
}

/**
 * "2048-bit RSA key": a constant for the usual sizes, which formatAuthResults checks in a few
 * nanoseconds, where a string joined here anew each time is a cons string it must flatten first.
 */
function keyComment(bits: number, ed: boolean, testing: boolean): string {
  if (!testing)
    if (ed) {
      if (bits === 256) return "256-bit Ed25519 key";
    } else
      switch (bits) {
        case 1024:
          return "1024-bit RSA key";
        case 2048:
          return "2048-bit RSA key";
        case 3072:
          return "3072-bit RSA key";
        case 4096:
          return "4096-bit RSA key";
      }
  return `${bits}-bit ${ed ? "Ed25519" : "RSA"} key${testing ? ", testing" : ""}`;
}

/**
 * The dkim entries of one message: "dkim=none" without signatures; one entry a signature for the
 * first `listed`; the signatures past them (left unchecked by maxSignatures) summarized in one
 * "dkim=neutral" entry saying how many, so that a message with thousands of DKIM-Signature fields
 * cannot make the Authentication-Results field grow with them.
 */
export function dkimEntries(results: readonly DkimResult[], listed: number): AuthResEntry[] {
  if (results.length === 0) return [{ method: "dkim", result: "none", props: [] }];
  const entries = (results.length > listed ? results.slice(0, listed) : results).map(dkimEntry);
  const rest = results.length - listed;
  if (rest > 0)
    entries.push({
      method: "dkim",
      result: "neutral",
      comment: `${rest} more DKIM signature${rest === 1 ? "" : "s"} not listed`,
      reason: `not checked: more than ${listed} signatures`,
      props: [],
    });
  return entries;
}

/** dmarc=... with header.from and policy.dmarc (the disposition), RFC 9989 IANA registrations. */
export function dmarcEntry(r: DmarcResult): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.fromDomain) props.push({ ptype: "header", property: "from", value: r.fromDomain });
  if (r.record) props.push({ ptype: "policy", property: "dmarc", value: r.disposition });
  const record = r.record;
  let comment: string | undefined;
  if (record && !record.sp && !r.testing && (!r.policyDomain || r.policyDomain === r.fromDomain)) {
    comment = policyComment(record.p ?? "none", r.disposition);
  } else if (record) {
    comment = `p=${record.p ?? "none"}`;
    if (record.sp) comment += ` sp=${record.sp}`;
    if (r.policyDomain && r.policyDomain !== r.fromDomain) comment += ` from ${r.policyDomain}`;
    if (r.testing) comment += " t=y";
    comment = `${comment} dis=${r.disposition}`;
  }
  if (r.result === "pass" || r.result === "none")
    return comment === undefined ? { method: "dmarc", result: r.result, props } : { method: "dmarc", result: r.result, props, comment };
  return comment === undefined
    ? { method: "dmarc", result: r.result, props, reason: r.reason }
    : { method: "dmarc", result: r.result, props, comment, reason: r.reason };
}

/** `p=${p} dis=${disposition}`, a constant for each pair of policies (see keyComment). */
function policyComment(p: string, disposition: string): string {
  switch (p) {
    case "none":
      if (disposition === "none") return "p=none dis=none";
      break;
    case "quarantine":
      if (disposition === "none") return "p=quarantine dis=none";
      if (disposition === "quarantine") return "p=quarantine dis=quarantine";
      break;
    case "reject":
      if (disposition === "none") return "p=reject dis=none";
      if (disposition === "quarantine") return "p=reject dis=quarantine";
      if (disposition === "reject") return "p=reject dis=reject";
      break;
  }
  return `p=${p} dis=${disposition}`;
}

/** arc=... with header.oldest-pass and smtp.remote-ip (RFC 8617 10.2 registrations). */
export function arcEntry(r: ArcResult, remoteIp?: string): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.result === "pass" && r.oldestPass !== undefined)
    props.push({ ptype: "header", property: "oldest-pass", value: String(r.oldestPass) });
  if (remoteIp && r.instances > 0) props.push({ ptype: "smtp", property: "remote-ip", value: remoteIp });
  const comment =
    r.instances > 0 ? `i=${r.instances}${r.sets.length ? ` sealed by ${r.sets.map((s) => s.sealer).join(", ")}` : ""}` : undefined;
  if (r.result !== "fail")
    return comment === undefined ? { method: "arc", result: r.result, props } : { method: "arc", result: r.result, props, comment };
  return comment === undefined
    ? { method: "arc", result: r.result, props, reason: r.reason }
    : { method: "arc", result: r.result, props, comment, reason: r.reason };
}

/** iprev=... with policy.iprev (the client address) and the confirmed name as a comment (RFC 8601 2.7.3). */
export function iprevEntry(r: IprevResult): AuthResEntry {
  const props = [{ ptype: "policy", property: "iprev", value: r.ip }];
  return r.name
    ? { method: "iprev", result: r.result, props, comment: r.name }
    : { method: "iprev", result: r.result, props, reason: r.reason };
}
