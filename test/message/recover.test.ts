import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asciiDomain, parseAuthor, splitMessage } from "../../src/message/index.js";
import { readerDomains, recoverDomains } from "../../src/message/recover.js";

const MB = 1_000_000;
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("recoverDomains: the domains a reader could be shown for a broken From", () => {
  const cases: Array<[string, string, string[]]> = [
    ["missing '>'", "CEO <ceo@bank.example", ["bank.example"]],
    ["trailing dot", "ceo@bank.example.", ["bank.example"]],
    ["unbalanced comment", "ceo@bank.example (CEO", ["bank.example"]],
    ["trailing ';'", "ceo@bank.example;", ["bank.example"]],
    ["NUL: cut at it, and without it", "ceo@bank.example\u0000.evil.example", ["bank.example", "bank.example.evil.example"]],
    ["an address in a display name, and the real one", "ceo@bank.example <x@evil.example>", ["bank.example", "evil.example"]],
    ["an encoded word hiding the address", `=?utf-8?b?${b64("ceo@bank.example")}?=`, ["bank.example"]],
    ["an encoded word as the domain", "x@=?utf-8?q?bank.example?=", ["bank.example"]],
    ["fullwidth '＠'", "ceo＠bank.example", ["bank.example"]],
    ["fullwidth letters", "ceo@ＢＡＮＫ.example", ["bank.example"]],
    ["white space around a dot (folding)", "CEO\t<ceo@bank.\t example", ["bank.example"]],
    ["white space after '@'", "ceo@ bank.example>", ["bank.example"]],
    ["a comment after '@'", "ceo@(c)bank.example (", ["bank.example"]],
    ["brackets", "ceo@[bank.example", ["bank.example"]],
    ["an IP literal is no domain", "a@[192.0.2.1", []],
    ["U+FFFD after the domain", "ceo@bank.example\ufffd", ["bank.example"]],
    ["a zero-width space (the single label left is dropped)", "ceo@bank\u200b.example", ["bank.example"]],
    ["hyphens at label edges", "ceo@-bank-.example", ["bank.example"]],
    ["an empty label", "ceo@bank..example", ["bank.example"]],
    ["NBSP (NFKC: a space) after the domain", "ceo@bank.example\u00a0x", ["bank.example"]],
    ["upper case", "CEO@BANK.EXAMPLE", ["bank.example"]],
    ["an IDN", "a@Bücher.example", ["xn--bcher-kva.example"]],
    ["no '@' at all", "ceo at bank.example", []],
    ["a domain in a comment counts (over-collects on purpose)", "x@evil.example (ceo@bank.example", ["evil.example", "bank.example"]],
  ];
  for (const [name, input, expected] of cases) it(name, () => expect(recoverDomains(input)).toEqual(expected));
});

describe("readerDomains: a domain as written", () => {
  const cases: Array<[string, boolean, string[]]> = [
    ["bank.example", true, ["bank.example"]],
    ["Bank.EXAMPLE", true, ["bank.example"]],
    ["ＢＡＮＫ.example", true, ["bank.example"]],
    ["bank。example", true, ["bank.example"]],
    ["bücher.example", true, ["xn--bcher-kva.example"]],
    ["localhost", true, ["localhost"]],
    ["bank\u200b.example", false, ["bank.example"]],
    ["ba\u00adnk.example", false, ["bank.example"]],
    ["bank.example\u0007", false, ["bank.example"]],
    ["[192.0.2.1]", false, []],
    ["192.0.2.1", false, []],
    ["[bank.example]", false, ["bank.example"]],
  ];
  for (const [input, clean, domains] of cases) it(JSON.stringify(input), () => expect(readerDomains(input)).toEqual({ clean, domains }));
});

