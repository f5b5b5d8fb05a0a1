/**
 * A forwarder that seals with ARC and resends with nodemailer: authenticate the message as it
 * arrived, record the result in an ARC set, and send the raw message on unchanged otherwise. The next
 * receiver can then see that this hop saw DKIM, SPF and DMARC pass before forwarding.
 */
import type { Transporter } from "nodemailer";
import { type AuthenticateOptions, authenticate, type Envelope, sealArc } from "../src/index.js";

export async function forwardWithArc(
  raw: Buffer,
  envelope: Envelope,
  options: {
    to: string[];
    transporter: Transporter;
    domain: string;
    selector: string;
    privateKey: string;
    authservId: string;
    authenticate?: AuthenticateOptions;
  },
) {
  const result = await authenticate(raw, envelope, { authservId: options.authservId, ...options.authenticate });
  const sealed = await sealArc(raw, {
    domain: options.domain,
    selector: options.selector,
    privateKey: options.privateKey,
    authservId: options.authservId,
    authResults: result.headers.authenticationResults,
    chain: result.arc!,
  });
  const message = sealed.sealed ? Buffer.concat([Buffer.from(sealed.headers), raw]) : raw;
  // SRS-style rewriting of the envelope sender is the forwarder's own choice; keep the original here.
  return options.transporter.sendMail({ envelope: { from: envelope.mailFrom ?? "", to: options.to }, raw: message });
}
