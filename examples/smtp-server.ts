/**
 * A small SMTP server on node:net and node:tls that drives msgauth's sans-I/O SmtpSession and
 * authenticates every message with authenticate(). It shows the whole receive path: greeting,
 * STARTTLS, AUTH, relay policy, DATA/BDAT, Authentication-Results on top, reject per DMARC.
 *
 *   const server = await startSmtpServer({ hostname: "mx.example.org", mode: "mx", localDomains: ["example.org"] });
 *   // later: await server.close();
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
  /** Called for every delivered message. */
  onMessage?: (message: DeliveredMessage) => void;
  /** Connections per client IP (keys "ip:<address>"): over the limit, 421 4.7.0 and close. */
  connectionLimit?: RateLimiter;
  /** Where a failing connection is reported (default console.error). The server keeps serving. */
  log?: (message: string, error: unknown) => void;
}

export interface RunningServer {
  port: number;
  messages: DeliveredMessage[];
  /** Every reply line the server sent, for tests and debugging. */
  transcript: string[];
  close(): Promise<void>;
}

export async function startSmtpServer(options: ExampleServerOptions): Promise<RunningServer> {
  const mode = options.mode ?? "mx";
  const secureContext: SecureContext | undefined = options.tls ? createSecureContext(options.tls) : undefined;
  const messages: DeliveredMessage[] = [];
  const transcript: string[] = [];
  const sockets = new Set<Socket>();
  const log = options.log ?? ((message: string, error: unknown) => console.error(message, error));

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
      transcript.push(reply.trim());
      if (!socket.destroyed && socket.writable) socket.end(reply);
      else socket.destroy();
    } catch {
      socket.destroy();
    }
  }

  async function accept(raw: Socket, tlsFromStart: boolean): Promise<void> {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => raw.destroy());
    const ip = (raw.remoteAddress ?? "").replace(/^::ffff:/, "");
    try {
      if (options.connectionLimit) {
        const take = await options.connectionLimit.take(`ip:${ip}`);
        if (!take.allowed) {
          const reply = formatReply(rateLimitReply(take, "session"));
          transcript.push(reply.trim());
          raw.end(reply);
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
        transcript.push(...out.write.split("\r\n").filter(Boolean));
        if (!socket.destroyed) socket.write(out.write);
      }
      for (const event of out.events) {
        switch (event.type) {
          case "starttls": {
            upgrading = true;
            socket.removeAllListeners("data");
            const secure = new TLSSocket(socket, { isServer: true, ...(secureContext ? { secureContext } : {}) });
            secure.on("error", () => secure.destroy());
            secure.on("secure", () => {
              socket = secure;
              upgrading = false;
              handle(session.tlsStarted({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }));
            });
            secure.on("data", (d: Buffer) => handle(session.feed(d)));
            secure.on("drain", flow);
            break;
          }
          case "auth": {
            const { username, password } = event.credentials;
            const ok = options.users?.[username] !== undefined && options.users[username] === password;
            handle(session.completeAuth(ok ? username : false));
            break;
          }
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
      options.onMessage?.(message);
      messages.push(message);
      return { code: 250, enhanced: "2.0.0", lines: [`Ok: queued as ${id}`] };
    }

    raw.on("data", (d: Buffer) => handle(session.feed(d)));
    raw.on("drain", flow);
    handle(session.start());
  }

  const server: Server =
    mode === "submissions" ? createTlsServer({ ...options.tls }, (s) => void accept(s, true)) : createServer((s) => void accept(s, false));
  // A failed TLS handshake or a listening error is logged, never thrown.
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
