/**
 * msgauth inside the `smtp-server` package (the common Node SMTP server): every message is
 * authenticated in onData as it streams, gets Authentication-Results and Received-SPF on top, and is
 * refused with 550 5.7.1 when its From domain asks for reject (if you choose to honour that).
 *
 * One client never takes the server down: a failure while handling a message (authenticate(),
 * `store`, the stream) answers that message 451 4.3.0 and is logged, and connection errors (a reset
 * in the middle of a transaction) are logged instead of being thrown as the server's "error" event.
 *
 * Only a message whose end of data (`<CR><LF>.<CR><LF>`) arrived is ever handed to `store`: a
 * connection reset, a timeout or a client that never ends DATA discards what was received (logged).
 *
 * Only recipients in `localDomains` are accepted from anyone; any other gets 550 5.7.1 Relaying
 * denied unless the session authenticated (no open relay).
 *
 * Limits (memory per connection is bounded by them):
 * - `maxMessageSize` (default 25 MiB): announced as SIZE (smtp-server's `size` option, which also
 *   refuses MAIL FROM SIZE= above it); a message past it is no longer kept and is answered 552 5.3.4
 *   once its end arrives. A connection holds at most one message of that size.
 * - `maxClients` of smtp-server (default here 100 connections; over it: 421) and its idle
 *   `socketTimeout` (60 s by default).
 * - `maxConnectionsPerIp` (default 10): one IP past it gets 421 4.7.0 at connect, so one client
 *   cannot fill `maxClients` alone.
 * - `progressTimeoutMs` (default 5 min): a connection that delivers no message for this long gets
 *   421 4.4.2 and is closed. NOOP, RSET, HELP, VRFY or a transaction that leads nowhere do not extend
 *   it (they do reset smtp-server's idle timer); the time a message takes (DATA to its answer) does
 *   not count.
 * - A message holding a line "." ended by a bare LF or a bare CR (`<LF>.<LF>`, `<CR>.<CR>`,
 *   `<CR><LF>.<LF>`, ...; SMTP smuggling) is refused with 550 5.5.2, as SmtpSession does: smtp-server
 *   keeps such lines as content, other servers would end the message there.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions } from "smtp-server";
import { type AuthenticateOptions, type AuthenticationResult, authenticate } from "../src/index.js";
import { checkTimerMs } from "../src/options.js";
import { DataScanner } from "../src/smtp/data-scanner.js";

export interface Stored {
  envelope: { mailFrom: string; rcptTo: string[]; ip: string; helo: string };
  message: Buffer;
  dmarc: string | undefined;
}

const DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024;

type Reply = Error & { responseCode: number };
const reply = (code: number, text: string, cause?: unknown): Reply =>
  Object.assign(new Error(text), { responseCode: code }, cause === undefined ? {} : { cause });

/**
 * Reads one DATA stream: the bytes go on to authenticate() (with backpressure) and are kept up to
 * the size limit; `outcome` settles once the stream is over: "end" only when smtp-server saw the end
 * of data, "aborted" when it was destroyed (reset, timeout, server closing).
 */
