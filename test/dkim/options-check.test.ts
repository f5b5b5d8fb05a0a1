import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plainDkimOptions } from "../../src/dkim/verify.js";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { checkDkimVerifyOptions } from "../../src/options.js";

const resolver = new FixtureResolver(zoneFromObject({}));

/** Values of every kind an option might be given, right or wrong. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 5000 }),
  fc.double(),
  fc.constant(2 ** 60),
  fc.string({ maxLength: 5 }),
  fc.constant(() => 0),
  fc.constant(resolver),
  fc.constant({ txt: 1 }),
  fc.constant(new AbortController().signal),
  fc.constant({}),
);
const key = fc.constantFrom(
  "resolver",
  "now",
  "allowSha1",
  "minRsaBits",
  "maxSignatures",
  "signal",
  "clockSkewSeconds",
  "limits",
  "bodyHashes",
  "sender",
  "unknown",
);

function schemaAccepts(v: unknown): boolean {
  try {
    checkDkimVerifyOptions(v);
    return true;
  } catch {
    return false;
  }
}

describe("verifyDkim's hand check of the usual options", () => {
  it("never accepts what the schema refuses", () => {
    fc.assert(
      fc.property(fc.dictionary(key, anyValue, { maxKeys: 6 }), fc.boolean(), (dict, withResolver) => {
        const options: Record<string, unknown> = withResolver ? { resolver, ...dict } : dict;
        if (plainDkimOptions(options)) expect(schemaAccepts(options)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("accepts the usual shapes (so the fast path is taken), and leaves the rest to the schema", () => {
    const signal = new AbortController().signal;
    for (const ok of [{ resolver }, { resolver, now: () => 0, allowSha1: true, minRsaBits: 2048, maxSignatures: 3, signal }])
      expect(plainDkimOptions(ok)).toBe(true);
    for (const other of [
      undefined,
      null,
      { resolver, limits: {} },
      { resolver, clockSkewSeconds: 0 },
      { resolver, minRsaBits: 0 },
      { resolver, minRsaBits: 1.5 },
      { resolver, allowSha1: "yes" },
      { resolver, sender: "a@b" },
      { resolver: () => 0 },
      Object.assign(Object.create({ inherited: 1 }), { resolver }),
    ])
      expect(plainDkimOptions(other)).toBe(false);
  });
});
