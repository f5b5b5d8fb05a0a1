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

  async function accept(raw: Socket, tlsFromStart: boolean): Promise<void> {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => raw.destroy());
    const ip = (raw.remoteAddress ?? "").replace(/^::ffff:/, "");
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

    const handle = (out: SessionOutput): void => {
      if (out.write) {
        transcript.push(...out.write.split("\r\n").filter(Boolean));
        if (!socket.destroyed) socket.write(out.write);
      }
      for (const event of out.events) {
        switch (event.type) {
          case "starttls": {
            socket.removeAllListeners("data");
            const secure = new TLSSocket(socket, { isServer: true, ...(secureContext ? { secureContext } : {}) });
            secure.on("error", () => secure.destroy());
            secure.on("secure", () => {
              socket = secure;
              handle(session.tlsStarted({ protocol: secure.getProtocol(), cipher: secure.getCipher()?.name }));
            });
            secure.on("data", (d: Buffer) => handle(session.feed(d)));
            break;
          }
          case "auth": {
            const { username, password } = event.credentials;
            const ok = options.users?.[username] !== undefined && options.users[username] === password;
            handle(session.completeAuth(ok ? username : false));
            break;
          }
          case "message":
            void deliver(event.envelope, event.data).then((reply) => handle(session.completeMessage(reply)));
            break;
          case "close":
            break;
        }
      }
      if (out.close) socket.end();
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
      messages.push(message);
      options.onMessage?.(message);
      return { code: 250, enhanced: "2.0.0", lines: [`Ok: queued as ${id}`] };
    }

    raw.on("data", (d: Buffer) => handle(session.feed(d)));
    handle(session.start());
  }

  const server: Server =
    mode === "submissions" ? createTlsServer({ ...options.tls }, (s) => void accept(s, true)) : createServer((s) => void accept(s, false));
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
