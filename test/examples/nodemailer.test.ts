import { dkimVerify as mailauthVerify } from "mailauth/lib/dkim/verify.js";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { withDkim } from "../../examples/nodemailer-dkim.js";
import { verifyDkim } from "../../src/dkim/index.js";
import { ED_PEM, exampleResolver, mailauthResolver, RSA_PEM } from "../helpers/keys.js";

describe("nodemailer signs with msgauth's DkimSignStream", () => {
  it("a message sent through nodemailer carries RSA and Ed25519 signatures that both libraries verify", async () => {
    const transporter = withDkim(nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" }), [
      { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM },
      { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
    ]);
    const info = await transporter.sendMail({
      from: "Alice <alice@example.com>",
      to: "bob@example.org",
      subject: "Grüße from nodemailer",
      text: "Hello Bob,\n\nthis is signed.\n",
      html: "<p>Hello Bob, <b>this</b> is signed.</p>",
    });
    const raw = info.message as Buffer;
    const ours = await verifyDkim(raw, { resolver: exampleResolver() });
    expect(ours.map((r) => [r.algorithm, r.result])).toEqual([
      ["rsa-sha256", "pass"],
      ["ed25519-sha256", "pass"],
    ]);
    const theirs = await mailauthVerify(raw, { resolver: mailauthResolver(exampleResolver()) });
    expect(theirs.results.map((r: { status: { result: string } }) => r.status.result)).toEqual(["pass", "pass"]);
  });
});
