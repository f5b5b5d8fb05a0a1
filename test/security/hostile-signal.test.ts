import { describe, expect, it } from "vitest";
import { authenticate, checkIprev, checkSpf, FixtureResolver, type Resolver, verifyDkim, zoneFromObject } from "../../src/index.js";
import { collectUnhandled } from "../helpers/hostile.js";
import { exampleResolver, fixture } from "../helpers/keys.js";

// A caller's AbortSignal is read through the platform's own getters and methods, never its own
// properties. Red team: a real signal whose removeEventListener threw left checkSpf and verifyDkim
// waiting past 3 s with an unhandled rejection.
const message = fixture("messages/sample.eml");
const envelope = { ip: "192.0.2.1", helo: "mail.example.com", mailFrom: "alice@example.com" };
const NOW = () => 1_700_000_000_000;

function hostileSignal(which: "removeEventListener" | "addEventListener" | "aborted" | "reason" | "all"): AbortSignal {
  const s = new AbortController().signal;
  const boom = () => {
    throw new Error(`evil ${which}`);
  };
  for (const name of ["removeEventListener", "addEventListener"] as const)
    if (which === name || which === "all") Object.defineProperty(s, name, { value: boom });
  for (const name of ["aborted", "reason"] as const) if (which === name || which === "all") Object.defineProperty(s, name, { get: boom });
  return s;
}

/** A resolver answering a turn later (a promise of its own, not the fixture's fast path). */
function viaPromise(r: Resolver): Resolver {
  const later = <T>(p: Promise<T>) => new Promise<T>((resolve) => setTimeout(() => resolve(p), 1));
  return {
    txt: (n) => later(r.txt(n)),
    a: (n) => later(r.a(n)),
    aaaa: (n) => later(r.aaaa(n)),
    mx: (n) => later(r.mx(n)),
    ptr: (n) => later(r.ptr(n)),
  };
}

const unhandled = collectUnhandled();

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms))]);

