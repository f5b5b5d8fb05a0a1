import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { envelopeSchema, optionsSchema, plainEnvelope, plainOptions } from "../src/authenticate.js";
import { FixtureResolver, zoneFromObject } from "../src/dns/index.js";

// authenticate() checks the usual envelope and options by hand before zod: the hand check must never
// accept what the schema refuses, and must give what the schema gives.

const resolver = new FixtureResolver(zoneFromObject({}));
const str = (n: number) => "x".repeat(n);
const value = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    0,
    -1,
    1.5,
    true,
    "",
    "rfc9989",
    "rfc7489",
    "RFC9989",
    "192.0.2.1",
    str(64),
    str(65),
    str(255),
    str(256),
    str(1024),
    str(1025),
    str(2048),
    str(2049),
    [],
    ["mx.example"],
    {},
    () => 1,
    resolver,
    { txt: () => 0, a: () => 0, aaaa: () => 0, mx: () => 0 },
    { ...resolver, txt: 1 },
    new AbortController().signal,
    new AbortController(),
    Object.create({ ip: "192.0.2.1" }),
  ),
  fc.string({ maxLength: 8 }),
);
const keys = fc.constantFrom(
  "ip",
  "helo",
  "mailFrom",
  "rcptTo",
  "resolver",
  "authservId",
  "now",
  "random",
  "onQuery",
  "onTiming",
  "dmarcMode",
  "signal",
  "limits",
  "checks",
  "sender",
  "mta",
  "__proto__",
  "constructor",
);
const object = fc.dictionary(keys, value, { maxKeys: 6 });
// Objects of the hand-checked keys only, mostly with values of the right kind: the edges decide.
const mostly = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: right }, { weight: 1, arbitrary: value });
const text = (...lengths: number[]) => fc.constantFrom(...lengths.map(str));
const fnv = fc.constant(() => 1);
const envelopeLike = fc.record(
  { ip: mostly(text(0, 1, 64, 65)), helo: mostly(text(0, 1024, 1025)), mailFrom: mostly(text(0, 2048, 2049)) },
  { requiredKeys: [] },
);
const optionsLike = fc.record(
  {
    resolver: mostly(fc.constant(resolver)),
    authservId: mostly(text(0, 1, 255, 256)),
    now: mostly(fnv),
    random: mostly(fnv),
    onQuery: mostly(fnv),
    onTiming: mostly(fnv),
    dmarcMode: mostly(fc.constantFrom("rfc9989", "rfc7489")),
    signal: mostly(fc.constant(new AbortController().signal)),
  },
  { requiredKeys: [] },
);

describe("authenticate(): the hand check of the usual envelope and options agrees with the schemas", () => {
  it("envelope: accepted by hand only if the schema accepts it, with the same value", () => {
    fc.assert(
      fc.property(fc.oneof(object, value, envelopeLike), (v) => {
        const quick = plainEnvelope(v);
        if (quick === undefined) return;
        const z = envelopeSchema.safeParse(v);
        expect(z.success).toBe(true);
        expect(quick).toEqual(z.data);
      }),
      { numRuns: 5000 },
    );
  });

  it("options: accepted by hand only if the schema accepts them, with the same value", () => {
    fc.assert(
      fc.property(fc.oneof(object, value, optionsLike), (v) => {
        const quick = plainOptions(v);
        if (quick === undefined || v === undefined) return;
        const z = optionsSchema.safeParse(v);
        expect(z.success).toBe(true);
        expect(quick).toEqual(z.data);
      }),
      { numRuns: 5000 },
    );
  });

  const accepted: Array<[string, unknown, unknown]> = [
    ["the usual envelope", { ip: "192.0.2.1", helo: "mx.example", mailFrom: "a@example.com" }, undefined],
    ["the usual options", undefined, { resolver, authservId: "mx.example", dmarcMode: "rfc7489", now: () => 0 }],
  ];
  for (const [name, env, opts] of accepted)
    it(`takes the hand path for ${name}`, () => {
      if (env !== undefined) expect(plainEnvelope(env)).toEqual(env);
      if (opts !== undefined) expect(plainOptions(opts)).toEqual(opts);
    });
});
