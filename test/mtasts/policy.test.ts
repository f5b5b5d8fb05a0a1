import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mxMatches, parseStsPolicy, policyStrings } from "../../src/mtasts/policy.js";

const RFC_EXAMPLE =
  "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

describe("parseStsPolicy (RFC 8461 3.2)", () => {
  it("parses the RFC example", () => {
    expect(parseStsPolicy(RFC_EXAMPLE)).toEqual({
      ok: true,
      policy: {
        version: "STSv1",
        mode: "enforce",
        mx: ["mail.example.com", "*.example.net", "backupmx.example.com"],
        maxAge: 604800,
        extensions: {},
      },
    });
  });
  const ok: Array<[string, string]> = [
    ["LF line ends are accepted", "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400"],
    ["no space after the colon", "version:STSv1\nmode:testing\nmx:a.example\nmax_age:0"],
    ["trailing white space is allowed", "version: STSv1 \nmode: testing\t\nmx: a.example\nmax_age: 1\n"],
    ["mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 86400\n"],
    [
      "MUST accept unknown fields (ignored), UTF-8 in their values",
      "version: STSv1\nmode: enforce\nmx: a.example\nnote: grüße à tous\nmax_age: 1\n",
    ],
    [
      "a repeated non-mx field keeps the first",
      "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 5\nmax_age: 99999999999\n",
    ],
    ["max_age 31557600 is the largest allowed", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n"],
  ];
  for (const [name, text] of ok) it(name, () => expect(parseStsPolicy(text).ok).toBe(true));
  it("a repeated mode keeps the first value", () => {
    const r = parseStsPolicy("version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 5\n");
    expect(r.ok && r.policy.mode).toBe("enforce");
  });
  const bad: Array<[string, string]> = [
    ["no version", "mode: enforce\nmx: a.example\nmax_age: 1\n"],
    ["unknown version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n"],
    ["no mode", "version: STSv1\nmx: a.example\nmax_age: 1\n"],
    ["unknown mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n"],
    ["mode is case-sensitive", "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n"],
    ["no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n"],
    ["max_age above 31557600", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n"],
    ["max_age of 11 digits", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 00000000001\n"],
    ["negative max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n"],
    ["enforce without mx", "version: STSv1\nmode: enforce\nmax_age: 1\n"],
    ["testing without mx", "version: STSv1\nmode: testing\nmax_age: 1\n"],
    ["MUST give each MX its own line: two in one value", "version: STSv1\nmode: enforce\nmx: a.example, b.example\nmax_age: 1\n"],
    ["MUST use A-labels for IDN mx values", "version: STSv1\nmode: enforce\nmx: bücher.example\nmax_age: 1\n"],
    ["a wildcard that is not the whole left label", "version: STSv1\nmode: enforce\nmx: mx*.example\nmax_age: 1\n"],
    ["a blank line", "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n"],
    ["a line without a colon", "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n"],
    ["an HTML page", "<html><body>version: STSv1</body></html>"],
    ["empty", ""],
    ["a control character in a value", "version: STSv1\nmode: enforce\nmx: a.example\nx: a\u0001b\nmax_age: 1\n"],
  ];
  for (const [name, text] of bad) {
    it(`refuses ${name}`, () => {
      const r = parseStsPolicy(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    });
  }
  it("never throws on any input, and is linear", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (s) => typeof parseStsPolicy(s).ok === "boolean"),
      { numRuns: 500 },
    );
    const t0 = Date.now();
    parseStsPolicy(`version: STSv1\nmode: enforce\n${"mx: a.example\n".repeat(4000)}max_age: 1\n`);
    parseStsPolicy(`x:${" ".repeat(60_000)}`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  it("any valid policy, in another field order, with CRLF or LF and extensions, parses to its fields (property)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join("."));
    const mx = fc.tuple(fc.boolean(), domain).map(([wild, d]) => (wild ? `*.${d}` : d));
    const ext = fc.tuple(fc.stringMatching(/^x[a-z0-9_.-]{0,10}$/), fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/));
    fc.assert(
      fc.property(
        fc.constantFrom("enforce", "testing", "none"),
        fc.array(mx, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 31_557_600 }),
        fc.array(ext, { maxLength: 3 }),
        fc.constantFrom("\n", "\r\n"),
        fc.boolean(),
        (mode, mxs, maxAge, exts, eol, finalEol) => {
          const lines = [
            `max_age: ${maxAge}`,
            ...exts.map(([k, v]) => `${k}: ${v}`),
            `mode: ${mode}`,
            ...mxs.map((m) => `mx:${m}`),
            `version: STSv1`,
          ];
          const r = parseStsPolicy(lines.join(eol) + (finalEol ? eol : ""));
          expect(r).toMatchObject({ ok: true, policy: { mode, mx: mxs, maxAge } });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("policyStrings lists each mx as its own element (RFC 8460 4.5)", () => {
    const r = parseStsPolicy(RFC_EXAMPLE);
    expect(r.ok && policyStrings(r.policy)).toEqual([
      "version: STSv1",
      "mode: enforce",
      "mx: mail.example.com",
      "mx: *.example.net",
      "mx: backupmx.example.com",
      "max_age: 604800",
    ]);
  });
});

describe("mxMatches (RFC 8461 4.1)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["mail.example.com", "mail.example.com", true],
    ["mail.example.com", "MAIL.Example.COM.", true],
    ["mail.example.com", "mail2.example.com", false],
    ["*.example.com", "mail.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "foo.bar.example.com", false],
    ["*.example.com", "mailexample.com", false],
    ["*.example.com", ".example.com", false],
  ];
  for (const [pattern, host, expected] of cases) {
    it(`${pattern} ${expected ? "matches" : "does not match"} ${host}`, () => expect(mxMatches(pattern, host)).toBe(expected));
  }
});
