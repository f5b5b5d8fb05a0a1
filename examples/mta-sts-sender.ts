/**
 * A sending app that honours MTA-STS (RFC 8461) and records TLS-RPT outcomes (RFC 8460): find the
 * MX hosts, apply the recipient domain's policy, connect with nodemailer using the TLS settings the
 * policy asks for, and count each session for the daily report.
 *
 *   const sts = new MtaSts({ resolver, fetch: createNodePolicyFetcher() });
 *   const recorder = new TlsRptRecorder({ store: new MemoryStateStore() });
 *   const result = await sendWithMtaSts({ from: "app@example.com", to: "bob@example.net", subject: "Hi", text: "Hello" },
 *     { resolver, sts, recorder, helo: "mail.example.com" });
 *   if (!result.delivered) queueForRetry(result.reply); // 4xx: an enforce policy never fails mail permanently
 */
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import {
  classifyTlsError,
  decideDelivery,
  type MtaSts,
  type Reply,
  type Resolver,
  reportPolicyFor,
  resolveNextHop,
  stsTransportOptions,
  type TlsRptRecorder,
  type TlsSessionFailure,
} from "../src/index.js";

export interface MtaStsSenderDeps {
  resolver: Resolver;
  sts: MtaSts;
  recorder: TlsRptRecorder;
  /** The EHLO name. */
  helo: string;
  /** Where to connect for an MX host; default the host itself on port 25. Tests map hosts to local ports. */
  connectTo?: (mxHost: string) => { host: string; port: number };
  /** Trust anchors for tests; production uses the system's. */
  ca?: string;
}

export interface MtaStsSendResult {
  delivered: boolean;
  /** The MX host that took the message. */
  host?: string;
  /** Why each host was skipped or failed. */
  errors: string[];
  /** When nothing was delivered: the reply for the queue (temporary under enforce). */
  reply?: Reply;
}

export async function sendWithMtaSts(
  mail: { from: string; to: string; subject: string; text: string },
  deps: MtaStsSenderDeps,
): Promise<MtaStsSendResult> {
  const domain = mail.to.slice(mail.to.lastIndexOf("@") + 1);
  const hop = await resolveNextHop(domain, { resolver: deps.resolver });
  if (hop.kind !== "hosts") return { delivered: false, errors: [hop.kind], reply: hop.reply };
  const lookup = await deps.sts.policy(hop.domain);
  const decision = decideDelivery(lookup, hop);
  const policy = reportPolicyFor(lookup);
  const policyDomain = hop.domain;
  const errors: string[] = [];
  // RFC 8461 6: a policy that could not be refreshed is worth a report (unless its mode is none)
  if (lookup.kind === "none" && lookup.failure)
    await deps.recorder.record({
      policyDomain,
      policy,
      failures: [{ resultType: lookup.failure.resultType, failureReasonCode: lookup.failure.reason.slice(0, 200) }],
    });
  for (const host of decision.hosts) {
    if (!host.allowed) {
      // enforce: an MX outside the policy is never contacted
      errors.push(`${host.host}: not in the MTA-STS policy`);
      await deps.recorder.record({ policyDomain, policy, failures: [{ ...host.failure!, receivingMxHostname: host.host }] });
      continue;
    }
    const target = deps.connectTo?.(host.host) ?? { host: host.host, port: 25 };
    const ca = deps.ca ? { ca: deps.ca } : {};
    // testing: try validated TLS first and report a failure, then deliver over unvalidated TLS
    const tries =
      host.tls === "report"
        ? [stsTransportOptions({ ...host, tls: "require" }, ca), stsTransportOptions(host, ca)]
        : [stsTransportOptions(host, ca)];
    const failures: TlsSessionFailure[] = host.failure ? [{ ...host.failure, receivingMxHostname: host.host }] : [];
    let recorded = false;
    const record = async (extra: TlsSessionFailure[] = []) => {
      if (recorded) return;
      recorded = true;
      const all = [...failures, ...extra];
      await deps.recorder.record({ policyDomain, policy, ...(all.length ? { failures: all } : {}) });
    };
    for (const tls of tries) {
      const options: SMTPTransport.Options = { host: target.host, port: target.port, name: deps.helo, ...tls };
      const transport = nodemailer.createTransport(options);
      try {
        await transport.sendMail(mail);
        await record();
        return { delivered: true, host: host.host, errors };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "EENVELOPE" || code === "EMESSAGE") {
          // TLS was negotiated; the server refused the message itself: not a TLS failure
          await record();
          const response = String((err as { response?: string }).response ?? (err as Error).message);
          return { delivered: false, host: host.host, errors: [...errors, `${host.host}: ${response}`] };
        }
        if (code === "ECONNECTION" || code === "ETIMEDOUT" || code === "EDNS") {
          // RFC 8460 4.3.4: transient network errors need not be reported
          errors.push(`${host.host}: ${code}`);
          break;
        }
        const failure = classifyTlsError(err);
        errors.push(`${host.host}: ${failure.resultType}`);
        await record([{ ...failure, receivingMxHostname: host.host }]);
      } finally {
        transport.close();
      }
    }
  }
  return {
    delivered: false,
    errors,
    reply: decision.reply ?? { code: 451, enhanced: "4.4.1", lines: [`No MX host of ${domain} accepted the message`] },
  };
}
