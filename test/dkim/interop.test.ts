import { describe, expect, it } from "vitest";
import { signDkim, verifyDkim } from "../../src/dkim/index.js";
import { ED_PEM, exampleResolver, mailauthResolver, RSA_PEM } from "../helpers/keys.js";
import { MAILAUTH_PEERS, warnSkippedPeers } from "../helpers/mailauth-peers.js";

const resolver = exampleResolver();
const maResolver = mailauthResolver(resolver);

const BASE =
  "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Interop\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <2@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello  Bob, \r\n\r\nbye\r\n";
const MESSAGES: Array<[string, string]> = [
  ["plain", BASE],
  ["8-bit body", BASE.replace("bye", "Grüße, ça va? \u00ff\u2603")],
  ["LF-only", BASE.replace(/\r\n/g, "\n")],
  ["empty body", BASE.replace(/\r\n\r\n[\s\S]*$/, "\r\n\r\n")],
  ["long folded header", BASE.replace("Subject: Interop", `Subject: Interop ${"long words ".repeat(20)}\r\n\tfolded\r\n  twice`)],
  ["trailing empty lines", `${BASE}\r\n\r\n\r\n`],
];
const CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"] as const;
const KEYS = [
  ["RSA", "rsa2048", RSA_PEM],
  ["Ed25519", "ed25519", ED_PEM],
] as const;

warnSkippedPeers();
for (const peer of MAILAUTH_PEERS) {
  const mailauthSign = peer.dkimSign;
  const mailauthVerify = peer.dkimVerify;

  describe.skipIf(!peer.runs)(`msgauth signs, ${peer.label} verifies`, () => {
    for (const [msgName, message] of MESSAGES)
      for (const canon of CANONS)
        for (const [keyName, selector, pem] of KEYS)
          for (const bodyLength of [false, true]) {
            it(`${msgName}, ${canon}, ${keyName}${bodyLength ? ", l=" : ""}`, async () => {
              const fields = await signDkim(message, {
                domain: "example.com",
                selector,
                privateKey: pem,
                canonicalization: canon,
                bodyLength,
              });
              const r = await mailauthVerify(Buffer.from(fields + message), { resolver: maResolver });
              expect(r.results.map((x: { status: { result: string } }) => x.status.result)).toEqual(["pass"]);
            });
          }
  });

  /**
   * Where msgauth's verdict differs from "pass", and why msgauth is right. mailauth 4.13.3 writes "l="
   * with no digits when the canonical body is empty (0 is falsy there); RFC 6376 3.5 says
   * sig-l-tag = "l=" 1*76DIGIT, so the signature has a syntax error: neutral (RFC 8601 2.7.1).
   * mailauth 7.x writes "l=0" (checked below), which verifies: no disagreement left.
   */
  const MAILAUTH_SIGNED_DISAGREEMENTS: Record<string, string> =
    peer.major === 4
      ? {
          "empty body, simple/relaxed, RSA, l=": "neutral",
          "empty body, simple/relaxed, Ed25519, l=": "neutral",
          "empty body, relaxed/relaxed, RSA, l=": "neutral",
          "empty body, relaxed/relaxed, Ed25519, l=": "neutral",
        }
      : {};

  describe.skipIf(!peer.runs)(`${peer.label} signs, msgauth verifies`, () => {
    for (const [msgName, message] of MESSAGES)
      for (const canon of CANONS)
        for (const [keyName, selector, pem] of KEYS)
          for (const bodyLength of [false, true]) {
            const name = `${msgName}, ${canon}, ${keyName}${bodyLength ? ", l=" : ""}`;
            it(name, async () => {
              // mailauth's runtime reads the keys from signatureData; its .d.ts also demands them at the top level.
              // signTime is given because without it mailauth 4.13.3 signs one t= and writes another:
              // formatSignatureHeaderLine adds t=Math.round(Date.now() / 1000) again when it formats the
              // field, so a signing that crosses a half-second fails to verify anywhere (seen as a rare
              // "signature did not verify" here).
              const signOptions = {
                signTime: new Date(),
                canonicalization: canon,
                signatureData: [{ signingDomain: "example.com", selector, privateKey: pem, ...(bodyLength ? { maxBodyLength: 10 } : {}) }],
              } as unknown as Parameters<typeof mailauthSign>[1];
              const { signatures, errors } = await mailauthSign(Buffer.from(message), signOptions);
              expect(errors).toEqual([]);
              const r = await verifyDkim(signatures + message, { resolver });
              expect(r.map((x) => x.result)).toEqual([MAILAUTH_SIGNED_DISAGREEMENTS[name] ?? "pass"]);
              if (MAILAUTH_SIGNED_DISAGREEMENTS[name]) expect(r[0]!.reason).toMatch(/l= is not a number/);
            });
          }
  });

  describe.skipIf(!peer.runs)(`the l= tag ${peer.label} writes for an empty body`, () => {
    // RFC 6376 3.5: sig-l-tag = %x6c [FWS] "=" [FWS] 1*76DIGIT. 4.13.3 writes no digits (the
    // disagreement above); 7.x writes l=0.
    it(peer.major === 4 ? 'is "l=" without digits: a syntax error, neutral in msgauth' : 'is "l=0": valid, pass in msgauth', async () => {
      const empty = MESSAGES.find(([n]) => n === "empty body")![1];
      const signOptions = {
        signTime: new Date(),
        canonicalization: "relaxed/relaxed",
        signatureData: [{ signingDomain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, maxBodyLength: 10 }],
      };
      const { signatures } = await mailauthSign(Buffer.from(empty), signOptions);
      expect(signatures).toMatch(peer.major === 4 ? /\bl=;/ : /\bl=0;/);
      const r = await verifyDkim(signatures + empty, { resolver });
      expect(r.map((x) => x.result)).toEqual([peer.major === 4 ? "neutral" : "pass"]);
    });
  });

  describe.skipIf(!peer.runs)(`rsa-sha1 (RFC 8301, signed by ${peer.label}): refused by default, verified only on request`, () => {
    it("a real rsa-sha1 signature is policy by default and passes with allowSha1", async () => {
      const signOptions = {
        algorithm: "rsa-sha1",
        signatureData: [{ signingDomain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, algorithm: "rsa-sha1" }],
      } as unknown as Parameters<typeof mailauthSign>[1];
      const { signatures } = await mailauthSign(Buffer.from(BASE), signOptions);
      expect(signatures).toContain("a=rsa-sha1");
      const strict = await verifyDkim(signatures + BASE, { resolver });
      expect(strict[0]).toMatchObject({ result: "policy", reason: expect.stringMatching(/RFC 8301/) });
      const allowed = await verifyDkim(signatures + BASE, { resolver, allowSha1: true });
      expect(allowed[0]).toMatchObject({ result: "pass", algorithm: "rsa-sha1" });
    });
  });
}