describe("the author when the From field is broken: every domain counts", () => {
  const msg = (headers: string) => splitMessage(new TextEncoder().encode(`${headers}\r\n\r\n`)).headers;
  const cases: Array<[string, string, Record<string, unknown>]> = [
    [
      "a broken field is not dropped",
      "From: CEO <ceo@bank.example\r\nFrom: x@evil.example",
      { reason: "multiple-from", domains: ["bank.example", "evil.example"], recovered: ["bank.example"] },
    ],
    ["a trailing dot", "From: <a@example.com.>", { reason: "syntax", domains: ["example.com"] }],
    ["a zero-width space", "From: a@bank\u200b.example", { reason: "bad-domain", domains: ["bank.example"] }],
    [
      "a quoted local part with '@'",
      'From: "ceo@bank.example"@evil.example',
      { reason: "ambiguous-local-part", domains: ["evil.example", "bank.example"] },
    ],
    [
      "an empty group beside a mailbox",
      'From: x@evil.example, "ceo@bank.example":;',
      { reason: "empty-group", domains: ["evil.example", "bank.example"] },
    ],
    [
      "a group with mailboxes is a valid multi-valued From",
      "From: Team: a@bank.example, b@evil.example;",
      { reason: "group", domains: ["bank.example", "evil.example"] },
    ],
    ["a domain literal has no domain", "From: a@[192.0.2.1]", { reason: "bad-domain", domains: [] }],
    [
      "a From after a bare CR in another field",
      "From: x@evil.example\r\nSubject: hi\rFROM : ceo@bank.example",
      { reason: "multiple-from", domains: ["evil.example", "bank.example"] },
    ],
    ["a From alone after a bare CR", "Subject: hi\rFrom: ceo@bank.example", { reason: "syntax", domains: ["bank.example"] }],
    [
      "malformed lines below From are read with it",
      "From: x@evil.example\r\n<ceo@bank.example>",
      { reason: "syntax", domains: ["evil.example", "bank.example"] },
    ],
  ];
  for (const [name, headers, expected] of cases)
    it(name, () => expect(parseAuthor(msg(headers))).toMatchObject({ ok: false, ...expected }));
});

describe("what stays a clean author", () => {
  const msg = (headers: string) => splitMessage(new TextEncoder().encode(`${headers}\r\n\r\n`)).headers;
  it("a blank malformed line (a lone CR) below From", () => {
    expect(parseAuthor(msg("From: a@bank.example\r\n\r"))).toMatchObject({ ok: true, domain: "bank.example" });
  });
  it("a Sender beside a From", () => {
    expect(parseAuthor(msg("From: a@evil.example\r\nSender: ceo@bank.example"))).toMatchObject({ ok: true, domain: "evil.example" });
  });
  it("a CRLF-folded From (no bare CR)", () => {
    expect(parseAuthor(msg("From: CEO\r\n <ceo@bank.example>"))).toMatchObject({ ok: true, domain: "bank.example" });
  });
});

describe("hostile input", () => {
  const piece = fc.constantFrom(
    "@",
    "a",
    ".",
    " ",
    "(",
    ")",
    "<",
    ">",
    '"',
    "\\",
    "[",
    "]",
    ";",
    ",",
    ":",
    "\u0000",
    "\u200b",
    "＠",
    "=?utf-8?q?",
    "?=",
    "ü",
    "-",
    "\r\n ",
  );
  it("any text: distinct A-label domains with a dot, never a throw", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(piece).map((a) => a.join("")),
        ),
        (s) => {
          const ds = recoverDomains(s);
          expect(new Set(ds).size).toBe(ds.length);
          for (const d of ds) {
            expect(asciiDomain(d)).toBe(d);
            expect(d).toContain(".");
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
  it("1 MB inputs of the worst shapes finish (linear)", () => {
    for (const text of [
      "@".repeat(MB),
      "@ ".repeat(MB / 2),
      "@(".repeat(MB / 2),
      `${"(".repeat(MB)}@x.example`,
      "=?".repeat(MB / 2),
      "a.".repeat(MB / 2),
      "@a . ".repeat(MB / 5),
      "@\u0000".repeat(MB / 2),
      "\u200b".repeat(MB),
      `a@${"b.".repeat(MB / 2)}`,
      `a@${"-".repeat(MB)}x.example`,
    ]) {
      expect(Array.isArray(recoverDomains(text))).toBe(true);
    }
    const broken = `From: ${"<a@b.example ".repeat(MB / 13)}\r\n\r\n`;
    expect(parseAuthor(splitMessage(Buffer.from(broken)).headers)).toMatchObject({ ok: false, reason: "syntax", domains: ["b.example"] });
    const hidden = `From: x@y.example\r\nX: ${"\rFrom: a@b.example".repeat(MB / 18)}\r\n${"<c@d.example>\r\n".repeat(MB / 15)}\r\n`;
    expect(parseAuthor(splitMessage(Buffer.from(hidden)).headers)).toMatchObject({ ok: false, reason: "multiple-from" });
    const fields = `${"From: <a@b.example\r\n".repeat(MB / 20)}\r\n`;
    expect(parseAuthor(splitMessage(Buffer.from(fields)).headers)).toMatchObject({ ok: false, reason: "multiple-from" });
  });

  it("the detail text names a few recovered domains, not every one of a hostile From's thousands", () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `@d${i}.example`).join(" ");
    const result = parseAuthor(splitMessage(Buffer.from(`From: <x ${many}\r\n\r\n`)).headers);
    expect(result).toMatchObject({ ok: false });
    if (result.ok) return;
    expect(result.domains.length).toBeGreaterThan(10_000);
    expect(result.detail).toContain("more");
    expect(result.detail.length).toBeLessThan(1_000);
  });
});