function readMessage(stream: SMTPServerDataStream, limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  const scanner = new DataScanner(false); // smtp-server removed the dot-stuffing: scan content only
  let waiting: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | undefined;
  const queue: Buffer[] = [];
  let done: "end" | "aborted" | undefined;
  let consumer = true; // authenticate() still reads
  let settle!: (how: "end" | "aborted") => void;
  const outcome = new Promise<"end" | "aborted">((resolve) => (settle = resolve));
  const finish = (how: "end" | "aborted") => {
    if (done) return;
    done = how;
    settle(how);
    const w = waiting;
    waiting = undefined;
    if (how === "end") w?.resolve({ value: undefined, done: true });
    else w?.reject(new Error("message stream aborted before its end"));
  };
  stream.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (!tooBig && size > limit) {
      tooBig = true;
      chunks.length = 0; // keep nothing more: the answer will be 552
      queue.length = 0;
      consumer = false;
      waiting?.reject(new Error("message too big"));
      waiting = undefined;
      stream.resume();
    }
    if (tooBig) return;
    scanner.scan(chunk, 0, chunk.length, undefined);
    chunks.push(chunk);
    if (!consumer) return;
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w.resolve({ value: chunk, done: false });
    } else {
      queue.push(chunk);
      stream.pause(); // authenticate() is busy: backpressure up to the socket
    }
  });
  stream.on("end", () => finish("end"));
  stream.on("close", () => finish("aborted")); // after "end" this is a no-op
  stream.on("error", () => finish("aborted"));
  const body: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const chunk = queue.shift();
        if (chunk) return Promise.resolve({ value: chunk, done: false });
        if (tooBig) return Promise.reject(new Error("message too big"));
        if (done === "end") return Promise.resolve({ value: undefined, done: true });
        if (done === "aborted") return Promise.reject(new Error("message stream aborted before its end"));
        stream.resume();
        return new Promise<IteratorResult<Buffer>>((resolve, reject) => (waiting = { resolve, reject }));
      },
      // authenticate() stopped early (its time budget): keep reading to the end, keep the bytes.
      return: () => {
        consumer = false;
        queue.length = 0;
        stream.resume();
        return Promise.resolve({ value: undefined, done: true });
      },
    }),
  };
  return {
    body,
    outcome,
    /** The message, once outcome is "end" and it fit. */
    bytes: () => Buffer.concat(chunks),
    tooBig: () => tooBig,
    ambiguousEnd: () => scanner.flags.ambiguousEnd,
    /** authenticate() is over: read the rest without it. */
    release: () => {
      consumer = false;
      queue.length = 0;
      stream.resume();
    },
  };
}

