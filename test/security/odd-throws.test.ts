import { describe, expect, it } from "vitest";
import { describeError } from "../../src/errors.js";
import { authenticate, FixtureResolver, verifyArc, verifyDkim, zoneFromObject } from "../../src/index.js";

// A message stream may throw anything: values whose String() throws must not turn a readable verdict
// ("unreadable") into an exception out of the public API.
const resolver = new FixtureResolver(zoneFromObject({}));
const throwingProxy = () =>
  new Proxy(
    {},
    {
      get() {
        throw new Error("trap");
      },
      getPrototypeOf() {
        throw new Error("trap");
      },
    },
  );
const odd: Array<[string, () => unknown]> = [
  ["Object.create(null)", () => Object.create(null)],
  [
    "an object whose toString throws",
    () => ({
      toString: () => {
        throw 1;
      },
    }),
  ],
  ["a Proxy whose traps throw", throwingProxy],
  ["a Symbol", () => Symbol("x")],
  ["undefined", () => undefined],
];
const streamThrowing = (value: unknown, afterHeader: boolean) =>
  (async function* () {
    if (afterHeader) yield "From: a@b.example\r\n\r\nbody";
    throw value;
  })();
const envelope = { ip: "192.0.2.1", helo: "h.example", mailFrom: "" };

describe("a stream throwing an odd value", () => {
  for (const [name, make] of odd) {
    for (const afterHeader of [false, true]) {
      it(`authenticate: ${name} ${afterHeader ? "in the body" : "in the header"} is message.error unreadable`, async () => {
        const r = await authenticate(streamThrowing(make(), afterHeader), envelope, { resolver, authservId: "mx.example" });
        expect(r.message.error).toBe("unreadable");
        expect(r.dmarc?.result).not.toBe("pass");
      });
    }
    it(`verifyDkim and verifyArc: ${name} in the body settles with a verdict`, async () => {
      await expect(verifyDkim(streamThrowing(make(), true), { resolver })).resolves.toEqual([]);
      await expect(verifyArc(streamThrowing(make(), true), { resolver })).resolves.toMatchObject({ result: "none" });
    });
    it(`describeError: ${name} gives text, never throws`, () => {
      expect(typeof describeError(make())).toBe("string");
    });
  }
});
