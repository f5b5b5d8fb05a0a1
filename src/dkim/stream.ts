import { Transform, type TransformCallback } from "node:stream";
import { checkDkimSignOptions, DkimSigner, type DkimSignOptions, signDkim } from "./sign.js";

/**
 * A Transform that signs the message flowing through it: it passes the message on, with the
 * DKIM-Signature field(s) at the top, once it has seen the end. A signature covers the whole body, so
 * the message is held in memory until then. Fits nodemailer's stream plugins:
 * `transporter.use("stream", (mail, done) => { mail.message.transform(() => new DkimSignStream(opts)); done(); })`.
 * Given a {@link DkimSigner} (made once, `createDkimSigner(opts)`), the key is not parsed again for
 * every message.
 */
export class DkimSignStream extends Transform {
  readonly #options: DkimSignOptions | readonly DkimSignOptions[] | DkimSigner;
  readonly #chunks: Buffer[] = [];

  constructor(options: DkimSignOptions | readonly DkimSignOptions[] | DkimSigner) {
    super();
    if (!(options instanceof DkimSigner)) checkDkimSignOptions(options); // a wrong call fails here, not at the end of the message
    this.#options = options;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    this.#chunks.push(typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const message = Buffer.concat(this.#chunks);
    const o = this.#options;
    (o instanceof DkimSigner ? o.sign(message) : signDkim(message, o)).then(
      (fields) => {
        this.push(Buffer.from(fields));
        this.push(message);
        callback();
      },
      (err: unknown) => callback(err as Error),
    );
  }
}
