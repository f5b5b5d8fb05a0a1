import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  ArcVerifier,
  ArgumentError,
  arcOverride,
  authenticate,
  BudgetedResolver,
  buildDsn,
  CachingResolver,
  checkDmarc,
  checkDnsbl,
  checkDomainBl,
  checkIprev,
  checkSenderNullMx,
  checkSpf,
  checkSpfHelo,
  createArcSealer,
  DkimSignStream,
  DkimVerifier,
  envelopeFromMessage,
  FixtureResolver,
  MsgauthError,
  NodeResolver,
  OptionsError,
  parseAuthor,
  parseCommand,
  parseZoneFile,
  RateLimiter,
  receivedSpf,
  resolveNextHop,
  SmtpSession,
  sealArc,
  signDkim,
  signMessage,
  verifyArc,
  verifyDkim,
} from "../src/index.js";
import { EXAMPLE_ZONE, exampleResolver, RSA_PEM } from "./helpers/keys.js";

const MESSAGE = "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\n\r\nHello\r\n";
const resolver = exampleResolver();
const sign = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };
const spfResult = await checkSpf({ ip: "192.0.2.1", mailFrom: "alice@example.com" }, { resolver });

/** Every public entry point that takes an options object, called with one unknown key. */
const entryPoints: Array<[string, (extra: Record<string, unknown>) => unknown]> = [
  ["authenticate (options)", (x) => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, authservId: "mx", ...x })],
  ["authenticate (envelope)", (x) => authenticate(MESSAGE, { ip: "192.0.2.1", ...x }, { resolver, authservId: "mx" })],
  [
    "authenticate (options.seal)",
    (x) => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, authservId: "mx", seal: { ...sign, ...x } }),
  ],
  [
    "authenticate (options.seal with a sealer)",
    (x) => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, authservId: "mx", seal: { sealer: createArcSealer(sign), ...x } }),
  ],
  ["checkSpf (params)", (x) => checkSpf({ ip: "192.0.2.1", ...x }, { resolver })],
  ["checkSpf (options)", (x) => checkSpf({ ip: "192.0.2.1" }, { resolver, ...x })],
  ["checkSpfHelo (params)", (x) => checkSpfHelo({ ip: "192.0.2.1", helo: "mx.example.com", ...x }, { resolver })],
  ["checkSpfHelo (options)", (x) => checkSpfHelo({ ip: "192.0.2.1", helo: "mx.example.com" }, { resolver, ...x })],
  ["verifyDkim", (x) => verifyDkim(MESSAGE, { resolver, ...x })],
  ["DkimVerifier", (x) => new DkimVerifier([], { resolver, ...x })],
  ["signDkim", (x) => signDkim(MESSAGE, { ...sign, ...x })],
  ["signDkim (second of a list)", (x) => signDkim(MESSAGE, [sign, { ...sign, ...x }])],
  ["signMessage", (x) => signMessage(MESSAGE, { ...sign, ...x })],
  ["DkimSignStream", (x) => new DkimSignStream({ ...sign, ...x })],
  ["sealArc", (x) => sealArc(MESSAGE, { ...sign, authservId: "mx", resolver, ...x })],
  ["createArcSealer", (x) => createArcSealer({ ...sign, ...x })],
  ["ArcSealer.seal", (x) => createArcSealer(sign).seal(MESSAGE, { authservId: "mx", resolver, ...x })],
  ["verifyArc", (x) => verifyArc(MESSAGE, { resolver, ...x })],
  ["ArcVerifier", (x) => new ArcVerifier([], { resolver, ...x })],
  ["arcOverride", (x) => arcOverride({}, { trustedSealers: [], ...x })],
  ["checkDmarc", (x) => checkDmarc({ author: parseAuthor([]), dkim: [] }, { resolver, ...x })],
  ["checkIprev", (x) => checkIprev("192.0.2.1", { resolver, ...x })],
  ["checkDnsbl", (x) => checkDnsbl("192.0.2.1", ["bl.example"], { resolver, ...x })],
  ["checkDomainBl", (x) => checkDomainBl("example.com", ["bl.example"], { resolver, ...x })],
  ["resolveNextHop", (x) => resolveNextHop("example.com", { resolver, ...x })],
  ["checkSenderNullMx", (x) => checkSenderNullMx("example.com", { resolver, ...x })],
  ["receivedSpf", (x) => receivedSpf(spfResult, { ...x })],
  ["BudgetedResolver", (x) => new BudgetedResolver(resolver, { ...x })],
  ["CachingResolver", (x) => new CachingResolver(resolver, { ...x })],
  ["NodeResolver", (x) => new NodeResolver({ ...x })],
  ["FixtureResolver", (x) => new FixtureResolver(EXAMPLE_ZONE, { ...x })],
  ["parseZoneFile", (x) => parseZoneFile("", { ...x })],
  ["SmtpSession", (x) => new SmtpSession({ hostname: "mx.example.org", clientIp: "192.0.2.1", ...x })],
  ["parseCommand", (x) => parseCommand("NOOP", { ...x })],
  [
    "buildDsn",
    (x) =>
      buildDsn({
        reportingMta: "mx.example.org",
        envelope: { mailFrom: "a@example.com" },
        recipients: [],
        original: new Uint8Array(),
        ...x,
      }),
  ],
  ["envelopeFromMessage", (x) => envelopeFromMessage(MESSAGE, { ...x })],
  ["RateLimiter", (x) => new RateLimiter({ capacity: 10, refillPerSecond: 1, ...x })],
];

