import { createHash, createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sealArc, verifyArc } from "../../src/arc/index.js";
import { authenticate } from "../../src/authenticate.js";
import { type DkimSignOptions, signDkim, verifyDkim } from "../../src/dkim/index.js";
import { ed25519KeyFromSeed, loadPrivateKey } from "../../src/dkim/private-key.js";
import { FixtureResolver, mergeZones, zoneFromObject } from "../../src/dns/index.js";
import { KeyError, MsgauthError, OptionsError } from "../../src/errors.js";
import { ED_PEM, EXAMPLE_ZONE, exampleResolver, RSA_PEM } from "../helpers/keys.js";

const MESSAGE =
  "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n\r\nHello Bob,\r\n\r\nsee you.\r\n";
const resolver = exampleResolver();
const rsa: DkimSignOptions = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };
const ed: DkimSignOptions = { domain: "example.com", selector: "ed25519", privateKey: ED_PEM };
const rsaKey = createPrivateKey(RSA_PEM);
const edKey = createPrivateKey(ED_PEM);

async function verdict(options: DkimSignOptions): Promise<string> {
  const fields = await signDkim(MESSAGE, options);
  return (await verifyDkim(fields + MESSAGE, { resolver }))[0]!.result;
}

describe("signing keys: one loader for PEM or DER, in text, bytes or a KeyObject", () => {
  const accepted: Array<[string, DkimSignOptions]> = [
    ["RSA PKCS#8 PEM string", rsa],
    ["RSA PEM as a Buffer (fs.readFileSync)", { ...rsa, privateKey: Buffer.from(RSA_PEM) }],
    ["RSA PEM as a Uint8Array with a UTF-8 BOM", { ...rsa, privateKey: new TextEncoder().encode(`\uFEFF${RSA_PEM}`) }],
    ["RSA PKCS#1 PEM", { ...rsa, privateKey: rsaKey.export({ type: "pkcs1", format: "pem" }) as string }],
    ["RSA PKCS#1 DER", { ...rsa, privateKey: rsaKey.export({ type: "pkcs1", format: "der" }) }],
    ["RSA PKCS#8 DER", { ...rsa, privateKey: rsaKey.export({ type: "pkcs8", format: "der" }) }],
    ["RSA KeyObject", { ...rsa, privateKey: rsaKey }],
    [
      "RSA PEM after a certificate-like block",
      { ...rsa, privateKey: `-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n${RSA_PEM}` },
    ],
    ["Ed25519 PKCS#8 PEM string", ed],
    ["Ed25519 PEM as a Buffer", { ...ed, privateKey: Buffer.from(ED_PEM) }],
    ["Ed25519 PKCS#8 DER", { ...ed, privateKey: edKey.export({ type: "pkcs8", format: "der" }) }],
    ["Ed25519 KeyObject", { ...ed, privateKey: edKey }],
    [
      "Ed25519 raw seed through ed25519KeyFromSeed",
      { ...ed, privateKey: ed25519KeyFromSeed(edKey.export({ type: "pkcs8", format: "der" }).subarray(16)) },
    ],
  ];
  for (const [name, options] of accepted)
    it(`${name}: signs, and the signature passes`, async () => expect(await verdict(options)).toBe("pass"));

  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
  const weak = generateKeyPairSync("rsa", { modulusLength: 512 });
  const refused: Array<[string, unknown, string, RegExp]> = [
    ["a public key PEM", createPublicPem(), "ERR_MSGAUTH_KEY_NOT_PRIVATE", /not a private key/],
    ["a public KeyObject", ec.publicKey, "ERR_MSGAUTH_KEY_NOT_PRIVATE", /not a private key/],
    ["a public key in DER bytes", ec.publicKey.export({ type: "spki", format: "der" }), "ERR_MSGAUTH_KEY_NOT_PRIVATE", /not a private key/],
    ["an EC key", ec.privateKey, "ERR_MSGAUTH_KEY_UNSUPPORTED", /unsupported key type ec/],
    [
      "an EC key in SEC1 DER",
      ec.privateKey.export({ type: "sec1", format: "der" }),
      "ERR_MSGAUTH_KEY_UNSUPPORTED",
      /unsupported key type ec/,
    ],
    [
      "a DSA key in PEM",
      dsa.privateKey.export({ type: "pkcs8", format: "pem" }),
      "ERR_MSGAUTH_KEY_UNSUPPORTED",
      /unsupported key type dsa/,
    ],
    ["a 512-bit RSA key", weak.privateKey, "ERR_MSGAUTH_KEY_TOO_SMALL", /512 bits.*RFC 8301/],
    [
      "a 512-bit RSA key in PEM bytes",
      Buffer.from(weak.privateKey.export({ type: "pkcs8", format: "pem" })),
      "ERR_MSGAUTH_KEY_TOO_SMALL",
      /512 bits/,
    ],
    ["text that is not PEM", "hello", "ERR_MSGAUTH_KEY_UNREADABLE", /unreadable key/],
    ["a broken PEM body", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "ERR_MSGAUTH_KEY_UNREADABLE", /unreadable key/],
    [
      "an encrypted PEM",
      rsaKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" }),
      "ERR_MSGAUTH_KEY_UNREADABLE",
      /encrypted/,
    ],
    ["random bytes", Buffer.from("30ff00112233", "hex"), "ERR_MSGAUTH_KEY_UNREADABLE", /neither PEM nor a DER/],
    ["32 raw bytes (a seed, not guessed)", Buffer.alloc(32, 7), "ERR_MSGAUTH_KEY_UNREADABLE", /ed25519KeyFromSeed/],
    ["a number", 42, "ERR_MSGAUTH_KEY_UNREADABLE", /got number/],
  ];
  for (const [name, key, code, message] of refused) {
    it(`${name} is refused by loadPrivateKey, signDkim and sealArc with ${code}`, async () => {
      const check = (err: unknown) => {
        expect(err).toBeInstanceOf(KeyError);
        expect(err).toBeInstanceOf(MsgauthError);
        expect(err).toBeInstanceOf(TypeError);
        expect((err as KeyError).code).toBe(code);
        expect((err as Error).message).toMatch(message);
      };
      try {
        loadPrivateKey(key as string);
        expect.unreachable();
      } catch (err) {
        check(err);
      }
      await signDkim(MESSAGE, { ...rsa, privateKey: key as string }).then(() => expect.unreachable(), check);
      await sealArc(MESSAGE, { ...rsa, privateKey: key as string, authservId: "mx.example.org", resolver }).then(
        () => expect.unreachable(),
        check,
      );
    });
  }

  it("a 1024-bit RSA key is the smallest accepted (RFC 8301 3.2)", () => {
    expect(loadPrivateKey(generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey).asymmetricKeyType).toBe("rsa");
  });
  it("an algorithm that does not fit the key is a KeyError", async () => {
    await expect(signDkim(MESSAGE, { ...ed, algorithm: "rsa-sha256" })).rejects.toMatchObject({ code: "ERR_MSGAUTH_KEY_ALGORITHM" });
  });
});

