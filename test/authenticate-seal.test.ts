import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { authenticate, KeyError, OptionsError, signMessage, verifyArc } from "../src/index.js";
import { ED_PEM, exampleResolver, mailauthResolver, RSA_PEM } from "./helpers/keys.js";
import { MAILAUTH_PEERS } from "./helpers/mailauth-peers.js";

const resolver = exampleResolver();
const MESSAGE =
  "From: Alice <alice@example.com>\r\nTo: list@example.org\r\nSubject: Test\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n\r\nHello list,\r\n\r\nsee you.\r\n";
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
const seal = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };

describe("authenticate({ seal }): a forwarder's authentication and ARC seal in one call", () => {
  it("seals instance 1 with cv=none; the AAR is this call's Authentication-Results; the chain validates", async () => {
    const signed = (await signMessage(MESSAGE, { domain: "example.com", selector: "ed25519", privateKey: ED_PEM })).toString();
    const r = await authenticate(signed, envelope, { resolver, authservId: "mx.example.org", seal });
    if (!r.arcSeal?.sealed) throw new Error(`not sealed: ${JSON.stringify(r.arcSeal)}`);
    expect(r.arcSeal).toMatchObject({ instance: 1, cv: "none" });
    // The ARC set comes first in prepend, then Authentication-Results.
    expect(r.prepend.startsWith(r.arcSeal.headers)).toBe(true);
    expect(r.prepend.slice(r.arcSeal.headers.length).startsWith(r.headers.authenticationResults)).toBe(true);
    const aar = /ARC-Authentication-Results: i=1; ([\s\S]*?)\r\n(?![ \t])/.exec(r.arcSeal.headers)![1]!.replace(/\s+/g, " ");
    const ar = r.headers.authenticationResults.replace(/^Authentication-Results:\s*/, "").replace(/\s+/g, " ");
    expect(aar).toBe(ar);
    expect(aar).toMatch(/dkim=pass/);
    const forwarded = r.prepend + signed;
    expect(await verifyArc(forwarded, { resolver })).toMatchObject({ result: "pass", instances: 1 });
  });

  it("a second hop seals instance 2 with cv=pass from its own validation", async () => {
    const first = await authenticate(MESSAGE, envelope, { resolver, authservId: "mx.example.org", seal });
    const hop1 = first.prepend + MESSAGE;
    const second = await authenticate(
      hop1,
      { ip: "198.51.100.9" },
      { resolver, authservId: "relay.example.net", seal: { ...seal, privateKey: ED_PEM, selector: "ed25519" } },
    );
    expect(second.arc).toMatchObject({ result: "pass" });
    expect(second.arcSeal).toMatchObject({ sealed: true, instance: 2, cv: "pass" });
    expect(await verifyArc(second.prepend + hop1, { resolver })).toMatchObject({ result: "pass", instances: 2 });
  });

  it("mailauth validates the chain msgauth sealed", async () => {
    const r = await authenticate(MESSAGE, envelope, { resolver, authservId: "mx.example.org", seal });
    for (const peer of MAILAUTH_PEERS.filter((p) => p.runs)) {
      const theirs = await peer.authenticate(Buffer.from(r.prepend + MESSAGE), {
        ip: "198.51.100.9",
        helo: "relay.example.net",
        sender: "alice@example.com",
        mta: "relay.example.net",
        resolver: mailauthResolver(resolver),
      });
      expect([peer.label, theirs.arc?.status?.result]).toEqual([peer.label, "pass"]);
    }
  });

  it("a message that could not be read whole is not sealed (its body hash would be a guess)", async () => {
    async function* failing() {
      yield Buffer.from(MESSAGE.slice(0, 120));
      throw new Error("connection reset");
    }
    const r = await authenticate(Readable.from(failing()), envelope, { resolver, authservId: "mx.example.org", seal });
    expect(r.arcSeal).toMatchObject({ sealed: false, reason: expect.stringMatching(/could not be read/) });
    expect(r.prepend).not.toMatch(/ARC-Seal/);
  });

  it("a chain that already failed is not sealed again (RFC 8617 5.1.2)", async () => {
    const first = await authenticate(MESSAGE, envelope, { resolver, authservId: "mx.example.org", seal });
    const broken = (first.prepend + MESSAGE).replace("cv=none", "cv=fail");
    const r = await authenticate(broken, envelope, { resolver, authservId: "relay.example.net", seal });
    expect(r.arcSeal).toMatchObject({ sealed: false });
  });

  it("wrong calls are refused before any work: a bad key, unknown seal keys, sealing without the ARC check", async () => {
    await expect(authenticate(MESSAGE, envelope, { resolver, seal: { ...seal, privateKey: "not a key" } })).rejects.toBeInstanceOf(
      KeyError,
    );
    await expect(authenticate(MESSAGE, envelope, { resolver, seal: { ...seal, authResults: "x" } as never })).rejects.toMatchObject({
      path: "options.seal.authResults",
    });
    await expect(authenticate(MESSAGE, envelope, { resolver, seal, checks: { arc: false } })).rejects.toBeInstanceOf(OptionsError);
  });
});
