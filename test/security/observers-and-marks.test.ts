import { describe, expect, it } from "vitest";
import {
  authenticate,
  BudgetedResolver,
  checkDmarc,
  checkSpf,
  DmarcLookups,
  guardResolver,
  parseAuthor,
  splitMessage,
} from "../../src/index.js";
import { collectUnhandled, neverAnswers } from "../helpers/hostile.js";
import { exampleResolver, fixture } from "../helpers/keys.js";

// Red team, round 3: observers (onQuery, onTiming, the logger) and the mark msgauth puts on the
// options it already checked.
const message = fixture("messages/sample.eml");
const envelope = { ip: "192.0.2.1", helo: "mail.example.com", mailFrom: "alice@example.com" };
const NOW = () => 1_700_000_000_000;
const words = (r: Awaited<ReturnType<typeof authenticate>>) => [
  r.spf?.result,
  r.dkim.map((d) => d.result),
  r.dmarc?.result,
  r.message.error,
];

const unhandled = collectUnhandled();

describe("observers change nothing, whatever they do", () => {
  const boom = () => {
    throw new Error("observer bug");
  };
  const rejecting = async () => {
    throw new Error("async observer bug");
  };
  const observers: Array<[string, Record<string, unknown>, "stream"?]> = [
    ["logger.debug throws", { logger: { debug: boom } }],
    ["logger.warn throws (an unreadable stream)", { logger: { warn: boom } }, "stream"],
    ["a logger whose methods are getters that throw", { logger: Object.defineProperty({}, "debug", { get: boom }) }],
    ["an async logger.debug that rejects", { logger: { debug: rejecting } }],
    ["an async onTiming that rejects", { onTiming: rejecting }],
    ["an async onQuery that rejects", { onQuery: rejecting }],
    // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is what this row is about
    ["onQuery returns a thenable whose then throws", { onQuery: () => ({ then: boom }) }],
  ];
  for (const [name, extra, stream] of observers)
    it(`${name}: the result of a call without it, nothing unhandled`, async () => {
      const input = () =>
        stream
          ? (async function* () {
              yield message.subarray(0, 200);
              throw new Error("connection reset");
            })()
          : message;
      const opts = { resolver: exampleResolver(), authservId: "mx.example.org", now: NOW };
      const plain = await authenticate(input(), envelope, opts);
      const r = await authenticate(input(), envelope, { ...opts, resolver: exampleResolver(), ...extra });
      expect(words(r)).toEqual(words(plain));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    });
});

describe("the mark on options msgauth checked cannot be answered by a caller's object", () => {
  /** A Proxy that answers `true`, or the symbol itself, for every symbol key it is asked for. */
  const answering = <T extends object>(target: T, answer: (key: symbol) => unknown) =>
    new Proxy(target, { get: (t, k, r) => (typeof k === "symbol" ? answer(k) : Reflect.get(t, k, r)) });
  const never = neverAnswers;
  for (const [name, answer] of [
    ["true", () => true],
    ["the key itself", (k: symbol) => k],
  ] as const)
    it(`a Proxy answering ${name}: its options are checked (a wrong value refused, an infinite timeout too)`, async () => {
      const bad = answering({ resolver: 42 }, answer);
      await expect((async () => checkSpf(envelope, bad as never))()).rejects.toMatchObject({ code: "ERR_MSGAUTH_INVALID_OPTION" });
      const budget = answering({ queryTimeoutMs: Number.POSITIVE_INFINITY }, answer);
      expect(() => new BudgetedResolver(never, budget as never)).toThrow(expect.objectContaining({ code: "ERR_MSGAUTH_INVALID_OPTION" }));
    });
});

describe("caller functions never get msgauth's own objects as `this` (red team round 4)", () => {
  it("now, onQuery and onTiming are called without a `this`: nothing of msgauth's can be read or changed through it", async () => {
    const seen: unknown[] = [];
    const r = await authenticate(message, envelope, {
      resolver: exampleResolver(),
      authservId: "mx.example.org",
      now: function (this: unknown) {
        seen.push(this);
        return 1_700_000_000_000;
      },
      onQuery: function (this: unknown) {
        seen.push(this);
      },
      onTiming: function (this: unknown) {
        seen.push(this);
      },
    });
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every((t) => t === undefined)).toBe(true);
    expect(r.dmarc?.result).toBe(
      (await authenticate(message, envelope, { resolver: exampleResolver(), authservId: "mx.example.org", now: NOW })).dmarc?.result,
    );
  });

  it("a BudgetedResolver's counters are read-only: assigning one throws, the checks are unchanged", async () => {
    const b = new BudgetedResolver(exampleResolver(), { maxQueries: 50 });
    expect(() => {
      (b as unknown as { queries: unknown }).queries = {
        valueOf: () => {
          throw new Error("evil");
        },
      };
    }).toThrow(TypeError);
    expect(b.queries).toBe(0);
    expect((await checkSpf(envelope, { resolver: b })).result).toBe((await checkSpf(envelope, { resolver: exampleResolver() })).result);
  });

  it("guardResolver's wrapper is frozen: its methods cannot be replaced for the later calls that reuse it", () => {
    const r = exampleResolver();
    const g = guardResolver(r);
    expect(Object.isFrozen(g)).toBe(true);
    expect(() => {
      (g as { txt: unknown }).txt = () => new Promise(() => {});
    }).toThrow(TypeError);
    expect(guardResolver(r)).toBe(g);
  });

  it("checkDmarc's shared lookups must be made by new DmarcLookups: anything else is a wrong option, and they cannot be changed", async () => {
    const parsed = splitMessage(message);
    const author = parseAuthor(parsed.headers, parsed);
    const spf = await checkSpf(envelope, { resolver: exampleResolver() });
    const resolver = exampleResolver();
    class Sub extends DmarcLookups {}
    for (const lookups of [{}, new Sub(resolver), new Proxy(new DmarcLookups(resolver), {})])
      await expect(
        (async () => checkDmarc({ author, spf, dkim: [] }, { resolver, lookups: lookups as DmarcLookups }))(),
      ).rejects.toMatchObject({
        code: "ERR_MSGAUTH_INVALID_OPTION",
      });
    const own = new DmarcLookups(resolver);
    expect(() => {
      (own as unknown as { record: unknown }).record = () => new Promise(() => {});
    }).toThrow(TypeError);
    expect((await checkDmarc({ author, spf, dkim: [] }, { resolver, lookups: own })).result).toBeTypeOf("string");
  });

  it("the guard's options are type-checked, and a timeout reason is cleaned and capped", async () => {
    const never = neverAnswers;
    expect(() => guardResolver(never, { onSent: 5 as never })).toThrow(expect.objectContaining({ code: "ERR_MSGAUTH_INVALID_OPTION" }));
    expect(() => guardResolver(never, { timeoutMs: 5, timeoutReason: Symbol() as never })).toThrow(
      expect.objectContaining({ code: "ERR_MSGAUTH_INVALID_OPTION" }),
    );
    const a = await guardResolver(never, { timeoutMs: 5, timeoutReason: `slow\r\n\u202e${"x".repeat(600)}` }).txt("example.com");
    expect(a.kind).toBe("error");
    const reason = (a as { reason: string }).reason;
    expect(reason).not.toMatch(/[\r\n]/);
    expect(reason.length).toBeLessThanOrEqual(210);
  });
});
