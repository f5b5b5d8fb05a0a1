/**
 * Signing outgoing mail from an app that sends with nodemailer: a "stream" plugin puts msgauth's
 * DkimSignStream on every message, so each one leaves with RSA and Ed25519 DKIM signatures.
 *
 *   const transporter = withDkim(nodemailer.createTransport({ host: "smtp.example.com", port: 587 }), [
 *     { domain: "example.com", selector: "rsa2048", privateKey: readFileSync("rsa.pem", "utf8") },
 *     { domain: "example.com", selector: "ed25519", privateKey: readFileSync("ed25519.pem", "utf8") },
 *   ]);
 *   await transporter.sendMail({ from: "alice@example.com", to: "bob@example.org", subject: "Hi", text: "Hello" });
 */
import type { Transporter } from "nodemailer";
import { type DkimSignOptions, DkimSignStream } from "../src/index.js";

interface StreamPluginMail {
  message: { transform(factory: () => NodeJS.ReadWriteStream): void };
}

export function withDkim<T extends Transporter>(transporter: T, options: DkimSignOptions | DkimSignOptions[]): T {
  transporter.use("stream", (mail, done) => {
    (mail as unknown as StreamPluginMail).message.transform(() => new DkimSignStream(options));
    done();
  });
  return transporter;
}
