import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OptionsError } from "../../src/errors.js";
import { envelopeFromMessage, type ParsedReceived, parseReceived } from "../../src/message/received.js";

const cases: Array<[string, string, ParsedReceived]> = [
  [
    "Postfix with reverse DNS",
    "from mail.example.com (mail.example.com [192.0.2.1])\r\n\tby mx.example.org (Postfix) with ESMTPS id 4ABC\r\n\tfor <bob@example.org>; Fri, 20 Nov 2026 10:00:00 +0000 (UTC)",
    {
      helo: "mail.example.com",
      ip: "192.0.2.1",
      reverseName: "mail.example.com",
      by: "mx.example.org",
      with: "ESMTPS",
      id: "4ABC",
      for: "bob@example.org",
      date: "Fri, 20 Nov 2026 10:00:00 +0000 (UTC)",
    },
  ],
  [
    "Postfix without reverse DNS (unknown)",
    "from helo.example (unknown [198.51.100.7]) by mx.example.org (Postfix) with ESMTP id X1; Fri, 20 Nov 2026 10:00:00 +0000",
    { helo: "helo.example", ip: "198.51.100.7", by: "mx.example.org", with: "ESMTP", id: "X1", date: "Fri, 20 Nov 2026 10:00:00 +0000" },
  ],
  [
    "Sendmail, IPv6 literal and a nested comment",
    "from client.example (host.example.net [IPv6:2001:DB8:0:0::25] (may be forged)) by mx.example.org (8.17.1/8.17.1) with ESMTP id 5K; Fri, 20 Nov 2026 10:00:00 +0000",
    {
      helo: "client.example",
      ip: "2001:db8::25",
      reverseName: "host.example.net",
      by: "mx.example.org",
      with: "ESMTP",
      id: "5K",
      date: "Fri, 20 Nov 2026 10:00:00 +0000",
    },
  ],
  [
    "Exim without reverse DNS: from [ip] (helo=name)",
    "from [203.0.113.9] (helo=claimed.example)\r\n\tby mx.example.org with esmtp (Exim 4.97)\r\n\t(envelope-from <alice@example.com>)\r\n\tid 1abc-000\r\n\tfor bob@example.org; Fri, 20 Nov 2026 10:00:00 +0000",
    {
      helo: "claimed.example",
      ip: "203.0.113.9",
      by: "mx.example.org",
      with: "esmtp",
      id: "1abc-000",
      for: "bob@example.org",
      envelopeFrom: "alice@example.com",
      date: "Fri, 20 Nov 2026 10:00:00 +0000",
    },
  ],
  [
    "Exim with reverse DNS: from name ([ip] helo=name)",
    "from host.example.net ([203.0.113.9] helo=claimed.example) by mx.example.org with esmtps; Fri, 20 Nov 2026 10:00:00 +0000",
    {
      helo: "claimed.example",
      ip: "203.0.113.9",
      reverseName: "host.example.net",
      by: "mx.example.org",
      with: "esmtps",
      date: "Fri, 20 Nov 2026 10:00:00 +0000",
    },
  ],
  [
    "Gmail: reverse name with a trailing dot",
    "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with SMTPS id a1; Fri, 20 Nov 2026 10:00:00 -0800 (PST)",
    {
      helo: "mail-sor-f41.google.com",
      ip: "209.85.220.41",
      reverseName: "mail-sor-f41.google.com",
      by: "mx.google.com",
      with: "SMTPS",
      id: "a1",
      date: "Fri, 20 Nov 2026 10:00:00 -0800 (PST)",
    },
  ],
  [
    "a HELO address literal is the HELO, never the client address",
    "from [192.0.2.99] (host.example.net [198.51.100.1]) by mx.example.org with ESMTP; Fri, 20 Nov 2026 10:00:00 +0000",
    {
      helo: "[192.0.2.99]",
      ip: "198.51.100.1",
      reverseName: "host.example.net",
      by: "mx.example.org",
      with: "ESMTP",
      date: "Fri, 20 Nov 2026 10:00:00 +0000",
    },
  ],
  [
    "no TCP-info: no address (never guessed from the HELO name)",
    "from claimed.example by mx.example.org with SMTP; Fri, 20 Nov 2026 10:00:00 +0000",
    { helo: "claimed.example", by: "mx.example.org", with: "SMTP", date: "Fri, 20 Nov 2026 10:00:00 +0000" },
  ],
  [
    "a literal that is not an address is not an address",
    "from x (y [300.1.2.3]) by mx.example.org; Fri, 20 Nov 2026 10:00:00 +0000",
    { helo: "x", by: "mx.example.org", date: "Fri, 20 Nov 2026 10:00:00 +0000" },
  ],
  [
    "local delivery (by only)",
    "by mx.example.org (Postfix, from userid 1000) id 7Q; Fri, 20 Nov 2026 10:00:00 +0000",
    { by: "mx.example.org", id: "7Q", date: "Fri, 20 Nov 2026 10:00:00 +0000" },
  ],
  ["empty", "", {}],
  ["unbalanced parentheses", "from a (b [192.0.2.1] by c", { helo: "a", ip: "192.0.2.1", reverseName: "b" }],
];

