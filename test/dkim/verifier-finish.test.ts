import { describe, expect, it } from "vitest";
import { DkimVerifier, signDkim, verifyDkim } from "../../src/dkim/index.js";
import type { Resolver } from "../../src/dns/index.js";
import { splitMessage } from "../../src/message/index.js";
import { ED_PEM, exampleResolver, RSA_PEM } from "../helpers/keys.js";

const MESSAGE = "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\n\r\nHello Bob,\r\n";
const resolver = exampleResolver();

/** The example zone, each answer given after `ms` (a key that arrives after the body ended). */
function withTxt(txt: Resolver["txt"]): Resolver {
  return {
    txt,
    a: (name) => resolver.a(name),
    aaaa: (name) => resolver.aaaa(name),
    mx: (name) => resolver.mx(name),
    ptr: (name) => resolver.ptr(name),
  };
}
const slow = (ms: number) => withTxt((name) => new Promise((ok) => setTimeout(() => ok(resolver.txt(name)), ms)));

async function signed(): Promise<Uint8Array> {
  const fields = await signDkim(MESSAGE, [
    { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM },
    { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
    { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, headers: ["from"] },
    { domain: "example.com", selector: "nokey", privateKey: RSA_PEM },
  ]);
  return Buffer.from(fields + MESSAGE);
}

/** The verdicts DkimVerifier decides once every key answer is in (issue 19: no async step per signature). */
describe("DkimVerifier.finish", () => {
  for (const [name, r] of [
    ["keys answered at once", resolver],
    ["keys answered after the body ended", slow(20)],
  ] as const) {
    it(`${name}: every signature gets its verdict, in order; a second finish() gives the same`, async () => {
      const m = splitMessage(await signed());
      const v = new DkimVerifier(m.headers, { resolver: r });
      v.update(m.body);
      const [first, concurrent] = await Promise.all([v.finish(), v.finish()]);
      const verdicts = first.map((x) => [x.selector, x.result, x.reason]);
      expect(verdicts).toEqual([
        ["rsa2048", "pass", "signature verified"],
        ["ed25519", "pass", "signature verified"],
        ["rsa2048", "pass", "signature verified"],
        ["nokey", "permerror", expect.stringMatching(/^no key at nokey\._domainkey\.example\.com/)],
      ]);
      expect(concurrent).toEqual(first);
      expect(await v.finish()).toEqual(first);
      // Key order of a result object, as the spread copies made it.
      expect(Object.keys(first[0]!)).toEqual([
        "domain",
        "selector",
        "identity",
        "algorithm",
        "canonicalization",
        "testing",
        "signedHeaders",
        "signature",
        "field",
        "timestamp",
        "canonicalBodyLength",
        "keyBits",
        "result",
        "reason",
      ]);
    });
  }

  it("a resolver that never answers within the guard's bounds still lets finish() settle (temperror)", async () => {
    const m = splitMessage(await signed());
    const controller = new AbortController();
    const never = withTxt(() => new Promise(() => {}));
    const v = new DkimVerifier(m.headers, { resolver: never, signal: controller.signal });
    v.update(m.body);
    const done = v.finish();
    controller.abort();
    expect((await done).map((x) => x.result)).toEqual(["temperror", "temperror", "temperror", "temperror"]);
  });

  it("verifyDkim and finish() reject, never throw, for a wrong call or a failing check (they are not async functions)", async () => {
    const bad = [
      () => verifyDkim(MESSAGE, { resolver, maxSignatures: 0 }),
      () => verifyDkim(MESSAGE, { resolver, unknown: 1 } as never),
      () => verifyDkim(42 as never, { resolver }),
      () => verifyDkim(MESSAGE, undefined as never),
    ];
    for (const call of bad) {
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = call();
      }).not.toThrow();
      await expect(promise).rejects.toThrow();
    }
    // Options left out are refused as the schema refuses them (they passed as "just checked" before).
    await expect(verifyDkim(MESSAGE, undefined as never)).rejects.toThrow(/options/);
    expect(() => new DkimVerifier([], undefined as never)).toThrow(/options/);
  });
});
