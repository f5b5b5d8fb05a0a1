import { describe, expect, it } from "vitest";
import { checkDnsIdentity, classifyTlsError } from "../../src/mtasts/tls.js";

describe("checkDnsIdentity (RFC 8461 3.3, 4.2; RFC 6125 DNS-IDs only)", () => {
  const cases: Array<[string, string | undefined, string, boolean]> = [
    ["an exact DNS-ID", "DNS:mx.example.com", "mx.example.com", true],
    ["case and a trailing dot do not matter", "DNS:MX.Example.com", "mx.example.com.", true],
    ["a wildcard for the whole left-most label", "DNS:*.example.com", "mx.example.com", true],
    ["a wildcard covers one label only", "DNS:*.example.com", "a.mx.example.com", false],
    ["a wildcard does not cover the bare domain", "DNS:*.example.com", "example.com", false],
    ["a partial-label wildcard is not honoured", "DNS:mx*.example.com", "mx1.example.com", false],
    ["one of several names", "DNS:a.example, IP Address:192.0.2.1, DNS:mx.example.com", "mx.example.com", true],
    ["an IP SAN is not a DNS-ID", "IP Address:192.0.2.1", "192.0.2.1", false],
    ["no subjectAltName: the common name is never used", undefined, "mx.example.com", false],
    ["a quoted name with a comma cannot smuggle a second name", 'DNS:"x, DNS:mx.example.com"', "mx.example.com", false],
  ];
  for (const [name, san, host, ok] of cases) {
    it(name, () => {
      const err = checkDnsIdentity(host, san === undefined ? ({ subject: { CN: host } } as never) : { subjectaltname: san });
      if (ok) expect(err).toBeUndefined();
      else expect(err).toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    });
  }
});

describe("classifyTlsError (RFC 8460 4.3.1)", () => {
  const cases: Array<[string, unknown, string]> = [
    ["Node's expired certificate", { code: "CERT_HAS_EXPIRED" }, "certificate-expired"],
    ["nodemailer's wrapped expired certificate", { code: "ESOCKET", originalCode: "CERT_HAS_EXPIRED" }, "certificate-expired"],
    ["a host mismatch", { code: "ESOCKET", originalCode: "ERR_TLS_CERT_ALTNAME_INVALID" }, "certificate-host-mismatch"],
    ["a self-signed certificate", { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }, "certificate-not-trusted"],
    ["an unknown issuer", { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" }, "certificate-not-trusted"],
    ["nodemailer: no STARTTLS", { code: "ETLS", message: "Error upgrading connection with STARTTLS" }, "starttls-not-supported"],
    ["anything else", new Error("socket hang up"), "validation-failure"],
    ["not even an error", "boom", "validation-failure"],
  ];
  for (const [name, err, type] of cases) it(name, () => expect(classifyTlsError(err).resultType).toBe(type));
  it("keeps the code as failure-reason-code", () => {
    expect(classifyTlsError({ code: "ESOCKET", originalCode: "CERT_HAS_EXPIRED" }).failureReasonCode).toBe("CERT_HAS_EXPIRED");
  });
});