export function createAuthenticatingServer(options: {
  authservId: string;
  /**
   * The domains this server receives mail for. RCPT TO any other domain gets 550 5.7.1 Relaying
   * denied unless the session is authenticated (an `onAuth` of yours in `server`): not an open relay.
   */
  localDomains: readonly string[];
  authenticate?: AuthenticateOptions;
  rejectOnDmarc?: boolean;
  /** Called for each accepted message; the client gets 250 only once it returned (or its Promise resolved). */
  store: (m: Stored) => unknown;
  /** Largest message, bytes (SIZE). Default 25 MiB. */
  maxMessageSize?: number;
  server?: SMTPServerOptions;
  /** Where failures are reported (default console.error). */
  log?: (message: string, error: unknown) => void;
  /** Open connections from one IP at most; past it 421 4.7.0 at connect. Default 10. */
  maxConnectionsPerIp?: number;
  /** Close (421 4.4.2) a connection that delivered no message for this long. Default 300,000 ms. */
  progressTimeoutMs?: number;
}): SMTPServer {
  const log = options.log ?? ((message: string, error: unknown) => console.error(message, error));
  const limit = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? 10;
  const progressTimeoutMs = options.progressTimeoutMs ?? 300_000;
  // A timer option: 1 to 2^31-1 ms (a longer setTimeout fires after 1 ms); OptionsError.
  checkTimerMs(progressTimeoutMs, "options.progressTimeoutMs");
  for (const [name, value] of Object.entries({ maxMessageSize: limit, maxConnectionsPerIp }))
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  if (!Array.isArray(options.localDomains) || !options.localDomains.every((d) => typeof d === "string" && d !== "")) {
    throw new TypeError("localDomains must be an array of domain names (the domains this server receives mail for)");
  }
  const local = new Set(options.localDomains.map((d) => d.toLowerCase().replace(/\.$/, "")));
  const ipOf = (session: { remoteAddress?: string }) => (session.remoteAddress ?? "").replace(/^::ffff:/, "");
  /** Admitted connections per IP, and each admitted session's progress deadline. */
  const perIp = new Map<string, number>();
  const admittedIds = new Set<string>();
  const deadlines = new Map<string, ReturnType<typeof setTimeout>>();
  /** (Re)starts a session's progress deadline, or stops it (`restart` false: a message is being decided, or closed). */
  const progress = (session: { id: string; remoteAddress?: string }, restart: boolean) => {
    clearTimeout(deadlines.get(session.id));
    deadlines.delete(session.id);
    if (!restart) return;
    const timer = setTimeout(() => {
      deadlines.delete(session.id);
      for (const connection of server.connections) {
        if (connection.session?.id !== session.id) continue;
        log(`smtp ${ipOf(session)}: no message delivered within ${progressTimeoutMs} ms, closing`, undefined);
        connection.send(421, "4.4.2 No progress, closing connection", false); // 421: smtp-server closes
      }
    }, progressTimeoutMs);
    timer.unref();
    deadlines.set(session.id, timer);
  };
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    maxClients: 100,
    ...options.server,
    size: limit,
    onConnect(session, callback) {
      const ip = ipOf(session);
      const open = perIp.get(ip) ?? 0;
      if (open >= maxConnectionsPerIp) {
        log(`smtp ${ip}: connection refused: already ${maxConnectionsPerIp} connections from ${ip}`, undefined);
        return callback(reply(421, "4.7.0 Too many connections from your address, try again later"));
      }
      perIp.set(ip, open + 1);
      admittedIds.add(session.id);
      progress(session, true);
      callback();
    },
    onRcptTo(address, session, callback) {
      const at = address.address.lastIndexOf("@");
      const domain = address.address.slice(at + 1).toLowerCase();
      if (session.user !== undefined || (at > 0 && local.has(domain))) return callback();
      callback(reply(550, "5.7.1 Relaying denied"));
    },
    onClose(session) {
      // Only an admitted session holds a deadline (and a count).
      if (!admittedIds.delete(session.id)) return;
      progress(session, false);
      const ip = ipOf(session);
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n > 0) perIp.set(ip, n);
      else perIp.delete(ip);
    },
    onData(stream, session, callback) {
      const envelope = {
        ip: (session.remoteAddress ?? "").replace(/^::ffff:/, ""),
        helo: session.hostNameAppearsAs ?? "",
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      };
      // authenticate() reads the stream itself: the body is hashed as it arrives. Keep the bytes too
      // (up to the limit), since this example stores the message.
      const message = readMessage(stream, limit);
      progress(session, false); // the time a message takes does not count
      let answered = false;
      const answer = (error?: Error | null) => {
        if (answered) return;
        answered = true;
        if (admittedIds.has(session.id)) progress(session, true);
        callback(error);
      };
      const decide = async (): Promise<void> => {
        let result: AuthenticationResult | undefined;
        let failure: unknown;
        try {
          result = await authenticate(message.body, envelope, { authservId: options.authservId, ...options.authenticate });
        } catch (error) {
          failure = error;
        }
        message.release();
        // Nothing is decided, let alone stored, before the end of data has arrived.
        if ((await message.outcome) === "aborted") {
          log("smtp: message discarded: the stream ended before the end of data (reset, timeout or close)", failure);
          return answer(reply(451, "4.3.0 Message not received in full"));
        }
        if (message.tooBig()) return answer(reply(552, "5.3.4 Message size exceeds fixed maximum message size"));
        if (message.ambiguousEnd())
          return answer(reply(550, '5.5.2 Message refused: a line "." ended by a bare LF or CR (ambiguous end of data)'));
        if (!result) {
          log("smtp: message handling failed", failure);
          return answer(reply(451, "4.3.0 Temporary failure, try again later", failure));
        }
        if (options.rejectOnDmarc && result.dmarc?.result === "fail" && result.dmarc.disposition === "reject") {
          return answer(reply(550, `5.7.1 Rejected per DMARC policy of ${result.dmarc.fromDomain}`));
        }
        try {
          await options.store({
            envelope,
            message: Buffer.concat([Buffer.from(result.prepend), message.bytes()]),
            dmarc: result.dmarc?.result,
          });
        } catch (error) {
          log("smtp: message handling failed", error);
          return answer(reply(451, "4.3.0 Temporary failure, try again later", error));
        }
        answer();
      };
      decide().catch((error: unknown) => {
        log("smtp: message handling failed", error);
        answer(reply(451, "4.3.0 Temporary failure, try again later", error));
      });
    },
  });
  // smtp-server re-emits connection errors (e.g. ECONNRESET inside a transaction) as "error": with no
  // listener that would end the process.
  server.on("error", (error: Error) => log("smtp: connection error", error));
  return server;
}
