/**
 * A small SMTP server on node:net and node:tls that drives msgauth's sans-I/O SmtpSession and
 * authenticates every message with authenticate(). It shows the whole receive path: greeting,
 * STARTTLS, AUTH, relay policy, DATA/BDAT, Authentication-Results on top, reject per DMARC.
 *
 *   const server = await startSmtpServer({ hostname: "mx.example.org", mode: "mx", localDomains: ["example.org"] });
 *   // later: await server.close();
 *
 * Limits (every one configurable): a message is handed to `onMessage` and not kept (keep the last
 * few with `keepMessages`, the last reply lines with `keepTranscript`, for tests); an idle client
 * gets 421 4.4.2 after `idleTimeoutMs` (5 min, RFC 5321 4.5.3.2.7); a TLS handshake (STARTTLS or
 * port 465) that does not finish within `handshakeTimeoutMs` (30 s) is dropped; over
 * `maxConnections` (100) or `maxConnectionsPerIp` (10) open connections a new one gets 421 4.7.0
 * and is destroyed `refusalGraceMs` (1 s) later whether or not the client closed (in mode
 * "submissions", where no plaintext reply is possible, it is destroyed at once). Every TCP socket
 * counts from the moment it is accepted (a TLS handshake in progress, a connection being refused):
 * at most `maxConnections` served plus `maxConnections` being refused (per IP: `maxConnectionsPerIp`
 * of each); past that a new socket is destroyed at once, without a reply, so descriptors stay
 * bounded whatever the clients do. Each refusal and accept errors (EMFILE) are logged, never fatal.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext, createServer as createTlsServer, type SecureContext, TLSSocket } from "node:tls";
import {
  type AuthenticateOptions,
  authenticate,
  type Envelope,
  formatReply,
  type RateLimiter,
  rateLimitReply,
  type SessionOutput,
  type SmtpMode,
  SmtpSession,
} from "../src/index.js";
import { checkTimerMs } from "../src/options.js";

export interface DeliveredMessage {
  id: string;
  envelope: Envelope;
  /** The message as delivered: Authentication-Results and Received-SPF on top. */
  data: Buffer;
  dmarc: string | undefined;
}

export interface ExampleServerOptions {
  hostname: string;
  mode?: SmtpMode;
  /** Listen address; loopback by default. */
  host?: string;
  port?: number;
  /** PEM key and certificate: enables STARTTLS (and is required for mode "submissions"). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** user name to password, for SMTP AUTH. */
  users?: Record<string, string>;
  localDomains?: string[];
  /** Passed to authenticate() (resolver, authservId, ...). */
  authenticate?: AuthenticateOptions;
  /** Reply 550 5.7.1 to messages whose DMARC disposition is reject. */
  rejectOnDmarc?: boolean;
  maxMessageSize?: number;
  /** Called for every delivered message; the client gets 250 only once it returned (or its Promise resolved). */
  onMessage?: (message: DeliveredMessage) => unknown;
  /** Connections per client IP (keys "ip:<address>"): over the limit, 421 4.7.0 and close. */
  connectionLimit?: RateLimiter;
  /** Close a connection idle this long with 421 4.4.2 (RFC 5321 4.5.3.2.7: at least 5 min). Default 300,000 ms. */
  idleTimeoutMs?: number;
  /** Drop a TLS handshake (STARTTLS, port 465) not done within this. Default 30,000 ms. */
  handshakeTimeoutMs?: number;
  /** Open connections at most; past it a new one gets 421 4.7.0 and closes. Default 100. */
  maxConnections?: number;
  /** Open connections from one IP at most. Default 10. */
  maxConnectionsPerIp?: number;
  /** A refused connection (421 4.7.0) is destroyed this long after the reply, closed or not. Default 1,000 ms. */
  refusalGraceMs?: number;
  /** Delivered messages kept in `messages` (the last ones), for tests. Default 0: use onMessage. */
  keepMessages?: number;
  /** Reply lines kept in `transcript` (the last ones), for tests and debugging. Default 0. */
  keepTranscript?: number;
  /** Where a failing connection is reported (default console.error). The server keeps serving. */
  log?: (message: string, error: unknown) => void;
}

