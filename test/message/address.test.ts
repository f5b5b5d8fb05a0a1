import { describe, expect, it } from "vitest";
import { asciiDomain, decodeEncodedWords, parseAddressList, parseAuthor, splitMessage } from "../../src/message/index.js";

describe("RFC 5322 address lists", () => {
  const ok: Array<[string, string, Array<Record<string, string>>]> = [
    ["a bare addr-spec", "alice@example.com", [{ local: "alice", domain: "example.com" }]],
    ["a display name and angle address", "Alice Liddell <alice@example.com>", [{ name: "Alice Liddell", address: "alice@example.com" }]],
    [
      "a quoted display name that looks like an address",
      '"bob@good.example" <mallory@evil.example>',
      [{ name: "bob@good.example", domain: "evil.example" }],
    ],
    ["a comment that holds an address is ignored", "alice@example.com (bob@evil.example)", [{ address: "alice@example.com" }]],
    ["nested comments", "(a (nested) comment) alice@example.com", [{ address: "alice@example.com" }]],
    ["a quoted local part", '"john doe"@example.com', [{ local: '"john doe"', domain: "example.com" }]],
    ["a quoted local part that needs no quotes loses them", '"john"@example.com', [{ local: "john" }]],
    ["a domain literal", "postmaster@[192.0.2.1]", [{ domain: "[192.0.2.1]" }]],
    ["two mailboxes", "a@x.example, B <b@y.example>", [{ address: "a@x.example" }, { address: "b@y.example", name: "B" }]],
    [
      "a group",
      "Team: a@x.example, b@y.example;",
      [
        { group: "Team", address: "a@x.example" },
        { group: "Team", address: "b@y.example" },
      ],
    ],
    ["an empty group", "undisclosed-recipients:;", []],
    ["an obs-route is ignored", "<@relay.example:alice@example.com>", [{ address: "alice@example.com" }]],
    ["an encoded-word display name is decoded", "=?UTF-8?B?w4lsb2RpZQ==?= <e@example.com>", [{ name: "Élodie" }]],
    ["an encoded word is never decoded in the address", "=?utf-8?q?a=40evil.example?=@good.example", [{ domain: "good.example" }]],
    ["obs-phrase with a dot", "Dr. Who <who@example.com>", [{ name: "Dr. Who" }]],
    ["a UTF-8 address (RFC 6532)", "José <josé@exämple.com>", [{ local: "josé", domain: "exämple.com" }]],
    ["empty list elements are skipped", "a@x.example,, ,b@y.example", [{ address: "a@x.example" }, { address: "b@y.example" }]],
  ];
  for (const [name, input, expected] of ok) {
    it(name, () => {
      const r = parseAddressList(input);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.mailboxes).toHaveLength(expected.length);
      expected.forEach((e, i) => {
        expect(r.mailboxes[i]).toMatchObject(e);
      });
    });
  }

  const bad: Array<[string, string, RegExp]> = [
    ["an unterminated quoted string", '"alice <a@example.com>', /quoted/],
    ["an unbalanced comment", "a@example.com (oops", /comment/],
    ["a missing '>'", "Alice <a@example.com", /'>'/],
    ["no domain", "Alice <alice>", /domain|'@'/],
    ["a trailing dot in the domain", "a@example.", /domain/],
    ["two addresses with no comma", "a@x.example b@y.example", /','/],
    ["a control character", "a\u0001b@example.com", /control/],
    ["a group without ';'", "G: a@x.example", /';'/],
  ];
  for (const [name, input, why] of bad) {
    it(`rejects ${name}`, () => {
      const r = parseAddressList(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(why);
    });
  }

  it("stays linear on hostile shapes", () => {
    for (const input of [
      "(".repeat(200_000),
      '"'.repeat(200_000),
      `${"a.".repeat(100_000)}@x`,
      `${"<".repeat(100_000)}`,
      `${"a ".repeat(100_000)}<a@b.example>`,
      `${"=?utf-8?q?x?= ".repeat(20_000)}<a@b.example>`,
      `${"a@b.example,".repeat(50_000)}`,
    ]) {
      const r = parseAddressList(input);
      expect(typeof r.ok).toBe("boolean");
    }
  });
});

describe("the author (From) as DMARC needs it", () => {
  const msg = (headers: string) => splitMessage(new TextEncoder().encode(`${headers}\r\n\r\n`)).headers;
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["one mailbox", "From: Alice <alice@Example.COM>", { ok: true, domain: "example.com" }],
    ["an IDN domain becomes its A-label", "From: <a@bücher.example>", { ok: true, domain: "xn--bcher-kva.example" }],
    ["a trailing dot is not a valid From domain", "From: <a@example.com.>", { ok: false, reason: "syntax" }],
    ["no From", "Subject: x", { ok: false, reason: "no-from" }],
    [
      "two From fields",
      "From: a@good.example\r\nFrom: b@evil.example",
      { ok: false, reason: "multiple-from", domains: ["good.example", "evil.example"] },
    ],
    [
      "two mailboxes",
      "From: a@good.example, b@evil.example",
      { ok: false, reason: "multiple-mailboxes", domains: ["good.example", "evil.example"] },
    ],
    ["group syntax", "From: G: a@good.example;", { ok: false, reason: "group" }],
    ["an empty From", "From: ", { ok: false, reason: "no-mailbox" }],
    ["unparseable", "From: <<<", { ok: false, reason: "syntax" }],
    ["a domain literal", "From: a@[192.0.2.1]", { ok: false, reason: "bad-domain" }],
    ["a domain with an underscore-free bad label", "From: a@-bad-.example", { ok: false, reason: "bad-domain" }],
    ["a display name hiding a second address", 'From: "a@good.example" <b@evil.example>', { ok: true, domain: "evil.example" }],
  ];
  for (const [name, headers, expected] of cases) {
    it(name, () => expect(parseAuthor(msg(headers))).toMatchObject(expected));
  }
});

describe("domains and encoded words", () => {
  const cases: Array<[string, string | undefined]> = [
    ["Example.COM", "example.com"],
    ["example.com.", "example.com"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["a..b", undefined],
    ["-a.example", undefined],
    [`${"a".repeat(64)}.example`, undefined],
    ["", undefined],
    ["[192.0.2.1]", undefined],
    ["_dmarc.example.com", "_dmarc.example.com"],
  ];
  for (const [input, expected] of cases)
    it(`asciiDomain(${JSON.stringify(input).slice(0, 30)})`, () => expect(asciiDomain(input)).toBe(expected));

  it("joins adjacent encoded words and keeps text between others", () => {
    expect(decodeEncodedWords("=?utf-8?q?a?= =?utf-8?q?b?= c =?iso-8859-1?q?=E9?=")).toBe("ab c é");
    expect(decodeEncodedWords("=?x-unknown?q?a?=")).toBe("=?x-unknown?q?a?=");
  });
});
