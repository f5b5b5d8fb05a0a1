import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkIprev, FixtureResolver, guardResolver, type Resolver, zoneFromObject } from "../../src/index.js";
import { plainIprevOptions } from "../../src/iprev/check.js";
import { checkIprevOptions } from "../../src/options.js";

// checkIprev's options are decided by hand for the usual shapes (issue 19): the hand check must never
// accept what the schema refuses.

const resolver = new FixtureResolver(zoneFromObject({}));
const accepts = (v: unknown) => {
  try {
    checkIprevOptions(v);
    return true;
  } catch {
    return false;
  }
};
const value = fc.oneof(
  fc.constantFrom(undefined, null, 0, 1, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, "", "x", true, [], {}, () => 0),
  fc.constantFrom(resolver, { txt: 1 }, new AbortController().signal, AbortSignal.abort(), Object.create(null), new Date(0)),
  fc.anything(),
);
const mostly = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: value });
const optionsLike = fc.record(
  {
    resolver: mostly(fc.constantFrom<Resolver | object>(resolver, { ...resolver }, { txt() {}, a() {}, aaaa() {}, mx() {}, ptr() {} })),
    maxNames: mostly(fc.constantFrom(0, 1, 10, 2 ** 53 - 1)),
    signal: mostly(fc.constant(new AbortController().signal)),
  },
  { requiredKeys: [] },
);
const keys = fc.constantFrom("resolver", "maxNames", "signal", "timeoutMs", "__proto__", "constructor");

describe("checkIprev's hand-checked options", () => {
  it("never accept what checkIprevOptions refuses", () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(keys, value, { maxKeys: 3 }), value, optionsLike), (v) => {
        if (plainIprevOptions(v)) expect(accepts(v)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("take the hand path for the usual shapes, and refusals still name the problem", async () => {
    expect(plainIprevOptions({ resolver })).toBe(true);
    expect(plainIprevOptions({ resolver, maxNames: 3, signal: new AbortController().signal })).toBe(true);
    expect(plainIprevOptions({ resolver: guardResolver(resolver) })).toBe(true);
    await expect(checkIprev("192.0.2.1", { resolver, maxNames: 0 })).rejects.toThrow(/maxNames/);
    await expect(checkIprev("192.0.2.1", { resolver, extra: 1 } as never)).rejects.toThrow(/extra/);
  });
});
