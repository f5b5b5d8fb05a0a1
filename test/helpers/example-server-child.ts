/**
 * Runs one example server in its own process for the crash tests (test/smtp/server-survives.test.ts):
 * `node --import tsx test/helpers/example-server-child.ts own|package [options as JSON]`. Prints
 * "PORT <n>"; a message to crash@example.org makes the application's handler throw. Logs go to
 * stderr, and every stored message as "STORED <rcpt> <bytes> <last 16 bytes as JSON>".
 */

import { startSmtpServer } from "../../examples/smtp-server.js";
import { createAuthenticatingServer } from "../../examples/smtp-server-package.js";
import { exampleResolver } from "./keys.js";

const which = process.argv[2];
const extra = JSON.parse(process.argv[3] ?? "{}") as Record<string, unknown>;
const stored = (rcptTo: readonly string[], message: Buffer) =>
  console.error(`STORED ${rcptTo.join(",")} ${message.length} ${JSON.stringify(message.subarray(-16).toString("latin1"))}`);
const log = (message: string, error: unknown) => console.error(`LOGGED ${message}: ${String(error)}`);
const boom = (rcptTo: readonly string[]) => {
  if (rcptTo.includes("crash@example.org")) throw new Error("handler exploded");
};
/** A message to async-crash@example.org: the handler returns a rejected Promise. */
const asyncBoom = (rcptTo: readonly string[]) =>
  rcptTo.includes("async-crash@example.org") ? Promise.reject(new Error("async handler exploded")) : undefined;

if (which === "own") {
  const server = await startSmtpServer({
    hostname: "mx.example.org",
    localDomains: ["example.org"],
    authenticate: { resolver: exampleResolver() },
    onMessage: (m) => {
      boom(m.envelope.rcptTo ?? []);
      stored(m.envelope.rcptTo ?? [], m.data);
      return asyncBoom(m.envelope.rcptTo ?? []);
    },
    log,
    ...extra,
  });
  console.log(`PORT ${server.port}`);
} else {
  const server = createAuthenticatingServer({
    authservId: "mx.example.org",
    localDomains: ["example.org"],
    authenticate: { resolver: exampleResolver(), limits: { timeBudgetMs: Number(extra.timeBudgetMs ?? 20_000) } },
    store: (m) => {
      boom(m.envelope.rcptTo);
      stored(m.envelope.rcptTo, m.message);
      return asyncBoom(m.envelope.rcptTo);
    },
    server: { logger: false, banner: "test", ...(extra.maxClients ? { maxClients: Number(extra.maxClients) } : {}) },
    log,
    ...(extra.maxMessageSize ? { maxMessageSize: Number(extra.maxMessageSize) } : {}),
    ...(extra.maxConnectionsPerIp ? { maxConnectionsPerIp: Number(extra.maxConnectionsPerIp) } : {}),
    ...(extra.progressTimeoutMs ? { progressTimeoutMs: Number(extra.progressTimeoutMs) } : {}),
  });
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.server.address() as { port: number }).port}`));
}
