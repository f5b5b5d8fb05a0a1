import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { asciiDomain } from "../../src/message/address.js";
import { commentText, foldField, quoteIfNeeded, words } from "../../src/message/fold.js";
import { checkReceivedSpfOptions, checkSpfHeloParams, checkSpfOptions, checkSpfParams } from "../../src/options.js";
import { checkableDomain, plainSpfOptions, plainSpfParams, type SpfResult } from "../../src/spf/check.js";
import { plainReceivedSpfOptions, quoteValue, receivedSpf, writeReceivedSpf } from "../../src/spf/received-spf.js";
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
    // "v=spf1 " and "V=SPF1" with one character replaced by any other (a bit away, or anything up to U+017F).
    const near = fc
      .tuple(
        fc.constantFrom("v=spf1 ", "V=SPF1", "v=spf1"),
        fc.nat(6),
        fc.oneof(fc.nat(7), fc.integer({ min: 0, max: 0x17f })),
        fc.boolean(),
      )
      .map(([base, at, v, flip]) => {
        const i = at % base.length;
        const code = flip && v < 8 ? base.charCodeAt(i) ^ (1 << v) : v;
        return `${base.slice(0, i)}${String.fromCharCode(code)}${base.slice(i + 1)}`;
      });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(piece, { maxLength: 9 }).map((p) => p.join("")),
          fc.string({ maxLength: 9 }),
          near,
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
  const count = fc.constantFrom(0, 1, 10, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1); // 2 ** 31: past the timer limit (timeBudgetMs)
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

/** Received-SPF as it was written before the one-pass writer (the reference). */
function receivedSpfReference(result: SpfResult, receiver: string): string {
  const who = `${receiver ? `${receiver}: ` : ""}`;
  const s = result.sender;
  const ip = result.ip;
  const text = {
    pass: `${who}domain of ${s} designates ${ip} as permitted sender`,
    fail: `${who}domain of ${s} does not designate ${ip} as permitted sender`,
    softfail: `${who}domain of transitioning ${s} does not designate ${ip} as permitted sender`,
    neutral: `${who}${ip} is neither permitted nor denied by domain of ${s}`,
    none: `${who}domain of ${s} does not designate permitted sender hosts`,
    temperror: `${who}error in processing during lookup of ${s}: ${result.reason}`,
    permerror: `${who}domain of ${s}: ${result.reason}`,
  }[result.result];
  const pairs: string[] = [];
  const add = (key: string, value: string) => pairs.push(`${key}=${quoteIfNeeded(value)};`);
  add("client-ip", result.ip);
  add("envelope-from", result.identity === "helo" && result.sender.startsWith("postmaster@") ? "" : result.sender);
  if (result.helo) add("helo", result.helo);
  if (receiver) add("receiver", receiver);
  add("identity", result.identity);
  if (result.mechanism && result.mechanism !== "default") add("mechanism", result.mechanism);
  if (result.result === "permerror" || result.result === "temperror") add("problem", result.reason);
  const commentWords = words(commentText(text));
  commentWords[0] = `(${commentWords[0] ?? ""}`;
  commentWords[commentWords.length - 1] += ")";
  const last = pairs.length - 1;
  pairs[last] = pairs[last]!.slice(0, -1);
  return foldField("Received-SPF", [result.result, ...commentWords, ...pairs]);
}

// Values as envelopes and DNS give them, hostile ones included: quotes, backslashes, parentheses,
// controls, bidi marks, non-ASCII, dots in every place, spaces, long runs.
const hostile = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    ".",
    "a.",
    ".a",
    "a..b",
    "news@bench.example",
    "postmaster@mx.example",
    '"q"@example.com',
    "a\\b",
    "(x)",
    "a b",
    "192.0.2.1",
    "2001:db8::1",
    "include:_spf.example.net",
    "ip4:192.0.2.0/24",
    "default",
    "\r\nX-Injected: 1",
    "\u0000",
    "\u007f",
    "\u0085",
    "\u200e",
    "\u2028",
    "\ufeff",
    "exämple.com",
    "x".repeat(90),
  ),
  fc.string({ maxLength: 12 }),
  fc.array(fc.constantFrom("a", ".", "@", " ", '"', "\\", "(", ")", "\t", "é", "~", "%"), { maxLength: 12 }).map((c) => c.join("")),
  // Words of every length around the fold width, so that lines break at every place.
  fc
    .array(
      fc.integer({ min: 1, max: 80 }).map((n) => "w".repeat(n)),
      { maxLength: 6 },
    )
    .map((w) => w.join(" ")),
);

describe("Received-SPF: the one-pass writer writes what the general path wrote", () => {
  it("quoteValue is quoteIfNeeded", () => {
    fc.assert(
      fc.property(hostile, (v) => {
        expect(quoteValue(v)).toBe(quoteIfNeeded(v));
      }),
      { numRuns: 20000 },
    );
  });

  it("receivedSpf is the field the general path folds, for any result and receiver", () => {
    const result = fc.record({
      result: fc.constantFrom("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"),
      identity: fc.constantFrom("mailfrom", "helo"),
      domain: hostile,
      sender: hostile,
      ip: hostile,
      helo: hostile,
      mechanism: fc.option(hostile, { nil: undefined }),
      reason: hostile,
      lookups: fc.nat(10),
      voidLookups: fc.nat(2),
    });
    fc.assert(
      fc.property(result, hostile, (r, receiver) => {
        const spf = r as SpfResult;
        expect(receivedSpf(spf, { receiver })).toBe(receivedSpfReference(spf, receiver));
        expect(receivedSpf(spf)).toBe(receivedSpfReference(spf, ""));
        // authenticate()'s call, with no options object to check
        expect(writeReceivedSpf(spf, receiver)).toBe(receivedSpfReference(spf, receiver));
      }),
      { numRuns: 20000 },
    );
  });

  it("an identity other than mailfrom and helo (the two written without a look) is quoted as any value", () => {
    const base = { result: "pass", domain: "example.com", sender: "a@example.com", ip: "192.0.2.1", helo: "mx.example" } as const;
    fc.assert(
      fc.property(fc.oneof(hostile, fc.constantFrom("mailfrom", "helo", "MAILFROM", "helo ", "mail from")), (identity) => {
        const spf = { ...base, identity, reason: "r", lookups: 0, voidLookups: 0 } as unknown as SpfResult;
        expect(writeReceivedSpf(spf, "mx.test")).toBe(receivedSpfReference(spf, "mx.test"));
      }),
      { numRuns: 3000 },
    );
  });

  it("options: accepted by hand only if the checker accepts them", () => {
    const v = fc.oneof(
      fc.dictionary(fc.constantFrom("receiver", "mta", "__proto__"), fc.oneof(fc.string(), fc.constantFrom(undefined, null, 1, {}))),
      fc.constantFrom(undefined, null, [], "x", 1, Object.create({ receiver: "x" }), Object.create(null)),
    );
    fc.assert(
      fc.property(v, (o) => {
        if (!plainReceivedSpfOptions(o)) return;
        expect(() => checkReceivedSpfOptions(o)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
    expect(plainReceivedSpfOptions({ receiver: "mx.example" })).toBe(true);
  });
});
