import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArgumentError } from "../../src/errors.js";
import {
  buildEhloReply,
  decodePlain,
  decodeXtext,
  encodeXtext,
  formatReply,
  parseCommand,
  parseEhloReply,
  parseReply,
  ReplyParser,
} from "../../src/smtp/index.js";

describe("SMTP commands", () => {
  const ok: Array<[string, string, Record<string, unknown>, { utf8?: boolean }?]> = [
    ["EHLO with a domain", "EHLO mail.example.com", { verb: "EHLO", domain: "mail.example.com" }],
    ["HELO is case-insensitive", "helo mail.example.com", { verb: "HELO" }],
    ["EHLO with an IPv4 literal", "EHLO [192.0.2.1]", { domain: "[192.0.2.1]" }],
    ["EHLO with an IPv6 literal", "EHLO [IPv6:2001:db8::1]", { domain: "[IPv6:2001:db8::1]" }],
    [
      "MAIL FROM with a path",
      "MAIL FROM:<alice@example.com>",
      { verb: "MAIL", from: { address: "alice@example.com", local: "alice", domain: "example.com" } },
    ],
    ["MAIL FROM with a space after the colon (tolerated)", "MAIL FROM: <alice@example.com>", { from: { address: "alice@example.com" } }],
    ["the null sender", "MAIL FROM:<>", { from: { address: "" } }],
    ["a quoted local part", 'MAIL FROM:<"john doe>x"@example.com>', { from: { local: '"john doe>x"', domain: "example.com" } }],
    [
      "a source route is accepted and ignored",
      "MAIL FROM:<@relay.example,@r2.example:alice@example.com>",
      { from: { address: "alice@example.com", route: ["@relay.example", "@r2.example"] } },
    ],
    ["an address literal domain", "RCPT TO:<postmaster@[192.0.2.1]>", { to: { domain: "[192.0.2.1]" } }],
    ["RCPT TO:<Postmaster> without a domain", "RCPT TO:<Postmaster>", { to: { address: "Postmaster", domain: "" } }],
    [
      "MAIL parameters",
      "MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2Bx AUTH=<>",
      { params: { size: 1000, body: "8BITMIME", ret: "HDRS", envid: "QQ+x", auth: "<>", smtputf8: false } },
    ],
    [
      "SMTPUTF8 allows a UTF-8 sender",
      "MAIL FROM:<jöran@exämple.de> SMTPUTF8",
      { from: { local: "jöran", domain: "exämple.de", utf8: true }, params: { smtputf8: true } },
    ],
    ["a UTF-8 recipient in an SMTPUTF8 transaction", "RCPT TO:<用户@例子.广告>", { to: { utf8: true } }, { utf8: true }],
    [
      "RCPT parameters",
      "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org",
      { params: { notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "b@example.org" } } },
    ],
    ["BDAT with LAST", "BDAT 1000 LAST", { verb: "BDAT", size: 1000, last: true }],
    ["BDAT without LAST", "bdat 0", { size: 0, last: false }],
    [
      "AUTH with an initial response",
      "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
      { verb: "AUTH", mechanism: "PLAIN", initialResponse: "AGFsaWNlAHNlY3JldA==" },
    ],
    ["AUTH LOGIN without one", "AUTH login", { mechanism: "LOGIN" }],
    ["VRFY", "VRFY alice", { verb: "VRFY", argument: "alice" }],
    ["NOOP with an argument", "NOOP hello", { verb: "NOOP", argument: "hello" }],
    ["STARTTLS", "STARTTLS", { verb: "STARTTLS" }],
  ];
  for (const [name, line, expected, opts] of ok) {
    it(name, () => {
      const r = parseCommand(line, opts);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.command).toMatchObject(expected);
    });
  }

  const bad: Array<[string, string, number, string, { utf8?: boolean }?]> = [
    ["an unknown command", "FOO bar", 500, "5.5.1"],
    ["a line over 512 octets", `NOOP ${"x".repeat(600)}`, 500, "5.5.2"],
    ["a NUL byte", "NOOP a\u0000b", 500, "5.5.2"],
    ["MAIL without FROM:", "MAIL <a@example.com>", 501, "5.5.4"],
    ["a path without brackets", "MAIL FROM:a@example.com", 501, "5.1.7"],
    ["a local part over 64 octets", `RCPT TO:<${"a".repeat(65)}@example.com>`, 501, "5.1.3"],
    ["a domain label starting with '-'", "RCPT TO:<a@-bad.example>", 501, "5.1.3"],
    ["a double dot in the local part", "RCPT TO:<a..b@example.com>", 501, "5.1.3"],
    ["a bad address literal", "RCPT TO:<a@[300.1.1.1]>", 501, "5.1.3"],
    ["a UTF-8 address without SMTPUTF8", "MAIL FROM:<jöran@example.de>", 553, "5.6.7"],
    ["a UTF-8 recipient outside an SMTPUTF8 transaction", "RCPT TO:<jöran@example.de>", 553, "5.6.7"],
    ["an unknown MAIL parameter", "MAIL FROM:<a@example.com> FOO=bar", 555, "5.5.4"],
    ["a bad SIZE", "MAIL FROM:<a@example.com> SIZE=big", 555, "5.5.4"],
    ["a repeated parameter", "MAIL FROM:<a@example.com> SIZE=1 SIZE=2", 555, "5.5.4"],
    ["NOTIFY=NEVER with others", "RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS", 555, "5.5.4"],
    ["bad xtext in ORCPT", "RCPT TO:<b@example.org> ORCPT=rfc822;b+4", 555, "5.5.4"],
    ["the null path as recipient", "RCPT TO:<>", 501, "5.1.3"],
    ["DATA with an argument", "DATA now", 501, "5.5.4"],
    ["EHLO without a domain", "EHLO", 501, "5.5.4"],
    ["BDAT without a size", "BDAT LAST", 501, "5.5.4"],
  ];
  for (const [name, line, code, enhanced, opts] of bad) {
    it(`refuses ${name} with ${code} ${enhanced}`, () => {
      const r = parseCommand(line, opts);
      expect(r.ok).toBe(false);
      if (!r.ok) expect([r.reply.code, r.reply.enhanced]).toEqual([code, enhanced]);
    });
  }

  it("never throws, and answers every line in linear time", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 600 }), fc.stringMatching(/^(MAIL FROM:|RCPT TO:|EHLO |AUTH |BDAT )[\s\S]{0,200}$/)),
        (line) => {
          const r = parseCommand(line);
          expect(typeof r.ok).toBe("boolean");
        },
      ),
      { numRuns: 3000 },
    );
    for (const line of [
      `MAIL FROM:<${'"'.repeat(100_000)}`,
      `RCPT TO:<${"a.".repeat(100_000)}@x>`,
      `MAIL FROM:<@${",@a".repeat(100_000)}`,
    ]) {
      expect(parseCommand(line, { maxLineLength: 10_000_000 }).ok).toBe(false);
    }
  });
});

