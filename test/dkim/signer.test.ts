import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createDkimSigner, DkimSigner, type DkimSignOptions, DkimSignStream, signDkim, verifyDkim } from "../../src/dkim/index.js";
import { KeyError, OptionsError } from "../../src/errors.js";
import { ED_PEM, exampleResolver, RSA_PEM } from "../helpers/keys.js";

const message = Buffer.from(
  "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Hello\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n\r\nHello,  Bob.\r\n\r\n",
);
const rsa: DkimSignOptions = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, timestamp: 1_790_000_000 };
const ed: DkimSignOptions = { domain: "example.com", selector: "ed25519", privateKey: Buffer.from(ED_PEM), timestamp: 1_790_000_000 };

describe("createDkimSigner: options checked and key loaded once, then message after message", () => {
  const cases: Array<{ name: string; options: DkimSignOptions | DkimSignOptions[] }> = [
    { name: "an RSA key as PEM text", options: rsa },
    { name: "an Ed25519 key as PEM bytes", options: ed },
    { name: "both in one pass", options: [rsa, ed] },
    { name: "simple/simple with l=", options: { ...rsa, canonicalization: "simple/simple", bodyLength: true } },
  ];
  for (const c of cases) {
    it(`signs as signDkim does: ${c.name}`, async () => {
      const signer = createDkimSigner(c.options);
      expect(signer).toBeInstanceOf(DkimSigner);
      const expected = await signDkim(message, c.options);
      for (const input of [message, message.toString("latin1"), Readable.from([message.subarray(0, 20), message.subarray(20)])]) {
        expect(await signer.sign(input)).toBe(expected);
      }
      const signed = await signer.signMessage(message);
      const results = await verifyDkim(signed, { resolver: exampleResolver(), now: () => 1_790_000_100_000 });
      expect(results.map((r) => r.result)).toEqual(Array.isArray(c.options) ? ["pass", "pass"] : ["pass"]);
    });
  }

  it("throws for a wrong call when it is made, not at the first message", () => {
    expect(() => createDkimSigner({ ...rsa, selctor: "x" } as DkimSignOptions)).toThrow(OptionsError);
    expect(() => createDkimSigner({ ...rsa, privateKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" })).toThrow(
      KeyError,
    );
    expect(() => createDkimSigner([])).toThrow(OptionsError);
  });

  it("signs with what it was made with: later changes to the options object do not reach it", async () => {
    const options: DkimSignOptions = { ...rsa, headers: ["from", "subject"] };
    const signer = createDkimSigner(options);
    const before = await signer.sign(message);
    options.selector = "other";
    (options.headers as string[]).push("to");
    options.privateKey = ED_PEM;
    expect(await signer.sign(message)).toBe(before);
    expect(before).toContain("s=rsa2048;");
    expect(before).not.toMatch(/h=[^;]*\bto\b/);
  });

  it("refuses a message that is not bytes, text or a stream", async () => {
    await expect(createDkimSigner(rsa).sign(42 as unknown as string)).rejects.toThrow(TypeError);
  });

  it("DkimSignStream takes a signer", async () => {
    const signer = createDkimSigner(rsa);
    const out: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = new DkimSignStream(signer);
      s.on("data", (c: Buffer) => out.push(c))
        .on("end", resolve)
        .on("error", reject);
      s.end(message);
    });
    const signed = Buffer.concat(out);
    expect(signed.toString("latin1")).toBe(`${await signDkim(message, rsa)}${message.toString("latin1")}`);
  });
});
