import { generateKeyPairSync } from "node:crypto";
import { dkimSign as mailauthSign } from "mailauth/lib/dkim/sign.js";
import { describe, expect, it } from "vitest";
import { type DkimSignOptions, signDkim, signMessage, verifyDkim } from "../../src/dkim/index.js";
import { FixtureResolver, mergeZones, type Resolver, zoneFromObject } from "../../src/dns/index.js";
import { ED_PEM, EXAMPLE_ZONE, exampleResolver, RSA_PEM } from "../helpers/keys.js";

const MESSAGE =
  "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n\r\nHello Bob,\r\n\r\nsee you.\r\n";
const rsa: DkimSignOptions = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };
const ed: DkimSignOptions = { domain: "example.com", selector: "ed25519", privateKey: ED_PEM };
const resolver = exampleResolver();

async function results(message: string | Uint8Array, r: Resolver = resolver) {
  return (await verifyDkim(message, { resolver: r })).map((x) => x.result);
}

describe("sign then verify", () => {
  const bodies: Array<[string, string]> = [
    ["a plain body", MESSAGE],
    ["an empty body", MESSAGE.replace(/\r\n\r\n[\s\S]*$/, "\r\n\r\n")],
    ["no body at all", MESSAGE.replace(/\r\n\r\n[\s\S]*$/, "\r\n")],
    ["an 8-bit body", MESSAGE.replace("see you.", "à bientôt \u00ff")],
    ["LF-only line ends", MESSAGE.replace(/\r\n/g, "\n")],
    ["a long folded header", MESSAGE.replace("Subject: Test", `Subject: ${"word ".repeat(40)}\r\n\tmore\r\n ${"x".repeat(300)}`)],
    ["trailing blank lines and white space", `${MESSAGE}  \r\n\r\n\r\n`],
  ];
  for (const canon of ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"] as const) {
    for (const [name, message] of bodies) {
      it(`${canon}, ${name}: RSA and Ed25519 in one pass both pass`, async () => {
        const fields = await signDkim(message, [
          { ...rsa, canonicalization: canon },
          { ...ed, canonicalization: canon, bodyLength: true },
        ]);
        const r = await verifyDkim(fields + message, { resolver });
        expect(r.map((x) => [x.algorithm, x.result, x.canonicalization])).toEqual([
          ["rsa-sha256", "pass", canon],
          ["ed25519-sha256", "pass", canon],
        ]);
      });
    }
  }

  it("writes folded fields of at most 78 columns, in the message's own line ending", async () => {
    const crlf = await signDkim(MESSAGE, rsa);
    for (const line of crlf.split("\r\n")) expect(line.replace("\t", "        ").length).toBeLessThanOrEqual(78);
    const lf = await signDkim(MESSAGE.replace(/\r\n/g, "\n"), rsa);
    expect(lf).not.toContain("\r");
  });

  it("oversigns by default: h= lists From once more than present", async () => {
    const [r] = await verifyDkim(await signMessage(MESSAGE, rsa), { resolver });
    expect(r!.signedHeaders.filter((h) => h === "from")).toHaveLength(2);
    expect(r!.signedHeaders.filter((h) => h === "to")).toHaveLength(2);
  });

  it("sets t=, x= and i= when asked", async () => {
    const fields = await signDkim(MESSAGE, { ...ed, identity: "alice@mail.example.com", timestamp: 1_800_000_000, expiresIn: 3600 });
    expect(fields).toContain("t=1800000000;");
    expect(fields).toContain("x=1800003600;");
    const [r] = await verifyDkim(fields + MESSAGE, { resolver, now: () => 1_800_000_100_000 });
    expect(r).toMatchObject({ result: "pass", identity: "alice@mail.example.com", timestamp: 1_800_000_000, expiration: 1_800_003_600 });
  });

  it("refuses a wrong call: an EC key", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    await expect(signDkim(MESSAGE, { ...rsa, privateKey: ec })).rejects.toThrow(TypeError);
  });
});

describe("tampering", () => {
  const signed = async (opts: Partial<DkimSignOptions> = {}) => new TextDecoder().decode(await signMessage(MESSAGE, [{ ...rsa, ...opts }]));

  it("a changed signed header fails with 'signature'", async () => {
    const r = await verifyDkim((await signed()).replace("Subject: Test", "Subject: Tost"), { resolver });
    expect(r[0]).toMatchObject({ result: "fail", failure: "signature" });
  });
  it("a changed body fails with 'body-hash'", async () => {
    const r = await verifyDkim((await signed()).replace("Hello Bob", "Hello Eve"), { resolver });
    expect(r[0]).toMatchObject({ result: "fail", failure: "body-hash" });
  });
  it("a changed tag fails", async () => {
    const r = await verifyDkim(
      (await signed()).replace(/t=(\d+)/, (_, t) => `t=${Number(t) - 1}`),
      { resolver },
    );
    expect(r[0]).toMatchObject({ result: "fail", failure: "signature" });
  });
  it("an added unsigned header still passes", async () => {
    expect(await results(`X-Added: yes\r\n${await signed()}`)).toEqual(["pass"]);
  });
  it("a second From added above the signed one fails when From is oversigned", async () => {
    expect(await results(`From: Mallory <m@evil.example>\r\n${await signed()}`)).toEqual(["fail"]);
  });
  it("without oversigning the same attack passes: why oversigning is the default", async () => {
    expect(await results(`From: Mallory <m@evil.example>\r\n${await signed({ oversign: false })}`)).toEqual(["pass"]);
  });
  it("with l=, appended content passes but is reported as unsigned", async () => {
    const r = await verifyDkim(`${await signed({ bodyLength: true })}EVIL APPENDED TEXT\r\n`, { resolver });
    expect(r[0]!.result).toBe("pass");
    expect(r[0]!.canonicalBodyLength! - r[0]!.bodyLength!).toBe(20);
    expect(r[0]!.reason).toMatch(/unsigned/);
  });
  it("an l= longer than the body fails", async () => {
    const s = await signed({ bodyLength: true });
    const r = await verifyDkim(s.replace("see you.\r\n", "see\r\n"), { resolver });
    expect(r[0]).toMatchObject({ result: "fail", failure: "body-length" });
  });
});

