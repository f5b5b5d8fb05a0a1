import type { TlsReport } from "../../src/tlsrpt/report.js";

/** A report with an sts policy (one failure kind) and a no-policy-found section. */
export const SAMPLE: TlsReport = {
  organizationName: "Sender Org",
  dateRange: { startDatetime: "2026-11-30T00:00:00Z", endDatetime: "2026-12-01T00:00:00Z" },
  contactInfo: "tlsrpt@example.com",
  reportId: "2026-11-30.example.net.abc@example.com",
  policies: [
    {
      policy: {
        type: "sts",
        string: ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"],
        domain: "example.net",
        mxHost: ["mx.example.net"],
      },
      summary: { totalSuccessfulSessionCount: 10, totalFailureSessionCount: 2 },
      failureDetails: [
        {
          resultType: "certificate-expired",
          sendingMtaIp: "192.0.2.1",
          receivingMxHostname: "mx.example.net",
          receivingIp: "198.51.100.7",
          failedSessionCount: 2,
          failureReasonCode: "CERT_HAS_EXPIRED",
        },
      ],
    },
    {
      policy: { type: "no-policy-found", string: [], domain: "example.net", mxHost: [] },
      summary: { totalSuccessfulSessionCount: 1, totalFailureSessionCount: 0 },
      failureDetails: [],
    },
  ],
};
