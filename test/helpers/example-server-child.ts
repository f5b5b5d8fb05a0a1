/**
 * Runs one example server in its own process for the crash tests (test/smtp/server-survives.test.ts):
 * `node --import tsx test/helpers/example-server-child.ts own|package`. Prints "PORT <n>"; a
 * message to crash@example.org makes the application's handler throw. Logs go to stderr.
 */

import { startSmtpServer } from "../../examples/smtp-server.js";
import { createAuthenticatingServer } from "../../examples/smtp-server-package.js";
import { exampleResolver } from "./keys.js";

const which = process.argv[2];
const log = (message: string, error: unknown) => console.error(`LOGGED ${message}: ${String(error)}`);
const boom = (rcptTo: readonly string[]) => {
  if (rcptTo.includes("crash@example.org")) throw new Error("handler exploded");
};

if (which === "own") {
  const server = await startSmtpServer({
    hostname: "mx.example.org",
    localDomains: ["example.org"],
    authenticate: { resolver: exampleResolver() },
    onMessage: (m) => boom(m.envelope.rcptTo ?? []),
    log,
  });
  console.log(`PORT ${server.port}`);
} else {
  const server = createAuthenticatingServer({
    authservId: "mx.example.org",
    authenticate: { resolver: exampleResolver() },
    store: (m) => boom(m.envelope.rcptTo),
    server: { logger: false, banner: "test" },
    log,
  });
  server.listen(0, "127.0.0.1", () => console.log(`PORT ${(server.server.address() as { port: number }).port}`));
}