describe("keys, policy and DNS", () => {
  const message = async (opts: Partial<DkimSignOptions> = {}) =>
    new TextDecoder().decode(await signMessage(MESSAGE, [{ ...rsa, ...opts }]));
  const withKey = (record: string | { timeout: ["TXT"] }) =>
    new FixtureResolver(
      mergeZones(EXAMPLE_ZONE, zoneFromObject({ "rsa2048._domainkey.example.com": typeof record === "string" ? { TXT: record } : record })),
    );

  it("no key record is a permerror", async () => {
    expect((await verifyDkim(await message({ selector: "missing" }), { resolver }))[0]).toMatchObject({ result: "permerror" });
  });
  it("a DNS failure is a temperror", async () => {
    expect(await results(await message(), withKey({ timeout: ["TXT"] }))).toEqual(["temperror"]);
  });
  it("a revoked key is a permerror", async () => {
    const [r] = await verifyDkim(await message(), { resolver: withKey("v=DKIM1; k=rsa; p=") });
    expect(r).toMatchObject({ result: "permerror", reason: expect.stringMatching(/revoked/) });
  });
  it("an Ed25519 key for an RSA signature is a permerror", async () => {
    expect(await results(await message(), withKey("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="))).toEqual([
      "permerror",
    ]);
  });
  it("t=s with i= on a subdomain is a permerror", async () => {
    const rec = EXAMPLE_ZONE.get("rsa2048._domainkey.example.com")!.TXT![0]!.join("").replace("k=rsa;", "k=rsa; t=s;");
    expect(await results(await message({ identity: "@sub.example.com" }), withKey(rec))).toEqual(["permerror"]);
  });
  it("t=y passes and reports testing", async () => {
    const rec = EXAMPLE_ZONE.get("rsa2048._domainkey.example.com")!.TXT![0]!.join("").replace("k=rsa;", "k=rsa; t=y;");
    expect((await verifyDkim(await message(), { resolver: withKey(rec) }))[0]).toMatchObject({ result: "pass", testing: true });
  });
  it("an RSA key under 1024 bits is refused (policy), with no option needed", async () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 768 });
    const p = weak.publicKey.export({ type: "spki", format: "der" }).toString("base64");
    // msgauth refuses to sign with such a key (test/dkim/signing-keys.test.ts): mailauth still does.
    const { signatures } = await mailauthSign(Buffer.from(MESSAGE), {
      signTime: new Date(),
      signatureData: [
        { signingDomain: "example.com", selector: "rsa2048", privateKey: weak.privateKey.export({ type: "pkcs8", format: "pem" }) },
      ],
    } as unknown as Parameters<typeof mailauthSign>[1]);
    const m = signatures + MESSAGE;
    const [r] = await verifyDkim(m, { resolver: withKey(`v=DKIM1; k=rsa; p=${p}`) });
    expect(r).toMatchObject({ result: "policy", keyBits: 768 });
  });
  it("an expired signature is refused (policy)", async () => {
    const m = await message({ timestamp: 1_000_000_000, expiresIn: 60 });
    expect(await results(m)).toEqual(["policy"]);
  });
  it("a timestamp in the future is refused (policy)", async () => {
    expect(await results(await message({ timestamp: Math.floor(Date.now() / 1000) + 86_400 }))).toEqual(["policy"]);
  });
  it("signatures past maxSignatures are reported neutral, not checked", async () => {
    const many = await signDkim(
      MESSAGE,
      Array.from({ length: 4 }, () => ed),
    );
    const r = await verifyDkim(many + MESSAGE, { resolver, maxSignatures: 2 });
    expect(r.map((x) => x.result)).toEqual(["pass", "pass", "neutral", "neutral"]);
  });
  it("a broken signature next to a good one: each gets its own result", async () => {
    const good = await signDkim(MESSAGE, ed);
    const r = await verifyDkim(`DKIM-Signature: v=1; a=rsa-sha256; b=\r\n${good}${MESSAGE}`, { resolver });
    expect(r.map((x) => x.result)).toEqual(["neutral", "pass"]);
  });
  it("a message with no signature gives no results", async () => {
    expect(await verifyDkim(MESSAGE, { resolver })).toEqual([]);
  });
});
