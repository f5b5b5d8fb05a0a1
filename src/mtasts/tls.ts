import type { PeerCertificate } from "node:tls";
import { describeError } from "../errors.js";
import { mxMatches } from "./policy.js";

/** RFC 8460 4.3.1 negotiation failure types. */
export type TlsNegotiationFailure =
  | "starttls-not-supported"
  | "certificate-host-mismatch"
  | "certificate-expired"
  | "certificate-not-trusted"
  | "validation-failure";

/** The DNS-IDs (subjectAltName dNSName entries) of a certificate, lower case. */
export function dnsIds(cert: Pick<PeerCertificate, "subjectaltname"> | undefined): string[] {
  const san = cert?.subjectaltname;
  if (typeof san !== "string" || san === "") return [];
  const out: string[] = [];
  for (const entry of san.split(", ")) if (entry.startsWith("DNS:")) out.push(entry.slice(4).toLowerCase());
  return out;
}

/**
 * Whether a certificate is valid for `host` by DNS-ID only (RFC 8461 3.3 and 4.2, RFC 6125): a
 * subjectAltName dNSName equal to the host, or `*.` standing for its whole left-most label. The subject
 * common name is never used. Returns an Error (code ERR_TLS_CERT_ALTNAME_INVALID) or undefined, the
 * contract of Node's `checkServerIdentity`.
 */
export function checkDnsIdentity(host: string, cert: Pick<PeerCertificate, "subjectaltname"> | undefined): Error | undefined {
  const ids = dnsIds(cert);
  const name = host.toLowerCase().replace(/\.$/, "");
  for (const id of ids) {
    if (id.startsWith("*.") ? id.indexOf("*", 1) < 0 && mxMatches(id, name) : id === name) return undefined;
  }
  const err = new Error(
    ids.length === 0
      ? `the certificate has no DNS subjectAltName (the common name is not used): not valid for ${name}`
      : `the certificate is not valid for ${name} (it names ${ids.slice(0, 5).join(", ")})`,
  ) as Error & { code: string; host: string };
  err.code = "ERR_TLS_CERT_ALTNAME_INVALID";
  err.host = name;
  return err;
}

const NOT_TRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
]);

/** Node's certificate verification error codes (from OpenSSL) and msgauth's identity check. */
export function isCertificateErrorCode(code: string | undefined): boolean {
  return (
    code !== undefined &&
    (NOT_TRUSTED.has(code) || code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID" || code === "ERR_TLS_CERT_ALTNAME_INVALID")
  );
}

/**
 * The RFC 8460 result type for an error from a TLS (or STARTTLS) connection attempt, with the reason
 * code to put in `failure-reason-code`. Nodemailer's "no STARTTLS" error and Node/OpenSSL codes are
 * recognised; anything else is `validation-failure`.
 */
export function classifyTlsError(err: unknown): { resultType: TlsNegotiationFailure; failureReasonCode: string } {
  const e = err as { code?: unknown; originalCode?: unknown; message?: unknown } | undefined;
  // nodemailer wraps socket errors (code ESOCKET) and keeps Node's code as originalCode
  const original = typeof e?.originalCode === "string" ? e.originalCode : undefined;
  const own = typeof e?.code === "string" ? e.code : undefined;
  const code = original ?? own;
  const message = describeError(err);
  if (code === "CERT_HAS_EXPIRED") return { resultType: "certificate-expired", failureReasonCode: code };
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return { resultType: "certificate-host-mismatch", failureReasonCode: code };
  if (code !== undefined && NOT_TRUSTED.has(code)) return { resultType: "certificate-not-trusted", failureReasonCode: code };
  // nodemailer with requireTLS: ETLS when the server does not offer or refuses STARTTLS
  if (own === "ETLS" || (/STARTTLS/.test(message) && /\b(not|no|missing|unsupported|recognized)\b/i.test(message)))
    return { resultType: "starttls-not-supported", failureReasonCode: own ?? "STARTTLS" };
  return { resultType: "validation-failure", failureReasonCode: code ?? message.slice(0, 200) };
}
