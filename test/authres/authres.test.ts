import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatAuthResults, parseAuthResults, trustedAuthResults } from "../../src/authres/index.js";
import { splitMessage } from "../../src/message/index.js";

describe("writing Authentication-Results", () => {
  it("writes none when there are no results", () => {
    expect(formatAuthResults("mx.example.org", [])).toBe("Authentication-Results: mx.example.org; none");
  });

  it("writes methods, comments, reasons and properties, folded at 78 columns", () => {
    const h = formatAuthResults("mx.example.org", [
      { method: "spf", result: "pass", props: [{ ptype: "smtp", property: "mailfrom", value: "alice@example.com" }] },
      {
        method: "dkim",
        result: "fail",
        reason: "body hash did not verify",
        comment: "2048-bit key",
        props: [
          { ptype: "header", property: "d", value: "example.com" },
          { ptype: "header", property: "i", value: "@example.com" },
          { ptype: "header", property: "b", value: "ab/c+d==" },
        ],
      },
    ]);
    // "=" and "/" are tspecials: the base64 value is quoted (RFC 8601 2.2 value = token / quoted-string).
    expect(h).toBe(
      "Authentication-Results: mx.example.org; spf=pass\r\n" +
        "\tsmtp.mailfrom=alice@example.com; dkim=fail (2048-bit key)\r\n" +
        '\treason="body hash did not verify" header.d=example.com\r\n' +
        '\theader.i=@example.com header.b="ab/c+d=="',
    );
    for (const line of h.split("\r\n")) expect(line.replace("\t", "        ").length).toBeLessThanOrEqual(78);
  });

  const hostile = [
    "evil\r\nX-Injected: yes",
    "evil\nAuthentication-Results: forged; dkim=pass",
    'a"b\\c',
    "a)b(c",
    "\u0000\u0007\u001b[31m",
    "x".repeat(5000),
  ];
  for (const value of hostile) {
    it(`no line break or control from ${JSON.stringify(value).slice(0, 30)} reaches the field, and it reads back`, () => {
      // The authserv-id is configuration, checked and refused (security/authres-attacks.test.ts); the
      // values here are what mail, DNS and the envelope can hold: escaped.
      const h = formatAuthResults("mx.example.org", [
        { method: "spf", result: "pass", reason: value, comment: value, props: [{ ptype: "smtp", property: "mailfrom", value }] },
      ]);
      const lines = h.split("\r\n");
      expect(lines.slice(1).every((l) => l.startsWith("\t"))).toBe(true);
      // The only line breaks are folds (CRLF + TAB); nothing else below 0x20 survives.
      expect(h.replace(/\r\n\t/g, " ")).not.toMatch(/[\u0000-\u001f\u007f]/);
      const parsed = parseAuthResults(h.slice(h.indexOf(":") + 1));
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(parsed.value.results).toHaveLength(1);
    });
  }
});

describe("reading Authentication-Results", () => {
  const cases: Array<[string, string, unknown]> = [
    ["none", "example.org; none", { authservId: "example.org", results: [] }],
    [
      "a version and comments anywhere",
      "example.org 1 (comment); (c) spf (c) = (c) pass (c) smtp.mailfrom = (c) a@b.example",
      {
        authservId: "example.org",
        version: 1,
        results: [{ method: "spf", result: "pass", props: [{ ptype: "smtp", property: "mailfrom", value: "a@b.example" }] }],
      },
    ],
    [
      "RFC 8601 B.5 style, several results",
      "example.com; auth=pass (cram-md5) smtp.auth=sender@example.com; spf=pass smtp.mailfrom=example.com; sender-id=pass header.from=example.com",
      {
        results: [
          { method: "auth", result: "pass" },
          { method: "spf", result: "pass" },
          { method: "sender-id", result: "pass" },
        ],
      },
    ],
    [
      "a method version, a quoted reason, '/' in a value",
      'mx.example.org; dkim/1=fail reason="bad sig; really" header.d=example.com header.b=ab/c+dEf',
      {
        results: [
          {
            method: "dkim",
            version: 1,
            result: "fail",
            reason: "bad sig; really",
            props: [
              { ptype: "header", property: "d", value: "example.com" },
              { ptype: "header", property: "b", value: "ab/c+dEf" },
            ],
          },
        ],
      },
    ],
    [
      "upper-case method and result are read in lower case",
      "X; DKIM=PASS header.d=Example.COM",
      { results: [{ method: "dkim", result: "pass", props: [{ value: "Example.COM" }] }] },
    ],
    ["a trailing semicolon", "x.example; spf=none;", { results: [{ method: "spf", result: "none" }] }],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      const r = parseAuthResults(value);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toMatchObject(expected as object);
    });
  }

  const bad: Array<[string, string]> = [
    ["empty", ""],
    ["no '=' after a method", "x; spf pass"],
    ["an unbalanced comment", "x; spf=pass (oops"],
    ["an unterminated quoted-string", 'x; spf=pass reason="oops'],
    ["a stray closing parenthesis", "x; spf=pass )"],
    ["a property without a dot", "x; spf=pass mailfrom=a@b"],
  ];
  for (const [name, value] of bad) it(`refuses ${name}`, () => expect(parseAuthResults(value).ok).toBe(false));

  it("trusts only fields from the given authserv-ids", () => {
    const headers = splitMessage(
      new TextEncoder().encode(
        "Authentication-Results: mx.evil.example; dkim=pass header.d=bank.example\r\n" +
          "Authentication-Results: MX.EXAMPLE.ORG; spf=pass smtp.mailfrom=a@b.example\r\n" +
          "Authentication-Results: mx.example.org; (broken\r\n\r\n",
      ),
    ).headers;
    const t = trustedAuthResults(headers, ["mx.example.org"]);
    expect(t.map((r) => r.results[0]!.method)).toEqual(["spf"]);
  });

  it("with no trusted authserv-id keeps none, whatever the fields (they are not parsed)", () => {
    const headers = splitMessage(
      new TextEncoder().encode(
        "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a@b.example\r\n" + "Authentication-Results: ; (broken\r\n\r\n",
      ),
    ).headers;
    expect(trustedAuthResults(headers, [])).toEqual([]);
    expect(trustedAuthResults(headers, ["mx.example.org"])).toHaveLength(1);
  });

  it("never throws and stays linear on hostile input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseAuthResults(s);
      }),
      { numRuns: 2000 },
    );
    for (const s of [`x;${" spf=pass;".repeat(100_000)}`, `x; spf=pass ${"(".repeat(500_000)}`, `x; ${'"'.repeat(1_000_000)}`]) {
      expect(typeof parseAuthResults(s).ok).toBe("boolean");
    }
  });
});