describe("replies", () => {
  it("formats single and multi-line replies with enhanced codes", () => {
    expect(formatReply({ code: 250, enhanced: "2.1.0", lines: ["Sender OK"] })).toBe("250 2.1.0 Sender OK\r\n");
    expect(formatReply({ code: 250, lines: ["mx.example.org", "PIPELINING", "SIZE 1000"] })).toBe(
      "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
    );
    expect(formatReply({ code: 354, lines: [] })).toBe("354\r\n");
  });
  it("strips CR and LF from reply text so a reply cannot split", () => {
    expect(formatReply({ code: 550, lines: ["bad\r\n250 OK"] })).toBe("550 bad  250 OK\r\n");
  });
  it("refuses an enhanced code of the wrong class", () => {
    // An ArgumentError (a MsgauthError, so a TypeError) since the errors were made uniform; it was a RangeError.
    expect(() => formatReply({ code: 550, enhanced: "2.0.0", lines: ["x"] })).toThrow(ArgumentError);
  });
  it("parses multi-line replies line by line", () => {
    const p = new ReplyParser();
    expect(p.push("250-mx.example.org Hello")).toBeUndefined();
    expect(p.push("250-8BITMIME")).toBeUndefined();
    expect(p.push("250 SMTPUTF8")).toEqual({ ok: true, reply: { code: 250, lines: ["mx.example.org Hello", "8BITMIME", "SMTPUTF8"] } });
    expect(parseReply("550-5.7.1 one\r\n550 5.7.1 two\r\n")).toEqual({
      ok: true,
      reply: { code: 550, enhanced: "5.7.1", lines: ["one", "two"] },
    });
    expect(parseReply("250-a\r\n251 b\r\n").ok).toBe(false);
    expect(parseReply("hello").ok).toBe(false);
  });
  it("EHLO replies round-trip", () => {
    const reply = buildEhloReply("mx.example.org Hello", { SIZE: ["1000"], AUTH: ["PLAIN", "LOGIN"], PIPELINING: [] });
    const parsed = parseReply(formatReply(reply));
    expect(parsed.ok && parseEhloReply(parsed.reply)?.extensions).toEqual(
      new Map([
        ["SIZE", ["1000"]],
        ["AUTH", ["PLAIN", "LOGIN"]],
        ["PIPELINING", []],
      ]),
    );
  });
});

describe("xtext and SASL", () => {
  it("xtext round-trips and rejects malformed input", () => {
    expect(decodeXtext(encodeXtext("a+b=c d\u00e9"))).toBe("a+b=c dÃ©");
    expect(encodeXtext("a+b=c")).toBe("a+2Bb+3Dc");
    for (const bad of ["a+", "a+G0", "a b", "a=b"]) expect(decodeXtext(bad)).toBeUndefined();
  });
  const plain = (s: string) => Buffer.from(s).toString("base64");
  const cases: Array<[string, string, unknown]> = [
    ["user and password", plain("\0alice\0secret"), { ok: true, credentials: { authzid: "", username: "alice", password: "secret" } }],
    ["with an authzid", plain("admin\0alice\0secret"), { ok: true, credentials: { authzid: "admin" } }],
    ["UTF-8 names", plain("\0jöran\0pässword"), { ok: true, credentials: { username: "jöran" } }],
    ["no password", plain("\0alice\0"), { ok: false }],
    ["too many NULs", plain("\0a\0b\0c"), { ok: false }],
    ["not base64", "!!!!", { ok: false }],
    ["bad padding", "YWJj=", { ok: false }],
  ];
  for (const [name, input, expected] of cases) it(`PLAIN: ${name}`, () => expect(decodePlain(input)).toMatchObject(expected as object));
});
