import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { asciiDomain } from "../../src/message/address.js";
import { checkSpfHeloParams, checkSpfOptions, checkSpfParams } from "../../src/options.js";
import { checkableDomain, plainSpfOptions, plainSpfParams } from "../../src/spf/check.js";
import { isSpfRecord } from "../../src/spf/record.js";

// SPF's hot path skips work the general path does (issue 19): each shortcut must decide exactly as the
// general rule it replaces.

/** check_host's domain rule as it was written before the one-pass check (the reference). */
function checkableReference(domain: string): string | undefined {
  const ascii = /^[\x00-\x7f]*$/.test(domain) ? domain.toLowerCase().replace(/\.$/, "") : asciiDomain(domain);
  if (!ascii || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2) return undefined;
  for (const l of labels) if (l.length === 0 || l.length > 63) return undefined;
  return ascii;
}

const label = (n: number) => "a".repeat(n);
const domainPiece = fc.oneof(
  fc.constantFrom("", ".", "..", "a", "A", "Ex", "com", "-", "_", "1", "é", "ß", "xn--", "\u0000", " ", "\u212a", "例"),
  fc.constantFrom(label(62), label(63), label(64)),
  fc.string({ maxLength: 6 }),
);
const domainLike = fc.oneof(
  fc.array(domainPiece, { maxLength: 8 }).map((p) => p.join(".")),
  fc.array(domainPiece, { maxLength: 8 }).map((p) => `${p.join(".")}.`),
  fc.array(fc.constantFrom(label(63), label(62), "b"), { minLength: 3, maxLength: 6 }).map((p) => p.join(".")),
  fc.string({ maxLength: 20 }),
);

describe("SPF fast paths agree with the general rules", () => {
  it("checkableDomain's one pass gives what the general rule gives, for any text", () => {
    fc.assert(
      fc.property(domainLike, (d) => {
        expect(checkableDomain(d)).toBe(checkableReference(d));
      }),
      { numRuns: 20000 },
    );
    // The edges by hand: 253 and 254 characters, 63 and 64 a label, one label, empty labels.
    const long = (n: number) => `${[label(63), label(63), label(63)].join(".")}.${label(n - 3 * 64)}`;
    for (const d of [long(253), long(254), `${long(253)}.`, "com", "com.", ".com", "a..com", "A.COM.", `${label(63)}.x`, `${label(64)}.x`])
      expect(checkableDomain(d)).toBe(checkableReference(d));
  });

  it("isSpfRecord's character compare is /^v=spf1(?: |$)/i", () => {
    const piece = fc.constantFrom("v", "V", "=", "s", "S", "p", "P", "f", "F", "1", " ", "\t", "ſ", "K", "v=spf1", "V=SPF1", "x");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 9 }).map((p) => p.join("")),
          fc.string({ maxLength: 9 }),
        ),
        (t) => {
          expect(isSpfRecord(t)).toBe(/^v=spf1(?: |$)/i.test(t));
        },
      ),
      { numRuns: 20000 },
    );
  });
});

describe("checkSpf: the hand check of params and options never accepts what the checkers refuse", () => {
  const resolver = new FixtureResolver(zoneFromObject({}));
  const value = fc.oneof(
    fc.constantFrom(
      undefined,
      null,
      0,
      -0,
      -1,
      1,
      1.5,
      2 ** 53,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      10n,
      true,
      false,
      "",
      "192.0.2.1",
      [],
      {},
      () => 1,
      resolver,
      { txt: () => 0, a: () => 0, aaaa: () => 0, mx: () => 0 },
      new AbortController().signal,
      new AbortController(),
      Object.create({ ip: "192.0.2.1" }),
    ),
    fc.string({ maxLength: 4 }),
  );
  const paramKeys = fc.constantFrom("ip", "helo", "mailFrom", "sender", "__proto__", "constructor");
  const optionKeys = fc.constantFrom(
    "resolver",
    "maxLookups",
    "maxVoidLookups",
    "maxMxNames",
    "maxPtrNames",
    "timeBudgetMs",
    "signal",
    "receiver",
    "now",
    "prefetch",
    "mta",
    "limits",
    "__proto__",
  );
  const accepts = (check: (v: unknown) => unknown, v: unknown) => {
    try {
      check(v);
      return true;
    } catch {
      return false;
    }
  };
  const mostly = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: value });
  const paramsLike = fc.record(
    { ip: mostly(fc.constant("192.0.2.1")), helo: mostly(fc.string()), mailFrom: mostly(fc.string()) },
    { requiredKeys: [] },
  );
  const count = fc.constantFrom(0, 1, 10, 2 ** 53 - 1);
  const optionsLike = fc.record(
    {
      resolver: mostly(fc.constant(resolver)),
      maxLookups: mostly(count),
      maxVoidLookups: mostly(count),
      maxMxNames: mostly(count),
      maxPtrNames: mostly(count),
      timeBudgetMs: mostly(count),
      signal: mostly(fc.constant(new AbortController().signal)),
      receiver: mostly(fc.string()),
      now: mostly(fc.constant(() => 0)),
      prefetch: mostly(fc.boolean()),
    },
    { requiredKeys: [] },
  );

  it("params (checkSpf and checkSpfHelo)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(paramKeys, value, { maxKeys: 4 }), value, paramsLike), (v) => {
        if (plainSpfParams(v, true)) expect(accepts(checkSpfParams, v)).toBe(true);
        if (plainSpfParams(v, false)) expect(accepts(checkSpfHeloParams, v)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("options", () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(optionKeys, value, { maxKeys: 5 }), value, optionsLike), (v) => {
        if (plainSpfOptions(v)) expect(accepts(checkSpfOptions, v)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("takes the hand path for the usual shapes", () => {
    expect(plainSpfParams({ ip: "192.0.2.1", helo: "mx.example", mailFrom: "a@example.com" }, true)).toBe(true);
    expect(plainSpfParams({ ip: "192.0.2.1", helo: "mx.example", mailFrom: "a@example.com" }, false)).toBe(false);
    expect(plainSpfOptions({ resolver, maxLookups: 10, receiver: "mx.example", prefetch: false })).toBe(true);
  });
});
