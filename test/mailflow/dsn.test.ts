import { describe, expect, it } from "vitest";
import { buildDsn, parseDsn, splitMessage } from "../../src/index.js";
import { fixture } from "../helpers/keys.js";

const original = fixture("messages/sample.eml");
const base = {
  reportingMta: "mx.example.org",
  envelope: { mailFrom: "alice@example.com", envid: "QQ314159" },
  original,
  arrivalDate: new Date("2026-11-20T10:00:00Z"),
  now: () => Date.parse("2026-11-20T10:05:00Z"),
  boundary: "BOUNDARY",
  messageId: "dsn-1@mx.example.org",
};

describe("building DSNs (RFC 3464)", () => {
  it("a failed recipient: multipart/report with the remote reply, the header of the original, readable by parseDsn", () => {
    const r = buildDsn({
      ...base,
      recipients: [
        {
          address: "bob@example.org",
          originalRecipient: "bob@example.org",
          action: "failed",
          status: "5.1.1",
          reply: { code: 550, enhanced: "5.1.1", lines: ["User unknown"] },
          remoteMta: "mx.example.org",
          lastAttempt: new Date("2026-11-20T10:04:00Z"),
        },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.to).toBe("alice@example.com");
    const text = r.message.toString();
    expect(text).toContain("Content-Type: multipart/report; report-type=delivery-status;");
    expect(text).toContain("Auto-Submitted: auto-replied");
    expect(text).toContain("Subject: Undelivered Mail Returned to Sender");
    expect(text).toContain("Content-Type: text/rfc822-headers");
    expect(text).not.toContain("Shall we have lunch"); // headers only by default
    const parsed = parseDsn(r.message);
    expect(parsed).toMatchObject({
      ok: true,
      dsn: {
        reportingMta: "mx.example.org",
        originalEnvelopeId: "QQ314159",
        arrivalDate: "Fri, 20 Nov 2026 10:00:00 +0000",
        recipients: [
          {
            finalRecipient: "bob@example.org",
            originalRecipient: "bob@example.org",
            action: "failed",
            status: "5.1.1",
            remoteMta: "mx.example.org",
            diagnosticCode: "550 5.1.1 User unknown",
          },
        ],
      },
    });
    if (parsed.ok) expect(parsed.dsn.originalHeaders?.some((h) => h.key === "message-id")).toBe(true);
  });

  it("RET=FULL returns the whole message as message/rfc822", () => {
    const r = buildDsn({
      ...base,
      envelope: { ...base.envelope, ret: "FULL" },
      recipients: [{ address: "b@example.org", action: "failed", status: "5.2.2" }],
    });
    expect(r.ok && r.message.toString()).toMatch(/Content-Type: message\/rfc822[\s\S]*Shall we have lunch/);
  });

  it("never bounces to the null sender", () => {
    expect(
      buildDsn({ ...base, envelope: { mailFrom: "<>" }, recipients: [{ address: "b@example.org", action: "failed", status: "5.1.1" }] }),
    ).toEqual({
      ok: false,
      reason: "the original sender is null (<>): no report is sent (RFC 5321 4.5.5)",
    });
  });

  it("a delayed report says so; a bad status code is refused", () => {
    const d = buildDsn({
      ...base,
      recipients: [{ address: "b@example.org", action: "delayed", status: "4.4.1", retryUntil: new Date("2026-11-25T10:00:00Z") }],
    });
    expect(d.ok && d.message.toString()).toMatch(/Subject: Delayed Mail[\s\S]*Will-Retry-Until: Wed, 25 Nov 2026 10:00:00 \+0000/);
    expect(buildDsn({ ...base, recipients: [{ address: "b@example.org", action: "failed", status: "550" }] }).ok).toBe(false);
  });

  it("remote reply text cannot add header fields or lines to the report", () => {
    const r = buildDsn({
      ...base,
      recipients: [
        {
          address: "b@example.org",
          action: "failed",
          status: "5.0.0",
          reply: { code: 550, lines: ["evil\r\nX-Injected: yes", "\u0000more"] },
        },
      ],
    });
    expect(r.ok && r.message.toString()).not.toMatch(/\r\nX-Injected/);
    const parsed = r.ok ? parseDsn(r.message) : undefined;
    expect(parsed?.ok && parsed.dsn.recipients[0]!.diagnosticCode).toBe("550 evil X-Injected: yes more");
  });
});

describe("parsing DSNs", () => {
  const postfix = [
    "From: MAILER-DAEMON@mail.example.net (Mail Delivery System)",
    "Subject: Undelivered Mail Returned to Sender",
    "To: alice@example.com",
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    "Content-Type: multipart/report; report-type=delivery-status;",
    '\tboundary="4A2F1C0A1.1700000000/mail.example.net"',
    "",
    "This is a MIME-encapsulated message.",
    "",
    "--4A2F1C0A1.1700000000/mail.example.net",
    "Content-Description: Notification",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "I'm sorry to have to inform you that your message could not be delivered.",
    "",
    "--4A2F1C0A1.1700000000/mail.example.net",
    "Content-Description: Delivery report",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; mail.example.net",
    "X-Postfix-Queue-ID: 4A2F1C0A1",
    "Arrival-Date: Mon, 13 Nov 2023 10:00:00 +0000 (UTC)",
    "",
    "Final-Recipient: rfc822; nobody@example.org",
    "Original-Recipient: rfc822;nobody@example.org",
    "Action: failed",
    "Status: 5.1.1",
    "Remote-MTA: dns; mx.example.org",
    "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address",
    "    rejected: User unknown in local recipient table",
    "",
    "Final-Recipient: rfc822; later@example.org",
    "Action: delayed",
    "Status: 4.4.1",
    "",
    "--4A2F1C0A1.1700000000/mail.example.net",
    "Content-Description: Undelivered Message Headers",
    "Content-Type: text/rfc822-headers",
    "",
    "From: alice@example.com",
    "Subject: hello",
    "",
    "--4A2F1C0A1.1700000000/mail.example.net--",
    "",
  ].join("\n");

  it("reads a Postfix bounce (LF line ends, folded diagnostic)", () => {
    const r = parseDsn(postfix);
    expect(r).toMatchObject({
      ok: true,
      dsn: {
        reportingMta: "mail.example.net",
        recipients: [
          {
            finalRecipient: "nobody@example.org",
            action: "failed",
            status: "5.1.1",
            diagnosticCode: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in local recipient table",
          },
          { finalRecipient: "later@example.org", action: "delayed", status: "4.4.1" },
        ],
      },
    });
    expect(r.ok && r.dsn.originalHeaders?.map((h) => h.name)).toEqual(["From", "Subject"]);
  });

  const notDsn: Array<[string, string]> = [
    ["a plain message", "Subject: x\r\n\r\nbody"],
    ["multipart/mixed", 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n'],
    [
      "a report with no status part",
      'Content-Type: multipart/report; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n',
    ],
    ["no boundary", "Content-Type: multipart/report\r\n\r\nx"],
  ];
  for (const [name, text] of notDsn) it(`${name} is not a DSN`, () => expect(parseDsn(text).ok).toBe(false));

  it("hostile input never throws", () => {
    for (const text of [
      "",
      "Content-Type: multipart/report; boundary=",
      `Content-Type: multipart/report; boundary="${"a".repeat(10_000)}"\r\n\r\n${"--a".repeat(100_000)}`,
      'Content-Type: multipart/report; boundary="x"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n\r\n\r\n--x--',
    ]) {
      expect(typeof parseDsn(text).ok).toBe("boolean");
    }
    expect(splitMessage(Buffer.from("")).headers).toEqual([]);
  });
});