function createPublicPem(): string {
  return generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
}

// The fixture keys published under the A-label names of an IDN.
const idnZone = (() => {
  const rsaRecord = EXAMPLE_ZONE.get("rsa2048._domainkey.example.com")!.TXT![0]!.join("");
  const edRecord = EXAMPLE_ZONE.get("ed25519._domainkey.example.com")!.TXT![0]!.join("");
  return mergeZones(
    EXAMPLE_ZONE,
    zoneFromObject({
      "rsa2048._domainkey.xn--bcher-kva.example": { TXT: rsaRecord },
      "ed25519._domainkey.xn--bcher-kva.example": { TXT: edRecord },
      "xn--slecteur-b1a._domainkey.xn--bcher-kva.example": { TXT: edRecord },
    }),
  );
})();
const idnResolver = new FixtureResolver(idnZone);
const IDN_MESSAGE = MESSAGE.replace("alice@example.com", "alice@bücher.example");

describe("internationalized signing domains and selectors", () => {
  it("signDkim writes d=, s= and the domain of i= in A-labels (RFC 6376 3.5), and the signature passes", async () => {
    const fields = await signDkim(IDN_MESSAGE, {
      ...ed,
      domain: "Bücher.Example",
      selector: "sélecteur",
      identity: "alice@Bücher.example",
    });
    expect(fields).toContain("d=xn--bcher-kva.example;");
    expect(fields).toContain("s=xn--slecteur-b1a;");
    expect(fields).toContain("i=alice@xn--bcher-kva.example;");
    expect(/^[\x20-\x7e\r\n\t]*$/.test(fields)).toBe(true);
    const [r] = await verifyDkim(fields + IDN_MESSAGE, { resolver: idnResolver });
    expect(r).toMatchObject({ result: "pass", domain: "xn--bcher-kva.example" });
  });
  it("an IDN author domain aligns with the A-label d= (DMARC compares A-labels)", async () => {
    const zone = mergeZones(idnZone, zoneFromObject({ "_dmarc.xn--bcher-kva.example": { TXT: "v=DMARC1; p=reject" } }));
    const fields = await signDkim(IDN_MESSAGE, { ...ed, domain: "bücher.example" });
    const r = await authenticate(
      fields + IDN_MESSAGE,
      { ip: "192.0.2.25" },
      { resolver: new FixtureResolver(zone), authservId: "mx.test" },
    );
    expect(r.dmarc).toMatchObject({ result: "pass", dkim: { aligned: true } });
  });
  it("sealArc writes d= and s= of the AMS and the seal in A-labels, and the chain validates", async () => {
    const sealed = await sealArc(IDN_MESSAGE, {
      domain: "bücher.example",
      selector: "sélecteur",
      privateKey: ED_PEM,
      authservId: "mx.bücher.example",
      resolver: idnResolver,
    });
    if (!sealed.sealed) throw new Error(sealed.reason);
    expect(sealed.headers.match(/d=xn--bcher-kva\.example;/g)).toHaveLength(2);
    expect(sealed.headers.match(/s=xn--slecteur-b1a/g)).toHaveLength(2);
    expect(await verifyArc(sealed.headers + IDN_MESSAGE, { resolver: idnResolver })).toMatchObject({ result: "pass" });
  });
  const bad: Array<[string, Partial<DkimSignOptions>, string]> = [
    ["a domain with a space", { domain: "exa mple.com" }, "options.domain"],
    ["an empty domain", { domain: "" }, "options.domain"],
    ["a selector with a semicolon", { selector: "s1; d=evil.example" }, "options.selector"],
    ["an identity outside d=", { identity: "alice@example.org" }, "options.identity"],
    ["an identity without @", { identity: "alice" }, "options.identity"],
  ];
  for (const [name, patch, path] of bad)
    it(`${name} is refused with an OptionsError at ${path}`, async () => {
      await expect(signDkim(MESSAGE, { ...rsa, ...patch })).rejects.toMatchObject({ name: "OptionsError", path });
    });
  it("the errors are OptionsError instances", async () => {
    await expect(signDkim(MESSAGE, { ...rsa, domain: "" })).rejects.toBeInstanceOf(OptionsError);
  });

  // A DKIM-Signature with U-labels in d= and s=, as RFC 8616 4 recommends for internationalized
  // headers, written by hand (no signer writes it): the verifier looks up the A-label key name.
  it("a received signature with U-label d= and s= verifies against the A-label key (RFC 8616 4)", async () => {
    const body = "Hello Bob,\r\n\r\nsee you.\r\n";
    const bh = createHash("sha256").update(body).digest("base64");
    const headers = "From: Alice <alice@bücher.example>\r\nTo: bob@example.org\r\nSubject: Test\r\n";
    const sigValue = `v=1; a=ed25519-sha256; c=relaxed/relaxed; d=bücher.example; s=sélecteur; h=from:to:subject; bh=${bh}; b=`;
    const canon = `from:Alice <alice@bücher.example>\r\nto:bob@example.org\r\nsubject:Test\r\ndkim-signature:${sigValue}`;
    const b = sign(null, createHash("sha256").update(Buffer.from(canon, "utf8")).digest(), edKey).toString("base64");
    const message = `DKIM-Signature: ${sigValue}${b}\r\n${headers}\r\n${body}`;
    const [r] = await verifyDkim(Buffer.from(message, "utf8"), { resolver: idnResolver });
    expect(r).toMatchObject({ result: "pass", domain: "xn--bcher-kva.example", selector: "xn--slecteur-b1a" });
    // A signature that cannot be read reports d= and s= in A-labels too (never as mojibake).
    const v2 = await verifyDkim(Buffer.from(message.replace("v=1;", "v=2;"), "utf8"), { resolver: idnResolver });
    expect(v2[0]).toMatchObject({ result: "neutral", domain: "xn--bcher-kva.example", selector: "xn--slecteur-b1a" });
    // The same signature, its d= bytes not UTF-8: not a domain, neutral (RFC 8601 2.7.1).
    const latin1 = Buffer.from(message.replace("d=bücher", "d=b\u00fccher"), "latin1");
    expect((await verifyDkim(latin1, { resolver: idnResolver }))[0]).toMatchObject({ result: "neutral" });
  });
});