describe("a real AbortSignal with hostile own properties", () => {
  for (const which of ["removeEventListener", "addEventListener", "aborted", "reason", "all"] as const)
    for (const kind of ["fixture", "promise"] as const)
      it(`${which}, ${kind} resolver: the same verdicts as without a signal, settled, nothing unhandled`, async () => {
        const resolver = () => (kind === "fixture" ? exampleResolver() : viaPromise(exampleResolver()));
        const plainSpf = await checkSpf(envelope, { resolver: resolver() });
        const spf = await within(checkSpf(envelope, { resolver: resolver(), signal: hostileSignal(which) }), 3000);
        expect(spf.result).toBe(plainSpf.result);
        const plainDkim = await verifyDkim(message, { resolver: resolver(), now: NOW });
        const dkim = await within(verifyDkim(message, { resolver: resolver(), now: NOW, signal: hostileSignal(which) }), 3000);
        expect(dkim.map((d) => d.result)).toEqual(plainDkim.map((d) => d.result));
        const iprev = await within(checkIprev(envelope.ip, { resolver: resolver(), signal: hostileSignal(which) }), 3000);
        expect(iprev.result).toBe((await checkIprev(envelope.ip, { resolver: resolver() })).result);
        const opts = { resolver: resolver(), authservId: "mx.example.org", now: NOW };
        const plain = await authenticate(message, envelope, opts);
        const r = await within(authenticate(message, envelope, { ...opts, resolver: resolver(), signal: hostileSignal(which) }), 3000);
        expect([r.spf?.result, r.dkim.map((d) => d.result), r.dmarc?.result]).toEqual([
          plain.spf?.result,
          plain.dkim.map((d) => d.result),
          plain.dmarc?.result,
        ]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(unhandled).toEqual([]);
      });

  it("an aborted signal whose own `aborted` says false still stops the call (the platform's state is read)", async () => {
    const c = new AbortController();
    c.abort();
    Object.defineProperty(c.signal, "aborted", { get: () => false });
    const r = await within(checkSpf(envelope, { resolver: viaPromise(exampleResolver()), signal: c.signal }), 3000);
    expect(r.result).toBe("temperror");
  });

  it("an object that only inherits from AbortSignal.prototype, or a Proxy hiding a signal's state, is a wrong option", async () => {
    const hiding = new Proxy(new AbortController().signal, {
      get: () => {
        throw new Error("trap");
      },
    });
    const fake = Object.create(AbortSignal.prototype) as AbortSignal;
    const throwing = new Proxy(new AbortController().signal, {
      getPrototypeOf: () => {
        throw new Error("trap");
      },
    });
    const resolver = new FixtureResolver(zoneFromObject({}));
    for (const signal of [hiding, fake, throwing]) {
      await expect(authenticate(message, envelope, { resolver, authservId: "mx", signal })).rejects.toMatchObject({
        code: "ERR_MSGAUTH_INVALID_OPTION",
      });
      // checkSpf and verifyDkim refuse wrong options synchronously or by rejecting: either way, typed.
      await expect((async () => checkSpf(envelope, { resolver, signal }))()).rejects.toMatchObject({ code: "ERR_MSGAUTH_INVALID_OPTION" });
      await expect((async () => verifyDkim(message, { resolver, signal }))()).rejects.toMatchObject({ code: "ERR_MSGAUTH_INVALID_OPTION" });
    }
  });

  it("a Proxy whose traps turn hostile after the options were checked: the call still settles, as aborted, nothing unhandled", async () => {
    let hostile = false;
    const c = new AbortController();
    const turning = new Proxy(c.signal, {
      get: (t, k) => {
        if (hostile) throw new Error("trap");
        return Reflect.get(t, k, t);
      },
    });
    const spf = checkSpf(envelope, { resolver: viaPromise(exampleResolver()), signal: turning });
    const all = authenticate(message, envelope, { resolver: viaPromise(exampleResolver()), authservId: "mx", signal: turning });
    hostile = true;
    // What was asked before it turned is answered; what comes after is not sent (an unreadable
    // signal counts as aborted): a verdict either way, never a throw or a hang.
    expect(typeof (await within(spf, 3000)).result).toBe("string");
    const r = await within(all, 3000);
    expect(typeof r.dmarc?.result).toBe("string");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
  });

  const hostileReasons: Array<[string, () => unknown]> = [
    [
      "an Error whose name getter throws",
      () =>
        Object.defineProperty(new Error("x"), "name", {
          get: () => {
            throw new Error("evil name");
          },
        }),
    ],
    [
      "a Proxy whose getPrototypeOf throws",
      () =>
        new Proxy(
          {},
          {
            getPrototypeOf: () => {
              throw new Error("evil proto");
            },
          },
        ),
    ],
    [
      "an object whose toString throws",
      () => ({
        toString: () => {
          throw new Error("evil toString");
        },
      }),
    ],
  ];
  for (const [name, reason] of hostileReasons)
    for (const when of ["before", "during"] as const)
      it(`aborted ${when} the call with ${name}: temperror, no throw, nothing uncaught (red team: it ended the process)`, async () => {
        const uncaught: unknown[] = [];
        const onUncaught = (e: unknown) => uncaught.push(e);
        process.on("uncaughtException", onUncaught);
        try {
          const c = new AbortController();
          if (when === "before") c.abort(reason());
          else setTimeout(() => c.abort(reason()), 5);
          const slow: Resolver = Object.fromEntries(
            (["txt", "a", "aaaa", "mx", "ptr"] as const).map((t) => [
              t,
              (n: string) => new Promise((r) => setTimeout(() => r(exampleResolver()[t](n)), 40)),
            ]),
          ) as unknown as Resolver;
          const spf = await within(checkSpf(envelope, { resolver: slow, signal: c.signal }), 3000);
          expect(spf.result).toBe("temperror");
          const iprev = await within(checkIprev(envelope.ip, { resolver: slow, signal: c.signal }), 3000);
          expect(iprev.result).toBe("temperror");
          const dkim = await within(verifyDkim(message, { resolver: slow, now: NOW, signal: c.signal }), 3000);
          for (const d of dkim) expect(d.result).not.toBe("pass");
          await new Promise((resolve) => setTimeout(resolve, 60));
          expect(uncaught).toEqual([]);
          expect(unhandled).toEqual([]);
        } finally {
          process.off("uncaughtException", onUncaught);
        }
      });
});