export interface RunningServer {
  port: number;
  /** The last `keepMessages` delivered messages. */
  messages: DeliveredMessage[];
  /** The last `keepTranscript` reply lines the server sent. */
  transcript: string[];
  /** Reply lines sent so far (counted, not kept). */
  readonly replyLines: number;
  /** Connections open now (served, or in their TLS handshake on port 465). */
  readonly connections: number;
  /** TCP sockets open now: the connections plus those being refused. */
  readonly sockets: number;
  close(): Promise<void>;
}

export async function startSmtpServer(options: ExampleServerOptions): Promise<RunningServer> {
  const mode = options.mode ?? "mx";
  const secureContext: SecureContext | undefined = options.tls ? createSecureContext(options.tls) : undefined;
  const messages: DeliveredMessage[] = [];
  const transcript: string[] = [];
  let replyLines = 0;
  /** Every accepted TCP socket, served or being refused (closed by close()). */
  const sockets = new Set<Socket>();
  /** Admitted connections, and refusals still in their grace period: in total and per IP. */
  const admitted = { total: 0, perIp: new Map<string, number>() };
  const refusing = { total: 0, perIp: new Map<string, number>() };
  const log = options.log ?? ((message: string, error: unknown) => console.error(message, error));
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 30_000;
  const maxConnections = options.maxConnections ?? 100;
  const maxConnectionsPerIp = options.maxConnectionsPerIp ?? 10;
  const refusalGraceMs = options.refusalGraceMs ?? 1000;
  const keepMessages = options.keepMessages ?? 0;
  const keepTranscript = options.keepTranscript ?? 0;
  // Timer options: 1 to 2^31-1 ms (a longer socket.setTimeout or setTimeout fires after 1 ms); OptionsError.
  for (const [name, value] of Object.entries({ idleTimeoutMs, handshakeTimeoutMs, refusalGraceMs })) checkTimerMs(value, `options.${name}`);
  for (const [name, value] of Object.entries({ maxConnections, maxConnectionsPerIp }))
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  for (const [name, value] of Object.entries({ keepMessages, keepTranscript }))
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  /** Bounded lists: the last `limit` entries. */
  const keep = <T>(list: T[], limit: number, item: T) => {
    if (limit === 0) return;
    list.push(item);
    if (list.length > limit) list.shift();
  };
  /**
   * Counts (and keeps) the reply lines in `text`. A loop, never a spread: one read of pipelined
   * commands can be answered by 100,000 lines, past what a call's arguments may hold.
   */
  const sent = (text: string) => {
    for (const line of text.split("\r\n")) {
      if (line === "") continue;
      replyLines++;
      keep(transcript, keepTranscript, line);
    }
  };

  /**
   * One connection's failure never reaches the process: it is logged, the client gets
   * `reply` (421 4.3.0 by default) if the socket is still writable, and only that connection closes.
   */
  function abort(
    socket: Socket,
    where: string,
    error: unknown,
    reply = `421 4.3.0 ${options.hostname} Internal error, closing connection\r\n`,
  ) {
    log(`smtp ${socket.remoteAddress ?? "?"}: ${where}`, error);
    try {
      sent(reply.trim());
      if (!socket.destroyed && socket.writable) socket.end(reply);
      else socket.destroy();
    } catch {
      socket.destroy();
    }
  }

  /** Counts one socket in `ledger` until it closes. */
  const count = (ledger: typeof admitted, raw: Socket, ip: string): void => {
    ledger.total++;
    ledger.perIp.set(ip, (ledger.perIp.get(ip) ?? 0) + 1);
    raw.once("close", () => {
      ledger.total--;
      const n = (ledger.perIp.get(ip) ?? 1) - 1;
      if (n > 0) ledger.perIp.set(ip, n);
      else ledger.perIp.delete(ip);
    });
  };
  const roomIn = (ledger: typeof admitted, ip: string) =>
    ledger.total < maxConnections && (ledger.perIp.get(ip) ?? 0) < maxConnectionsPerIp;

  /**
   * Every TCP socket, as soon as it is accepted (before any TLS handshake): admitted within the caps,
   * else refused with 421 4.7.0 and destroyed after `refusalGraceMs`, else (too many being refused
   * already) destroyed at once. Returns whether it is admitted.
   */
  function admit(raw: Socket): boolean {
    const ip = (raw.remoteAddress ?? "").replace(/^::ffff:/, "");
    raw.on("error", () => raw.destroy());
    sockets.add(raw);
    raw.once("close", () => sockets.delete(raw));
    if (roomIn(admitted, ip)) {
      count(admitted, raw, ip);
      return true;
    }
    const which = admitted.total >= maxConnections ? `${maxConnections} connections` : `${maxConnectionsPerIp} connections from ${ip}`;
    if (!roomIn(refusing, ip)) {
      log(`smtp ${ip}: connection dropped: already ${which} and as many being refused`, undefined);
      raw.destroy();
      return false;
    }
    count(refusing, raw, ip);
    log(`smtp ${ip}: connection refused: already ${which}`, undefined);
    const timer = setTimeout(() => raw.destroy(), refusalGraceMs).unref();
    raw.once("close", () => clearTimeout(timer));
    if (mode === "submissions")
      raw.destroy(); // a TLS port: no plaintext reply is possible
    else {
      const reply = `421 4.7.0 ${options.hostname} Too many connections, try again later\r\n`;
      sent(reply.trim());
      raw.end(reply);
    }
    return false;
  }

  async function accept(raw: Socket, tlsFromStart: boolean): Promise<void> {
    const ip = (raw.remoteAddress ?? "").replace(/^::ffff:/, "");
    raw.on("error", () => raw.destroy());
    try {
      if (options.connectionLimit) {
        const take = await options.connectionLimit.take(`ip:${ip}`);
        if (take.allowed !== true) {
          // Fail closed: only the boolean true admits (a custom limiter returning a Promise or "yes" does not).
          if (take.allowed !== false) log(`smtp ${ip}: connectionLimit returned allowed=${typeof take.allowed}, refusing`, undefined);
          const reply = formatReply(rateLimitReply({ ...take, allowed: false }, "session"));
          sent(reply.trim());
          raw.end(reply);
          setTimeout(() => raw.destroy(), refusalGraceMs).unref();
          return;
        }
      }
      serve(raw, tlsFromStart);
    } catch (error) {
      abort(raw, "connection setup failed", error);
    }
  }

  function serve(raw: Socket, tlsFromStart: boolean): void {
    const session = new SmtpSession({
      hostname: options.hostname,
      clientIp: (raw.remoteAddress ?? "").replace(/^::ffff:/, ""),
      mode,
      tlsAvailable: secureContext !== undefined && !tlsFromStart,
      ...(options.localDomains ? { localDomains: options.localDomains } : {}),
      ...(options.maxMessageSize ? { maxMessageSize: options.maxMessageSize } : {}),
    });
    let socket: Socket = raw;
    let upgrading = false;
    let failed = false;

    /**
     * RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the client's next command (and the
     * data blocks); while the application decides, the client is waiting for us, so that time is not
     * counted.
     */
    const idle = (): void => {
      if (failed || socket.destroyed) return;
      // Waiting for the application, or for the TLS handshake (its own deadline): not idle.
      if (upgrading || (!session.wantsInput && !socket.writableNeedDrain)) return void socket.setTimeout(idleTimeoutMs, idle);
      failed = true;
      log(`smtp ${socket.remoteAddress ?? "?"}: idle for ${idleTimeoutMs} ms, closing`, undefined);
      const reply = `421 4.4.2 ${options.hostname} Idle timeout, closing connection\r\n`;
      sent(reply.trim());
      if (socket.writableNeedDrain) socket.destroy();
      else {
        socket.end(reply);
        socket.setTimeout(handshakeTimeoutMs, () => socket.destroy());
      }
    };
    raw.setTimeout(idleTimeoutMs, idle);

    /**
     * Backpressure both ways: read nothing while the session waits for a decision (its held input is
     * capped), nor while the client does not read our replies (pipelined commands would otherwise
     * pile up replies in memory).
     */
    const flow = (): void => {
      if (upgrading || socket.destroyed) return;
      if (session.wantsInput && !socket.writableNeedDrain) socket.resume();
      else socket.pause();
    };

    const fail = (where: string, error: unknown, reply?: string): void => {
      if (failed) return;
      failed = true;
      abort(socket, where, error, reply);
    };

    const handle = (out: SessionOutput): void => {
      if (failed) return;
      try {
        step(out);
      } catch (error) {
        fail("session handler failed", error);
      }
    };

    const step = (out: SessionOutput): void => {
      if (out.write) {
        sent(out.write);
        if (!socket.destroyed) socket.write(out.write);
      }
      for (const event of out.events) {
        switch (event.type) {
          case "starttls": {
            upgrading = true;
            socket.removeAllListeners("data");
            const secure = new TLSSocket(socket, { isServer: true, ...(secureContext ? { secureContext } : {}) });
            secure.on("error", () => secure.destroy());
            // A client that sends STARTTLS and never completes the handshake is dropped.
            const handshake = setTimeout(() => {
              log(`smtp ${raw.remoteAddress ?? "?"}: TLS handshake not done within ${handshakeTimeoutMs} ms, closing`, undefined);
              failed = true;
              secure.destroy();
              raw.destroy();
            }, handshakeTimeoutMs);
            secure.on("close", () => clearTimeout(handshake));
            secure.on("secure", () => {
              clearTimeout(handshake);
              socket = secure;
              raw.setTimeout(0);
              secure.setTimeout(idleTimeoutMs, idle);
              upgrading = false;
              handle(session.tlsStarted({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }));
            });
            secure.on("data", (d: Buffer) => handle(session.feed(d)));
            secure.on("drain", flow);
            break;
          }
          case "auth": {
            const { username, password } = event.credentials;
            const ok = options.users !== undefined && Object.hasOwn(options.users, username) && options.users[username] === password;
            handle(session.completeAuth(ok ? username : false));
            break;
          }
          case "fault":
            // A callback broke its contract: the session refused (4xx) and granted nothing.
            log(`smtp ${socket.remoteAddress ?? "?"}: ${event.error.message}`, event.error);
            break;
          case "message":
            deliver(event.envelope, event.data).then(
              (reply) => handle(session.completeMessage(reply)),
              // The message is not accepted: 451 (try again later), then this connection closes.
              (error: unknown) => fail("message handler failed", error, "451 4.3.0 Temporary failure, try again later\r\n"),
            );
            break;
          case "close":
            break;
        }
      }
      if (out.close) socket.end();
      // Backpressure: read nothing while the session waits for a decision (its input is capped).
      else flow();
    };

    async function deliver(envelope: Envelope, data: Uint8Array) {
      const result = await authenticate(data, envelope, { authservId: options.hostname, ...options.authenticate });
      if (options.rejectOnDmarc && result.dmarc?.result === "fail" && result.dmarc.disposition === "reject") {
        return { code: 550, enhanced: "5.7.1", lines: [`Rejected per DMARC policy of ${result.dmarc.fromDomain}`] };
      }
      const id = randomUUID();
      const message: DeliveredMessage = {
        id,
        envelope,
        data: Buffer.concat([Buffer.from(result.prepend), data]),
        dmarc: result.dmarc?.result,
      };
      await options.onMessage?.(message);
      keep(messages, keepMessages, message);
      return { code: 250, enhanced: "2.0.0", lines: [`Ok: queued as ${id}`] };
    }

    raw.on("data", (d: Buffer) => handle(session.feed(d)));
    raw.on("drain", flow);
    handle(session.start());
  }

  const server: Server =
    mode === "submissions"
      ? createTlsServer({ ...options.tls, handshakeTimeout: handshakeTimeoutMs }, (s) => void accept(s, true))
      : createServer((s) => {
          if (admit(s)) void accept(s, false);
        });
  // Port 465: the raw socket is counted (and refused) before its TLS handshake.
  if (mode === "submissions") server.on("connection", (s: Socket) => void admit(s));
  // A failed TLS handshake, a listening error or an accept error (EMFILE: out of descriptors) is
  // logged, never thrown: node keeps listening and accepts again once descriptors are free.
  server.on("tlsClientError", (error: Error, s: Socket) => {
    log("smtp: TLS handshake failed", error);
    s.destroy();
  });
  server.on("error", (error: Error) => log("smtp: server error", error));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    messages,
    transcript,
    get replyLines() {
      return replyLines;
    },
    get connections() {
      return admitted.total;
    },
    get sockets() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
