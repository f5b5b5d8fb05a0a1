import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  ArcSealer,
  type ArcSealOptions,
  ArgumentError,
  authenticate,
  createArcSealer,
  createDkimSigner,
  FixtureResolver,
  KeyError,
  loadPrivateKey,
  OptionsError,
  sealArc,
  verifyArc,
  type Zone,
} from "../../src/index.js";
import { ED_PEM, exampleResolver, fixture, RSA_PEM } from "../helpers/keys.js";
import { suitePath } from "../helpers/suites.js";

const resolver = exampleResolver();
const sample = fixture("messages/sample.eml").toString().replace(/\r?\n/g, "\r\n");
const rsa = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };
const ed = { domain: "example.com", selector: "ed25519", privateKey: ED_PEM };
const NOW = () => Date.parse("2026-11-20T12:00:00Z");

/** sealArc's result and the sealer's for the same inputs (the sealer made from the identity part). */
async function both(message: () => string | Uint8Array | Readable, options: ArcSealOptions) {
  const { domain, selector, privateKey, ...call } = options;
  const sealer = createArcSealer({ domain, selector, privateKey });
  return { once: await sealArc(message(), options), sealer: await sealer.seal(message(), call) };
}

describe("createArcSealer: options checked and key loaded once, the same ARC set as sealArc", () => {
  const cases: Array<[string, ArcSealOptions]> = [
    ["RSA, chain validated with the resolver", { ...rsa, authservId: "mx.example.org", resolver, timestamp: 1_795_000_000 }],
    ["Ed25519, chain validated with the resolver", { ...ed, authservId: "mx.example.org", resolver, timestamp: 1_795_000_000 }],
    [
      "given chain and A-R payload, chosen headers",
      {
        ...rsa,
        authservId: "mx.example.org",
        chain: { result: "none", reason: "no chain", instances: 0, sets: [] },
        authResults: "mx.example.org; spf=pass smtp.mailfrom=example.com",
        headers: ["from", "subject", "to"],
        timestamp: 1_795_000_001,
      },
    ],
    ["t= left out", { ...rsa, authservId: "mx.example.org", resolver, timestamp: false }],
    ["t= from the clock", { ...ed, authservId: "mx.example.org", resolver, now: NOW }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: equal output, and the chain verifies`, async () => {
      const r = await both(() => sample, options);
      expect(r.sealer).toEqual(r.once);
      if (!r.sealer.sealed) throw new Error(`not sealed: ${JSON.stringify(r.sealer)}`);
      expect(await verifyArc(r.sealer.headers + sample, { resolver })).toMatchObject({ result: "pass", instances: 1 });
    });
  }

  it("a second hop (instance 2, cv=pass) and a stream: equal output, the chain verifies", async () => {
    const hop1 = await createArcSealer(rsa).seal(sample, { authservId: "mx.example.org", resolver, timestamp: 1_795_000_000 });
    if (!hop1.sealed) throw new Error(hop1.reason);
    const m = hop1.headers + sample;
    const chunks = () => Readable.from([Buffer.from(m.slice(0, 100)), Buffer.from(m.slice(100))]);
    const r = await both(chunks, { ...ed, authservId: "relay.example.net", resolver, timestamp: 1_795_000_100 });
    expect(r.sealer).toEqual(r.once);
    expect(r.sealer).toMatchObject({ sealed: true, instance: 2, cv: "pass" });
    if (!r.sealer.sealed) return;
    expect(await verifyArc(r.sealer.headers + m, { resolver })).toMatchObject({ result: "pass", instances: 2 });
  });

  it("not sealed for the same reasons: a failing stream, a chain that already failed", async () => {
    async function* failing() {
      yield Buffer.from(sample.slice(0, 120));
      throw new Error("connection reset");
    }
    const r = await both(() => Readable.from(failing()), { ...rsa, authservId: "mx.example.org", resolver });
    expect(r.sealer).toEqual(r.once);
    expect(r.sealer).toMatchObject({ sealed: false, reason: expect.stringMatching(/could not be read whole: .*connection reset/) });
    const hop1 = await sealArc(sample, { ...rsa, authservId: "mx.example.org", resolver, timestamp: 1 });
    if (!hop1.sealed) throw new Error(hop1.reason);
    const failed = hop1.headers.replace("cv=none", "cv=fail") + sample;
    const again = await both(() => failed, { ...rsa, authservId: "relay.example.net", resolver, timestamp: 2 });
    expect(again.sealer).toEqual(again.once);
    expect(again.sealer).toMatchObject({ sealed: false, reason: expect.stringMatching(/cv=fail/) });
  });

  it("headers and timestamp given at creation are the defaults of every seal; per call they win", async () => {
    const list = ["from", "subject"];
    const sealer = createArcSealer({ ...rsa, headers: list, timestamp: 1_795_000_000 });
    list.push("to"); // a copy was kept: later changes to the caller's list do not reach the sealer
    const call = { authservId: "mx.example.org", resolver };
    expect(await sealer.seal(sample, call)).toEqual(
      await sealArc(sample, { ...rsa, ...call, headers: ["from", "subject"], timestamp: 1_795_000_000 }),
    );
    expect(await sealer.seal(sample, { ...call, headers: ["from", "to"], timestamp: false })).toEqual(
      await sealArc(sample, { ...rsa, ...call, headers: ["from", "to"], timestamp: false }),
    );
  });

  it("holds the loaded key, not the PEM: nothing of it is reachable from the object", () => {
    const sealer = createArcSealer(rsa);
    expect(sealer).toBeInstanceOf(ArcSealer);
    expect(Object.getOwnPropertyNames(sealer)).toEqual([]);
    expect(JSON.stringify(sealer)).toBe("{}");
  });

  it("a KeyObject works as the key, and gives the same set as the PEM", async () => {
    const call = { authservId: "mx.example.org", resolver, timestamp: 5 };
    expect(await createArcSealer({ ...rsa, privateKey: loadPrivateKey(RSA_PEM) }).seal(sample, call)).toEqual(
      await createArcSealer(rsa).seal(sample, call),
    );
  });
});

describe("createArcSealer: wrong calls throw typed errors, at creation for the identity", () => {
  const creation: Array<[string, () => unknown, typeof OptionsError | typeof KeyError, RegExp]> = [
    [
      "a public key",
      () => createArcSealer({ ...rsa, privateKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }),
      KeyError,
      /not a private key/,
    ],
    ["bytes that are no key", () => createArcSealer({ ...rsa, privateKey: Buffer.from("nope") }), KeyError, /unreadable key/],
    ["an unknown option", () => createArcSealer({ ...rsa, authservid: "x" } as never), OptionsError, /options\.authservid: unknown option/],
    ["no key", () => createArcSealer({ domain: "example.com", selector: "s" } as never), OptionsError, /options\.privateKey/],
    ["a domain that is no DNS name", () => createArcSealer({ ...rsa, domain: "exa mple.com" }), OptionsError, /options\.domain/],
    ["a bad timestamp", () => createArcSealer({ ...rsa, timestamp: -1 }), OptionsError, /options\.timestamp/],
    ["the constructor, as createArcSealer", () => new ArcSealer({ ...rsa, colour: 1 } as never), OptionsError, /options\.colour/],
  ];
  for (const [name, call, type, message] of creation) {
    it(`${name}: ${type.name}`, () => {
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });
  }

  it("per call: unknown options, the identity again, neither chain nor resolver, a message of the wrong kind", async () => {
    const sealer = createArcSealer(rsa);
    await expect(sealer.seal(sample, { authservId: "mx", resolver, colour: 1 } as never)).rejects.toMatchObject({
      code: "ERR_MSGAUTH_UNKNOWN_OPTION",
      path: "options.colour",
    });
    const again = sealer.seal(sample, { authservId: "mx", resolver, privateKey: RSA_PEM } as never);
    await expect(again).rejects.toBeInstanceOf(OptionsError);
    await expect(again).rejects.toThrow(/options\.privateKey: unknown option; in msgauth this is nothing: the sealer's own/);
    await expect(sealer.seal(sample, { authservId: "mx" })).rejects.toMatchObject({ path: "options.resolver" });
    await expect(sealer.seal(sample, { resolver } as never)).rejects.toMatchObject({ path: "options.authservId" });
    await expect(sealer.seal(42 as never, { authservId: "mx", resolver })).rejects.toBeInstanceOf(ArgumentError);
  });
});

describe("authenticate({ seal: { sealer } }): the same set as seal: { domain, selector, privateKey }", () => {
  const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
  const base = { resolver, authservId: "mx.example.org", now: NOW };

  it("RSA and Ed25519, with the sealer's defaults and with per-call headers and timestamp", async () => {
    for (const identity of [rsa, ed]) {
      const sealer = createArcSealer(identity);
      const byKey = await authenticate(sample, envelope, { ...base, seal: identity });
      const bySealer = await authenticate(sample, envelope, { ...base, seal: { sealer } });
      expect(bySealer.prepend).toBe(byKey.prepend);
      expect(bySealer.arcSeal).toEqual(byKey.arcSeal);
      expect(bySealer.arcSeal).toMatchObject({ sealed: true, instance: 1 });
      expect(await verifyArc(bySealer.prepend + sample, { resolver })).toMatchObject({ result: "pass", instances: 1 });
      const perCall = { headers: ["from", "date"], timestamp: 1_795_000_000 };
      const withDefaults = createArcSealer({ ...identity, ...perCall });
      const expected = (await authenticate(sample, envelope, { ...base, seal: { ...identity, ...perCall } })).prepend;
      expect((await authenticate(sample, envelope, { ...base, seal: { sealer, ...perCall } })).prepend).toBe(expected);
      expect((await authenticate(sample, envelope, { ...base, seal: { sealer: withDefaults } })).prepend).toBe(expected);
    }
  });

  it("refuses a sealer beside a key, something that is not an ArcSealer, and unknown keys", async () => {
    const sealer = createArcSealer(rsa);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ sealer, privateKey: RSA_PEM }, "options.seal.privateKey", /the sealer's own/],
      [{ sealer, domain: "example.com" }, "options.seal.domain", /the sealer's own/],
      [{ sealer, authservId: "x" }, "options.seal.authservId", /options\.authservId/],
      [{ sealer, colour: 1 }, "options.seal.colour", /unknown option/],
      [{ sealer: createDkimSigner(rsa) }, "options.seal.sealer", /ArcSealer/],
      [{ sealer: {} }, "options.seal.sealer", /ArcSealer/],
      [{ sealer, timestamp: "now" }, "options.seal.timestamp", /timestamp/],
    ];
    for (const [seal, path, message] of cases) {
      const p = authenticate(sample, envelope, { ...base, seal: seal as never });
      await expect(p).rejects.toBeInstanceOf(OptionsError);
      await expect(p).rejects.toMatchObject({ path });
      await expect(p).rejects.toThrow(message);
    }
  });
});

// The ARC signing suite's cases (suite keys, headers and times): the sealer writes what sealArc writes.
const signing = suitePath("arc/arc-draft-sign-tests.yml");
describe.skipIf(!signing.present)("ARC signing suite: sealer and sealArc agree on every case", () => {
  type Doc = { description: string; tests: Record<string, Record<string, string>>; "txt-records"?: Record<string, string> } & {
    domain?: string;
    sel?: string;
    privatekey?: string;
  };
  const docs = signing.present ? parseAllDocuments(readFileSync(signing.path, "utf8")).map((d) => d.toJS() as Doc) : [];
  for (const doc of docs.filter((d) => d?.tests)) {
    const zone: Zone = new Map();
    for (const [name, value] of Object.entries(doc["txt-records"] ?? {})) zone.set(name.toLowerCase(), { TXT: [[String(value)]] });
    it(doc.description.trim(), async () => {
      const sealer = createArcSealer({ domain: doc.domain!, selector: doc.sel!, privateKey: doc.privatekey! });
      let sealed = 0;
      for (const test of Object.values(doc.tests)) {
        const call = {
          authservId: String(test["srv-id"]),
          headers: String(test["sig-headers"]).split(":"),
          timestamp: Number(test.t),
          resolver: new FixtureResolver(zone),
        };
        const ours = await sealer.seal(String(test.message), call);
        const once = await sealArc(String(test.message), { domain: doc.domain!, selector: doc.sel!, privateKey: doc.privatekey!, ...call });
        expect(ours).toEqual(once);
        if (ours.sealed) sealed++;
      }
      expect(sealed + Object.values(doc.tests).filter((t) => String(t.AS ?? "").trim() === "").length).toBe(Object.keys(doc.tests).length);
    });
  }
});