async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("every entry point refuses unknown options, naming the key", () => {
  for (const [name, call] of entryPoints) {
    it(name, async () => {
      // The call without the extra key works (it is the unknown key that is refused)...
      expect(await thrown(() => call({}))).toBeUndefined();
      // ...and with it, a typed error names it.
      const err = await thrown(() => call({ colour: "blue" }));
      expect(err).toBeInstanceOf(OptionsError);
      expect(err).toBeInstanceOf(MsgauthError);
      expect(err).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: "ERR_MSGAUTH_UNKNOWN_OPTION", path: expect.stringMatching(/\.colour$/) });
      expect((err as Error).message).toMatch(/colour: unknown option/);
    });
  }
});

describe("mailauth's names get the msgauth name", () => {
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    [
      "authenticate envelope sender (SPF used to check the HELO name instead)",
      () => authenticate(MESSAGE, { ip: "192.0.2.1", helo: "mx.example.com", sender: "alice@example.com" } as never, { resolver }),
      "envelope.sender",
      /envelope\.mailFrom/,
    ],
    [
      "authenticate envelope mta",
      () => authenticate(MESSAGE, { ip: "192.0.2.1", mta: "mx.example.org" } as never, { resolver }),
      "envelope.mta",
      /options\.authservId/,
    ],
    [
      "authenticate options mta",
      () => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, mta: "mx" } as never),
      "options.mta",
      /authservId/,
    ],
    [
      "authenticate options ip",
      () => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, ip: "192.0.2.1" } as never),
      "options.ip",
      /envelope\.ip/,
    ],
    [
      "authenticate options privateKey (a signing key in the wrong place)",
      () => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, privateKey: RSA_PEM } as never),
      "options.privateKey",
      /seal\.privateKey/,
    ],
    [
      "authenticate options trustReceived",
      () => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, trustReceived: true } as never),
      "options.trustReceived",
      /envelopeFromMessage/,
    ],
    [
      "authenticate seal signingDomain",
      () =>
        authenticate(MESSAGE, { ip: "192.0.2.1" }, {
          resolver,
          seal: { signingDomain: "example.com", selector: "s", privateKey: RSA_PEM },
        } as never),
      "options.seal.signingDomain",
      /domain/,
    ],
    ["checkSpf sender", () => checkSpf({ ip: "192.0.2.1", sender: "a@example.com" } as never, { resolver }), "params.sender", /mailFrom/],
    [
      "checkSpf options sender",
      () => checkSpf({ ip: "192.0.2.1" }, { resolver, sender: "a@example.com" } as never),
      "options.sender",
      /params\.mailFrom/,
    ],
    ["checkSpf mta", () => checkSpf({ ip: "192.0.2.1" }, { resolver, mta: "mx" } as never), "options.mta", /receiver/],
    [
      "checkSpf maxResolveCount",
      () => checkSpf({ ip: "192.0.2.1" }, { resolver, maxResolveCount: 5 } as never),
      "options.maxResolveCount",
      /maxLookups/,
    ],
    ["verifyDkim minBitLength", () => verifyDkim(MESSAGE, { resolver, minBitLength: 2048 } as never), "options.minBitLength", /minRsaBits/],
    [
      "signDkim signingDomain",
      () => signDkim(MESSAGE, { signingDomain: "example.com", selector: "s", privateKey: RSA_PEM } as never),
      "options.signingDomain",
      /domain/,
    ],
    [
      "signDkim signatureData",
      () => signDkim(MESSAGE, { ...sign, signatureData: [] } as never),
      "options.signatureData",
      /array of signing options/,
    ],
    ["signDkim headerList", () => signDkim(MESSAGE, { ...sign, headerList: ["from"] } as never), "options.headerList", /headers/],
    ["sealArc cv", () => sealArc(MESSAGE, { ...sign, authservId: "mx", resolver, cv: "pass" } as never), "options.cv", /chain/],
  ];
  for (const [name, call, path, hint] of cases) {
    it(name, async () => {
      const err = await thrown(call);
      expect(err).toBeInstanceOf(OptionsError);
      expect(err).toMatchObject({ path, suggestion: expect.stringMatching(hint) });
      expect((err as Error).message).toMatch(hint);
    });
  }

  it("a mailauth-style resolver function is refused with the way to wrap it", async () => {
    const err = await thrown(() => verifyDkim(MESSAGE, { resolver: (async () => []) as never }));
    expect(err).toMatchObject({ code: "ERR_MSGAUTH_INVALID_OPTION", path: "options.resolver" });
    expect((err as Error).message).toMatch(/fromResolveFunction/);
  });
  it("a wrong type names the option", async () => {
    const err = await thrown(() => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, limits: { maxDnsQueries: -1 } }));
    expect(err).toMatchObject({ code: "ERR_MSGAUTH_INVALID_OPTION", path: "options.limits.maxDnsQueries" });
  });
  it("a message that is not bytes, text or a stream is an ArgumentError", async () => {
    for (const call of [
      () => authenticate(42 as never, { ip: "192.0.2.1" }),
      () => signDkim({} as never, sign),
      () => sealArc(null as never, { ...sign, authservId: "mx", resolver }),
    ])
      expect(await thrown(call)).toMatchObject({ name: "ArgumentError", code: "ERR_MSGAUTH_INVALID_ARGUMENT" });
    expect(await thrown(() => authenticate(Readable.from([MESSAGE]), { ip: "192.0.2.1" }, { resolver, authservId: "mx" }))).toBeUndefined();
    expect(new ArgumentError("x")).toBeInstanceOf(MsgauthError);
  });
});

describe("options marked as checked are msgauth's own", () => {
  it("a caller's object carrying a symbol that looks like msgauth's mark is still checked", async () => {
    const mark = Symbol("msgauth: options checked");
    const resolver = exampleResolver();
    const params = { ip: "192.0.2.1", mailFrom: "a@example.com", [mark]: true };
    expect(() => checkSpf(params as never, { resolver, colour: 1, [mark]: true } as never)).toThrow(OptionsError);
    expect(() => checkSpf({ ip: 1, [mark]: true } as never, { resolver })).toThrow(OptionsError);
    await expect(checkIprev("192.0.2.1", { resolver, colour: 1, [mark]: true } as never)).rejects.toThrow(OptionsError);
  });
});
