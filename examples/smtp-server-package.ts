/**
 * msgauth inside the `smtp-server` package (the common Node SMTP server): every message is
 * authenticated in onData as it streams, gets Authentication-Results and Received-SPF on top, and is
 * refused with 550 5.7.1 when its From domain asks for reject (if you choose to honour that).
 *
 * One client never takes the server down: a failure while handling a message (authenticate(),
 * `store`, the stream) answers that message 451 4.3.0 and is logged, and connection errors (a reset
 * in the middle of a transaction) are logged instead of being thrown as the server's "error" event.
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
  /** Where failures are reported (default console.error). */
  log?: (message: string, error: unknown) => void;
}): SMTPServer {
  const log = options.log ?? ((message: string, error: unknown) => console.error(message, error));
  const temporary = (error: unknown) =>
    Object.assign(new Error(`4.3.0 Temporary failure, try again later`), { responseCode: 451, cause: error });
  const server = new SMTPServer({
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
      let answered = false;
      const answer = (error?: Error | null) => {
        if (answered) return;
        answered = true;
        callback(error);
      };
      authenticate(tee(), envelope, { authservId: options.authservId, ...options.authenticate })
        .then((result) => {
          if (options.rejectOnDmarc && result.dmarc?.result === "fail" && result.dmarc.disposition === "reject") {
            const err = Object.assign(new Error(`5.7.1 Rejected per DMARC policy of ${result.dmarc.fromDomain}`), { responseCode: 550 });
            return answer(err);
          }
          options.store({ envelope, message: Buffer.concat([Buffer.from(result.prepend), ...chunks]), dmarc: result.dmarc?.result });
          answer();
        })
        .catch((error: unknown) => {
          log("smtp: message handling failed", error);
          // Read the rest so the connection stays in step, then answer 451.
          stream.on("error", () => undefined);
          if (stream.readableEnded || stream.destroyed) answer(temporary(error));
          else {
            stream.once("end", () => answer(temporary(error)));
            stream.once("close", () => answer(temporary(error)));
            stream.resume();
          }
        });
    },
  });
  // smtp-server re-emits connection errors (e.g. ECONNRESET inside a transaction) as "error": with no
  // listener that would end the process.
  server.on("error", (error: Error) => log("smtp: connection error", error));
  return server;
}
