/**
 * msgauth inside the `smtp-server` package (the common Node SMTP server): every message is
 * authenticated in onData as it streams, gets Authentication-Results and Received-SPF on top, and is
 * refused with 550 5.7.1 when its From domain asks for reject (if you choose to honour that).
 */
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { type AuthenticateOptions, authenticate } from "../src/index.js";

export interface Stored {
  envelope: { mailFrom: string; rcptTo: string[]; ip: string; helo: string };
  message: Buffer;
  dmarc: string | undefined;
}

export function createAuthenticatingServer(options: {
  authservId: string;
  authenticate?: AuthenticateOptions;
  rejectOnDmarc?: boolean;
  store: (m: Stored) => void;
  server?: SMTPServerOptions;
}): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    ...options.server,
    onData(stream, session, callback) {
      const envelope = {
        ip: (session.remoteAddress ?? "").replace(/^::ffff:/, ""),
        helo: session.hostNameAppearsAs ?? "",
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      };
      // authenticate() reads the stream itself: the body is hashed as it arrives. Keep the bytes too,
      // since this example stores the message.
      const chunks: Buffer[] = [];
      async function* tee() {
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
          yield chunk as Buffer;
        }
      }
      authenticate(tee(), envelope, { authservId: options.authservId, ...options.authenticate }).then(
        (result) => {
          if (options.rejectOnDmarc && result.dmarc?.result === "fail" && result.dmarc.disposition === "reject") {
            const err = Object.assign(new Error(`5.7.1 Rejected per DMARC policy of ${result.dmarc.fromDomain}`), { responseCode: 550 });
            return callback(err);
          }
          options.store({ envelope, message: Buffer.concat([Buffer.from(result.prepend), ...chunks]), dmarc: result.dmarc?.result });
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
}
