// msgauth's MTA-STS parsing and MX matching side by side with mailauth's (4.13.3). Where they
// disagree, msgauth follows RFC 8461 and the case says which rule.
import { parsePolicy as mailauthParse, validateMx as mailauthValidateMx } from "mailauth/lib/mta-sts.js";
import { describe, expect, it } from "vitest";
import { mxMatches, parseStsPolicy } from "../../src/mtasts/policy.js";

const theirs = (text: string): { mode: string; mx?: string[] } | "error" => {
  try {
    return mailauthParse(text) as { mode: string; mx?: string[] };
  } catch {
    return "error";
  }
};
const ours = (text: string) => {
  const r = parseStsPolicy(text);
  return r.ok ? { mode: r.policy.mode, mx: r.policy.mx } : "error";
};

describe("policy parsing: agreement", () => {
  const same = [
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
    "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 0\n",
    "version: STSv1\nmode: none\nmax_age: 86400\n",
    "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n",
  ];
  for (const text of same) {
    it(JSON.stringify(text.slice(0, 60)), () => {
      const a = ours(text);
      const b = theirs(text);
      if (a === "error") expect(b).toBe("error");
      else expect(b).toMatchObject({ mode: a.mode });
    });
  }
});

describe("policy parsing: where msgauth follows RFC 8461 and mailauth does not", () => {
  const cases: Array<[string, string, "error" | string, "error" | string]> = [
    // [rule, policy, msgauth mode or error, mailauth mode or error]
    [
      "3.2: a repeated non-mx field keeps its FIRST value (mailauth keeps the last: enforce downgraded to none)",
      "version: STSv1\nmode: enforce\nmode: none\nmx: a.example\nmax_age: 1\n",
      "enforce",
      "none",
    ],
    ["3.2 ABNF: mode values are case-sensitive (%s)", "version: STSv1\nmode: ENFORCE\nmx: a.example\nmax_age: 1\n", "error", "enforce"],
    ["3.2 ABNF: field names are case-sensitive", "VERSION: STSv1\nMODE: enforce\nMX: a.example\nMAX_AGE: 1\n", "error", "enforce"],
    [
      "3.2 ABNF: max_age is 1-10 digits (an empty value is not 0)",
      "version: STSv1\nmode: enforce\nmx: a.example\nmax_age:\n",
      "error",
      "enforce",
    ],
    [
      "3.2: each MX on its own line; two names in one value are not a domain",
      "version: STSv1\nmode: enforce\nmx: a.example b.example\nmax_age: 1\n",
      "error",
      "enforce",
    ],
    ["3.2: IDN mx values MUST be A-labels", "version: STSv1\nmode: enforce\nmx: bücher.example\nmax_age: 1\n", "error", "enforce"],
    [
      "3.2 ABNF: a line without a colon is not a field",
      "version: STSv1\nmode: enforce\nmx: a.example\ngarbage\nmax_age: 1\n",
      "error",
      "enforce",
    ],
  ];
  for (const [rule, text, expectOurs, expectTheirs] of cases) {
    it(rule, () => {
      const a = ours(text);
      const b = theirs(text);
      expect(a === "error" ? a : a.mode).toBe(expectOurs);
      expect(b === "error" ? b : b.mode).toBe(expectTheirs);
    });
  }
});

describe("MX matching (RFC 8461 4.1)", () => {
  const policy = { mode: "enforce", mx: ["*.example.com", "mx.example.org"] };
  const cases: Array<[string, boolean, boolean]> = [
    // host, msgauth, mailauth
    ["mail.example.com", true, true],
    ["mx.example.org", true, true],
    ["example.com", false, false],
    // RFC 8461 4.1: "*.example.com" does not match "foo.bar.example.com"; mailauth matches any suffix
    ["foo.bar.example.com", false, true],
    ["other.example.org", false, false],
  ];
  for (const [host, expectOurs, expectTheirs] of cases) {
    it(`${host}: msgauth ${expectOurs}, mailauth ${expectTheirs}`, () => {
      expect(policy.mx.some((p) => mxMatches(p, host))).toBe(expectOurs);
      expect(mailauthValidateMx(host, policy as never).valid).toBe(expectTheirs);
    });
  }
});