describe("parseReceived", () => {
  for (const [name, value, want] of cases) it(name, () => expect(parseReceived(value)).toEqual(want));
});

describe("parseReceived on hostile input: never throws, bounded work", () => {
  it("any string", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = parseReceived(s);
        expect(typeof r).toBe("object");
        if (r.ip !== undefined) expect(r.ip).toMatch(/^[0-9a-f.:]+$/);
      }),
      { numRuns: 2000 },
    );
  });
  it("strings built from the grammar's delimiters", () => {
    const piece = fc.constantFrom(
      "from ",
      "by ",
      "(",
      ")",
      "[",
      "]",
      "<",
      ">",
      ";",
      "\\",
      "helo=",
      "192.0.2.1",
      "IPv6:",
      " ",
      "\r\n\t",
      "x",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 200 }), (parts) => {
        parseReceived(parts.join(""));
      }),
      { numRuns: 2000 },
    );
  });
  const big: Array<[string, string]> = [
    ["100,000 nested comments", `from a ${"(".repeat(100_000)}[192.0.2.1]${")".repeat(100_000)} by b; date`],
    ["100,000 unclosed literals", `from a (b ${"[".repeat(100_000)}`],
    ["100,000 unclosed angle brackets", `from a for ${"<".repeat(100_000)}`],
    ["100,000 semicolons", `from a (b [192.0.2.1]) ${";".repeat(100_000)}`],
    ["100,000 keywords", "from by ".repeat(50_000)],
    ["1 MB of one word", `from ${"a".repeat(1_000_000)}`],
    ["100,000 backslashes", `from a (${"\\".repeat(100_000)}`],
    ["100,000 envelope-from comments", "(envelope-from <a@b>) ".repeat(100_000)],
  ];
  for (const [name, value] of big) it(`${name}: returns (read up to 16 KiB)`, () => expect(typeof parseReceived(value)).toBe("object"));
  it("a value past 16 KiB is read up to there", () => {
    expect(parseReceived(`from a ${" ".repeat(20_000)}(b [192.0.2.1])`).ip).toBeUndefined();
  });
});

const message = (received: string[], returnPath = "<alice@example.com>") =>
  `Return-Path: ${returnPath}\r\n${received.map((r) => `Received: ${r}\r\n`).join("")}From: alice@example.com\r\nSubject: x\r\n\r\nbody\r\n`;
const ours = "from lmtp.internal (localhost [127.0.0.1]) by filter.example.org with LMTP; Fri, 20 Nov 2026 10:00:01 +0000";
const border = "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org with ESMTPS; Fri, 20 Nov 2026 10:00:00 +0000";
const forged = "from trusted.example (trusted.example [10.0.0.1]) by mx.example.org with ESMTP; Fri, 20 Nov 2026 09:00:00 +0000";

describe("envelopeFromMessage: the envelope from the topmost trusted Received field", () => {
  it("one trusted hop (default): the top field's client, HELO, and Return-Path", () => {
    expect(envelopeFromMessage(message([border, forged]))).toMatchObject({
      ok: true,
      index: 0,
      envelope: { ip: "192.0.2.1", helo: "mail.example.com", mailFrom: "alice@example.com" },
    });
  });
  it("two trusted hops: skips the internal hop, never reads the sender's own (forged) fields below", () => {
    const r = envelopeFromMessage(message([ours, border, forged]), { trustedHops: 2 });
    expect(r).toMatchObject({ ok: true, index: 1, envelope: { ip: "192.0.2.1" } });
  });
  it("receivedBy: the chosen field must be written by one of your hosts", () => {
    expect(envelopeFromMessage(message([ours, border]), { receivedBy: ["mx.example.org"] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/filter\.example\.org/),
    });
    expect(envelopeFromMessage(message([ours, border]), { trustedHops: 2, receivedBy: ["MX.example.org."] })).toMatchObject({ ok: true });
  });
  it('the null sender\'s Return-Path <> is MAIL FROM ""', () => {
    expect(envelopeFromMessage(message([border], "<>"))).toMatchObject({ ok: true, envelope: { mailFrom: "" } });
  });
  it("returnPath: false leaves MAIL FROM out", () => {
    const r = envelopeFromMessage(message([border]), { returnPath: false });
    expect(r.ok && "mailFrom" in r.envelope).toBe(false);
  });
  it("fewer Received fields than trusted hops, or no client address: nothing recovered", () => {
    expect(envelopeFromMessage(message([border]), { trustedHops: 2 })).toMatchObject({ ok: false });
    expect(envelopeFromMessage(message(["from a by b; date"]))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no client address/),
    });
  });
  it("unknown options are refused (mailauth's trustReceived is a boolean there)", () => {
    expect(() => envelopeFromMessage(message([border]), { hops: 2 } as never)).toThrow(OptionsError);
  });
});
