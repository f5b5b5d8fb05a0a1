/**
 * The example servers survive any one client: each runs in its own process
 * (test/helpers/example-server-child.ts) and is attacked over TCP by clients that used to crash it
 * or make it misbehave; then a normal client (nodemailer) must still be served, and the process
 * must still be alive.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Child {
  process: ChildProcess;
  port: number;
  stderr: () => string;
}

/** `fdLimit`: the child runs under `ulimit -n fdLimit` (it needs about 30 descriptors of its own). */
function startChild(which: "own" | "package", extra: Record<string, unknown> = {}, fdLimit?: number): Promise<Child> {
  return new Promise((resolve, reject) => {
    const args = ["--import", "tsx", "test/helpers/example-server-child.ts", which, JSON.stringify(extra)];
    const child =
      fdLimit === undefined
        ? spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
        : spawn("/bin/sh", ["-c", `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...args], {
            cwd: root,
            stdio: ["ignore", "pipe", "pipe"],
          });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ process: child, port: Number(m[1]), stderr: () => err });
    });
    child.on("exit", (code) => reject(new Error(`child exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`child did not start: ${err}`)), 30_000).unref();
  });
}

/** A raw client: send bytes, wait until the received text matches, or until the server closes. */
function rawClient(port: number, from?: string) {
  const socket: Socket = connect({ port, host: "127.0.0.1", ...(from ? { localAddress: from } : {}) });
  let got = "";
  let closed = false;
  const listeners: Array<() => void> = [];
  socket.on("data", (d) => {
    got += d.toString("latin1");
    for (const l of listeners) l();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
    for (const l of listeners) l();
  });
  const until = (test: (text: string, closed: boolean) => boolean, ms = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (test(got, closed)) resolve(got);
      };
      listeners.push(check);
      check();
      setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(got.slice(-300))}`)), ms).unref();
    });
  return {
    socket,
    send: (t: string | Uint8Array) => socket.write(t),
    until,
    closed: () => until((_, c) => c),
    /** Reply lines exactly equal to `line`. */
    count: (line: string) => got.split("\r\n").filter((l) => l === line).length,
  };
}

async function normalClientIsServed(child: Child) {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: child.port, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({
    from: "alice@example.com",
    to: "bob@example.org",
    subject: "after the storm",
    text: "still here",
  });
  expect(info.accepted).toEqual(["bob@example.org"]);
  expect(child.process.exitCode).toBeNull();
}

const greeting = (t: string) => /^220 /m.test(t);
const start = "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\n";

for (const which of ["own", "package"] as const) {
  describe(`${which === "own" ? "examples/smtp-server.ts" : "examples/smtp-server-package.ts"} survives hostile clients`, () => {
    let child: Child;
    beforeAll(async () => {
      child = await startChild(which);
    }, 40_000);
    afterAll(() => {
      child?.process.kill();
    });

    it("a message whose handler throws: 451 4.3.0, logged, and the server goes on", async () => {
      const c = rawClient(child.port);
      await c.until(greeting);
      c.send(`${start}RCPT TO:<crash@example.org>\r\nDATA\r\n`);
      await c.until((t) => /^354/m.test(t));
      c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
      const text = await c.until((t) => /^451 /m.test(t));
      expect(text).toMatch(/^451 4\.3\.0 /m);
      c.socket.destroy();
      await normalClientIsServed(child);
      expect(child.stderr()).toContain("LOGGED");
    }, 30_000);

    it("a handler returning a rejected Promise: 451 4.3.0 (not 250), logged, no unhandled rejection, the server goes on", async () => {
      const c = rawClient(child.port);
      await c.until(greeting);
      c.send(`${start}RCPT TO:<async-crash@example.org>\r\nDATA\r\n`);
      await c.until((t) => /^354/m.test(t));
      c.send("Subject: x\r\n\r\nbody\r\n.\r\n");
      const text = await c.until((t) => /^(451|250) /m.test(t.split("354")[1] ?? ""));
      expect(text.split("354")[1]).toMatch(/^451 4\.3\.0 /m);
      c.socket.destroy();
      await normalClientIsServed(child);
      expect(child.stderr()).toContain("async handler exploded");
    }, 30_000);

    it("a reset in the middle of a transaction and in the middle of DATA", async () => {
      const a = rawClient(child.port);
      await a.until(greeting);
      a.send(start);
      await a.until((t) => /^250 .*(Sender OK|Accepted)/im.test(t));
      a.socket.resetAndDestroy();
      const b = rawClient(child.port);
      await b.until(greeting);
      b.send(`${start}RCPT TO:<bob@example.org>\r\nDATA\r\n`);
      await b.until((t) => /^354/m.test(t));
      b.send("Subject: half\r\n\r\nhalf a mess");
      await new Promise((r) => setTimeout(r, 100));
      b.socket.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 300));
      await normalClientIsServed(child);
    }, 30_000);

    it("a 4 MB line, binary garbage, and a client that vanishes", async () => {
      const a = rawClient(child.port);
      await a.until(greeting);
      a.send("X".repeat(4 * 1024 * 1024));
      a.send("\r\nQUIT\r\n");
      await a.until((t, closed) => closed || /^221 /m.test(t));
      const b = rawClient(child.port);
      await b.until(greeting);
      b.send(randomBytes(256 * 1024));
      b.socket.end();
      await b.closed();
      const c = rawClient(child.port);
      c.socket.destroy();
      await normalClientIsServed(child);
    }, 60_000);

    if (which === "own")
      it("2 MB of commands pipelined while a message is decided: reading pauses, all are answered in order", async () => {
        const c = rawClient(child.port);
        await c.until(greeting);
        const n = 300_000; // 2.4 MB of NOOPs, past the session's 1 MiB pending-input cap
        c.send(`${start}RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n${"NOOP\r\n".repeat(n)}QUIT\r\n`);
        await c.until((t) => /^221 /m.test(t), 60_000);
        expect(c.count("250 2.0.0 OK")).toBe(n);
        expect(c.count("421 4.7.0 mx.example.org Too much input while a reply is pending, closing connection")).toBe(0);
      }, 90_000);
  });
}

describe("examples/smtp-server.ts: a client that pipelines and does not read", () => {
  it("the server stops reading when its replies back up, and answers everything once the client reads", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const server = await startSmtpServer({ hostname: "mx.example.org", localDomains: ["example.org"], log: () => undefined });
    try {
      const socket = connect(server.port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.pause(); // read nothing yet
      const n = 1_000_000; // 6 MB of commands, 14 MB of replies
      socket.write(`${"NOOP\r\n".repeat(n)}QUIT\r\n`);
      // Wait until the server's reply count stops growing.
      let last = -1;
      while (server.replyLines !== last) {
        last = server.replyLines;
        await new Promise((r) => setTimeout(r, 500));
      }
      // Kernel buffers hold a few MB of replies; without backpressure all n would be in memory.
      expect(server.replyLines).toBeLessThan(n * 0.7);
      let got = 0;
      let tail = "";
      const done = new Promise<void>((resolve) => socket.on("close", () => resolve()));
      socket.on("data", (d: Buffer) => {
        const text = tail + d.toString("latin1");
        const lines = text.split("\r\n");
        tail = lines.pop()!;
        for (const l of lines) if (l === "250 2.0.0 OK") got++;
      });
      socket.resume();
      await done;
      expect(got).toBe(n);
    } finally {
      await server.close();
    }
  }, 90_000);
});

describe("examples/smtp-server.ts: a connection limiter that fails", () => {
  it("the client gets 421 4.3.0, the failure is logged, nothing escapes the server", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const logged: string[] = [];
    const failing = { take: () => Promise.reject(new Error("store down")) } as unknown as import("../../src/index.js").RateLimiter;
    const server = await startSmtpServer({
      hostname: "mx.example.org",
      localDomains: ["example.org"],
      connectionLimit: failing,
      log: (m, e) => logged.push(`${m}: ${String(e)}`),
    });
    try {
      const c = rawClient(server.port);
      const text = await c.until((t, closed) => closed && t.length > 0);
      expect(text).toBe("421 4.3.0 mx.example.org Internal error, closing connection\r\n");
      expect(logged).toEqual([expect.stringContaining("connection setup failed: Error: store down")]);
    } finally {
      await server.close();
    }
  });
});

/** Polls `test` until it holds (a generous deadline, not a timing assertion). */
async function eventually(test: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("examples/smtp-server-package.ts: only a message received in full and accepted is stored", () => {
  let child: Child;
  const limit = 1_000_000;
  beforeAll(async () => {
    child = await startChild("package", { maxMessageSize: limit, timeBudgetMs: 1500 });
  }, 40_000);
  afterAll(() => {
    child?.process.kill();
  });
  const discards = () => child.stderr().split("message discarded").length - 1;
  const storedFor = (rcpt: string) =>
    child
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith(`STORED ${rcpt} `));

  async function openData(rcpt: string) {
    const c = rawClient(child.port);
    await c.until(greeting);
    c.send(`${start}RCPT TO:<${rcpt}>\r\nDATA\r\n`);
    await c.until((t) => /^354/m.test(t));
    return c;
  }

  for (const [name, rcpt, body] of [
    ["a header line, then a reset", "partial1@example.org", "From: a@b.example\r\n"],
    ["300 KB of body, then a reset", "partial2@example.org", `From: a@b.example\r\n\r\n${"x".repeat(998)}\r\n`.repeat(300)],
  ] as const) {
    it(`${name}: nothing is stored, the discard is logged`, async () => {
      const before = discards();
      const c = await openData(rcpt);
      c.send(body);
      await sleep(300);
      c.socket.resetAndDestroy();
      await eventually(() => discards() > before);
      await normalClientIsServed(child);
      expect(storedFor(rcpt)).toEqual([]);
    }, 30_000);
  }

  it("a sender dripping past authenticate()'s time budget, then a reset: nothing is stored", async () => {
    const before = discards();
    const c = await openData("partial3@example.org");
    c.send("From: a@b.example\r\nSubject: drip\r\n\r\n");
    for (let i = 0; i < 15; i++) {
      c.send(`line ${i}\r\n`);
      await sleep(200); // 3 s in all, twice the 1.5 s budget
    }
    const sofar = await c.until(() => true);
    expect(sofar.split(/^354.*\r\n/m)[1]).toBe(""); // no reply while the client still sends
    expect(storedFor("partial3@example.org")).toEqual([]);
    c.socket.resetAndDestroy();
    await eventually(() => discards() > before);
    expect(storedFor("partial3@example.org")).toEqual([]);
  }, 30_000);

  it("a sender dripping past the time budget that then ends DATA: answered 250 and stored whole", async () => {
    const c = await openData("drip4@example.org");
    c.send("From: a@b.example\r\nSubject: drip\r\n\r\n");
    for (let i = 0; i < 12; i++) {
      c.send(`line ${i}\r\n`);
      await sleep(200);
    }
    c.send("the very end\r\n.\r\n");
    await c.until((t) => /^250 /m.test(t.split("354")[1] ?? ""));
    await eventually(() => storedFor("drip4@example.org").length === 1);
    expect(storedFor("drip4@example.org")[0]).toContain(JSON.stringify("the very end\r\n".slice(-16)).slice(1, -1));
  }, 30_000);

  it("a message past maxMessageSize: 552 5.3.4 at its end, nothing stored; SIZE= past it refused at MAIL", async () => {
    const c = await openData("big@example.org");
    const line = `${"y".repeat(998)}\r\n`;
    c.send(`From: a@b.example\r\n\r\n${line.repeat(3000)}.\r\n`); // 3 MB
    const text = await c.until((t) => /^55\d /m.test(t));
    expect(text).toMatch(/^552 5\.3\.4 /m);
    expect(storedFor("big@example.org")).toEqual([]);
    c.send(`MAIL FROM:<a@example.com> SIZE=${limit + 1}\r\n`);
    await c.until((t) => (t.match(/^552 /gm) ?? []).length === 2);
    c.socket.destroy();
    await normalClientIsServed(child);
  }, 30_000);

  for (const [name, content] of [
    ["<LF>.<LF>", "a\n.\nMAIL FROM:<x@example.com>\r\n"],
    ["<CR>.<CR>", "a\r.\rRCPT TO:<x@example.com>\r\n"],
    ["<CR><LF>.<LF>", "a\r\n.\nDATA\r\n"],
  ] as const) {
    it(`a message holding ${name} (an end-of-data look-alike) is refused with 550 5.5.2, not stored`, async () => {
      const c = await openData("smuggle@example.org");
      c.send(`From: a@b.example\r\n\r\n${content}after\r\n.\r\n`);
      const text = await c.until((t) => /^5\d\d |^250 /m.test(t.split("354")[1] ?? ""));
      expect(text).toMatch(/^550 5\.5\.2 /m);
      c.socket.destroy();
      expect(storedFor("smuggle@example.org")).toEqual([]);
    }, 30_000);
  }
});

describe("examples/smtp-server.ts: bounded state, timeouts and connection caps", () => {
  const quiet = { hostname: "mx.example.org", localDomains: ["example.org"] };

  it("the transcript and the delivered messages are bounded (keepTranscript, keepMessages); onMessage sees every message", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const { exampleResolver } = await import("../helpers/keys.js");
    let seen = 0;
    const server = await startSmtpServer({
      ...quiet,
      authenticate: { resolver: exampleResolver() },
      keepTranscript: 5,
      keepMessages: 2,
      onMessage: () => seen++,
      log: () => undefined,
    });
    try {
      const c = rawClient(server.port);
      await c.until(greeting);
      const message = `MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: x\r\n\r\n${"z".repeat(100_000)}\r\n.\r\n`;
      c.send(`EHLO c.example\r\n${"NOOP\r\n".repeat(20_000)}${message.repeat(5)}QUIT\r\n`);
      await c.until((t) => /^221 /m.test(t), 60_000);
      expect(seen).toBe(5);
      expect(server.messages).toHaveLength(2);
      expect(server.transcript).toHaveLength(5);
      expect(server.transcript.at(-1)).toMatch(/^221 /);
      expect(server.replyLines).toBeGreaterThan(20_000);
      // The defaults keep nothing.
      const plain = await startSmtpServer({ ...quiet, authenticate: { resolver: exampleResolver() }, log: () => undefined });
      const d = rawClient(plain.port);
      await d.until(greeting);
      d.send(`EHLO c.example\r\n${message}QUIT\r\n`);
      await d.until((t) => /^221 /m.test(t));
      expect([plain.messages.length, plain.transcript.length]).toEqual([0, 0]);
      await plain.close();
    } finally {
      await server.close();
    }
  }, 90_000);

  it("an idle client gets 421 4.4.2 after idleTimeoutMs, logged; a busy one is not cut", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const logged: string[] = [];
    const server = await startSmtpServer({ ...quiet, idleTimeoutMs: 400, log: (m) => logged.push(m) });
    try {
      const busy = rawClient(server.port);
      await busy.until(greeting);
      for (let i = 0; i < 8; i++) {
        busy.send("NOOP\r\n");
        await sleep(150);
      }
      expect(busy.count("250 2.0.0 OK")).toBe(8);
      const idle = rawClient(server.port);
      await idle.until(greeting);
      const text = await idle.until((t, closed) => closed && /^421 /m.test(t));
      expect(text).toMatch(/^421 4\.4\.2 mx\.example\.org Idle timeout, closing connection\r\n$/m);
      expect(logged.some((l) => l.includes("idle for 400 ms"))).toBe(true);
    } finally {
      await server.close();
    }
  }, 30_000);

  it("STARTTLS with no handshake after it: dropped after handshakeTimeoutMs, logged", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const { createTestPki } = await import("../helpers/pki.js");
    const tls = createTestPki().issue({ names: ["mx.example.org"] });
    const logged: string[] = [];
    const server = await startSmtpServer({ ...quiet, tls, handshakeTimeoutMs: 400, log: (m) => logged.push(m) });
    try {
      const c = rawClient(server.port);
      await c.until(greeting);
      c.send("EHLO c.example\r\nSTARTTLS\r\n");
      await c.until((t) => /^220 2\.0\.0/m.test(t));
      await c.closed();
      expect(logged.some((l) => l.includes("TLS handshake not done within 400 ms"))).toBe(true);
      await eventually(() => server.connections === 0);
    } finally {
      await server.close();
    }
  }, 30_000);

  for (const cap of ["maxConnections", "maxConnectionsPerIp"] as const) {
    it(`${cap}: past it a new connection gets 421 4.7.0 and a log line; a freed slot serves again`, async () => {
      const { startSmtpServer } = await import("../../examples/smtp-server.js");
      const logged: string[] = [];
      const server = await startSmtpServer({ ...quiet, [cap]: 3, log: (m) => logged.push(m) });
      try {
        const held = [rawClient(server.port), rawClient(server.port), rawClient(server.port)];
        for (const h of held) await h.until(greeting);
        const extra = rawClient(server.port);
        const text = await extra.until((t, closed) => closed && t.length > 0);
        expect(text).toBe("421 4.7.0 mx.example.org Too many connections, try again later\r\n");
        expect(logged.filter((l) => l.includes("connection refused: already 3 connections"))).toHaveLength(1);
        held[0]!.socket.destroy();
        await eventually(() => server.connections === 2);
        const again = rawClient(server.port);
        await again.until(greeting);
        again.send("QUIT\r\n");
        await again.until((t) => /^221 /m.test(t));
      } finally {
        await server.close();
      }
    }, 30_000);
  }

  it("a connection limiter whose allowed is not the boolean true refuses (fail closed)", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    for (const allowed of [Promise.resolve(true), "yes", 1]) {
      const logged: string[] = [];
      const limiter = {
        take: async () => ({ allowed, remaining: 0, retryAfterMs: 1000 }),
      } as unknown as import("../../src/index.js").RateLimiter;
      const server = await startSmtpServer({ ...quiet, connectionLimit: limiter, log: (m) => logged.push(m) });
      try {
        const c = rawClient(server.port);
        const text = await c.until((t, closed) => closed && t.length > 0);
        expect(text).toMatch(/^421 4\.7\.0 /);
        expect(logged).toEqual([expect.stringContaining("connectionLimit returned allowed=")]);
      } finally {
        await server.close();
      }
    }
  }, 30_000);
});

/**
 * Connections from 127.0.0.x (x > 1) that never close (half-open: they read the 421 and keep their
 * end open). Each settles once it got something, was closed or reset, or after 5 s.
 */
async function stubbornClients(port: number, from: string, n: number) {
  const sockets: Socket[] = [];
  const settled: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const s = connect({ port, host: "127.0.0.1", localAddress: from, allowHalfOpen: true });
    s.on("error", () => undefined);
    sockets.push(s);
    settled.push(
      new Promise<void>((resolve) => {
        s.once("data", () => resolve());
        s.once("end", () => resolve());
        s.once("close", () => resolve());
        setTimeout(resolve, 5000).unref();
      }),
    );
  }
  await Promise.all(settled);
  return {
    destroy: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

describe("examples/smtp-server.ts: refused connections do not exhaust descriptors", () => {
  it("300 connections from 127.0.0.2 that never close, under ulimit -n 100: a client from 127.0.0.1 is still served", async () => {
    const child = await startChild("own", { maxConnections: 10, maxConnectionsPerIp: 3, refusalGraceMs: 500 }, 100);
    try {
      const stubborn = await stubbornClients(child.port, "127.0.0.2", 300);
      try {
        const transport = nodemailer.createTransport({
          host: "127.0.0.1",
          port: child.port,
          secure: false,
          ignoreTLS: true,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
        });
        const info = await transport.sendMail({ from: "alice@example.com", to: "bob@example.org", subject: "s", text: "t" });
        expect(info.accepted).toEqual(["bob@example.org"]);
        expect(child.stderr()).toMatch(/connection refused: already 3 connections from 127\.0\.0\.2/);
        expect(child.stderr()).toMatch(/connection dropped: already 3 connections from 127\.0\.0\.2 and as many being refused/);
        expect(child.stderr()).not.toMatch(/EMFILE/);
      } finally {
        stubborn.destroy();
      }
    } finally {
      child.process.kill();
    }
  }, 60_000);
});

describe("examples/smtp-server.ts on port 465: connections still in their TLS handshake count against the per-IP cap", () => {
  it("8 connections from 127.0.0.2 that never send a ClientHello, 3 per IP: 5 closed at once, 3 held; 127.0.0.1 completes TLS and is served", async () => {
    const { createTestPki, hasOpenssl } = await import("../helpers/pki.js");
    if (!hasOpenssl()) return void console.log("SKIPPED: no openssl for the test certificate");
    const pki = createTestPki();
    const tls = pki.issue({ names: ["mx.example.org"] });
    // maxConnections stays at its default (100): only the per-IP cap can refuse these 8.
    const child = await startChild("own", { mode: "submissions", tls, maxConnectionsPerIp: 3, handshakeTimeoutMs: 30_000 });
    const stalled: Socket[] = [];
    try {
      let closed = 0;
      const fiveClosed = new Promise<void>((resolve, reject) => {
        for (let i = 0; i < 8; i++) {
          const s = connect({ port: child.port, host: "127.0.0.1", localAddress: "127.0.0.2" });
          s.on("error", () => undefined);
          s.on("close", () => {
            if (++closed === 5) resolve();
          });
          stalled.push(s);
        }
        setTimeout(() => reject(new Error(`${closed} of 8 handshaking connections closed; 5 should be`)), 15_000).unref();
      });
      await fiveClosed;
      // Another client (another IP) gets through the handshake and is greeted, served and let go.
      const { connect: tlsConnect } = await import("node:tls");
      const client = tlsConnect({ port: child.port, host: "127.0.0.1", ca: pki.ca, servername: "mx.example.org" });
      let got = "";
      let greeted = false;
      client.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (!greeted && /^220 /m.test(got)) {
          greeted = true;
          client.write("EHLO c.example\r\nQUIT\r\n");
        }
      });
      await new Promise<void>((resolve, reject) => {
        client.on("close", () => resolve());
        client.on("error", reject);
      });
      expect(got).toMatch(/^220 2\.0\.0 mx\.example\.org ESMTP/m);
      expect(got).toMatch(/^250[ -]/m);
      expect(got).toMatch(/^221 /m);
      // The first three are still held (in their handshake, within handshakeTimeoutMs); the rest were refused.
      expect(closed).toBe(5);
      expect(stalled.filter((s) => !s.destroyed)).toHaveLength(3);
      expect(child.stderr()).toMatch(/connection refused: already 3 connections from 127\.0\.0\.2/);
      expect(child.process.exitCode).toBeNull();
    } finally {
      for (const s of stalled) s.destroy();
      child.process.kill();
    }
  }, 60_000);
});

describe("examples/smtp-server-package.ts: one client cannot starve the others", () => {
  let child: Child;
  beforeAll(async () => {
    child = await startChild("package", { maxClients: 5, maxConnectionsPerIp: 3, progressTimeoutMs: 1500 });
  }, 40_000);
  afterAll(() => {
    child?.process.kill();
  });

  it("connections from one IP past maxConnectionsPerIp get 421 4.7.0; a client from another IP is served", async () => {
    const held = [0, 1, 2].map(() => rawClient(child.port, "127.0.0.2"));
    try {
      for (const h of held) await h.until(greeting);
      for (const _ of [0, 1]) {
        const extra = rawClient(child.port, "127.0.0.2");
        const text = await extra.until((t, closed) => closed && t.length > 0);
        expect(text).toMatch(/^421 4\.7\.0 Too many connections from your address/);
      }
      await normalClientIsServed(child);
      expect(child.stderr()).toContain("connection refused: already 3 connections from 127.0.0.2");
    } finally {
      for (const h of held) h.socket.destroy();
    }
  }, 30_000);

  it("a client that only sends NOOPs is closed with 421 4.4.2 after progressTimeoutMs; delivering messages keeps a client open", async () => {
    const noop = rawClient(child.port, "127.0.0.3");
    await noop.until(greeting);
    const keepAlive = setInterval(() => noop.send("NOOP\r\n"), 200);
    try {
      const text = await noop.until((t, closed) => closed && /^421 /m.test(t));
      expect(text).toMatch(/^421 4\.4\.2 No progress, closing connection\r\n$/m);
      expect(text).toMatch(/^250 /m); // the NOOPs were answered until then
      expect(child.stderr()).toContain("no message delivered within 1500 ms, closing");
    } finally {
      clearInterval(keepAlive);
      noop.socket.destroy();
    }
    // A message every 300 ms for 8 messages (longer than progressTimeoutMs in all): never cut.
    const sender = rawClient(child.port, "127.0.0.4");
    await sender.until(greeting);
    sender.send("EHLO c.example\r\n");
    for (let i = 1; i <= 8; i++) {
      sender.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
      await sender.until(() => sender.count("354 End data with <CR><LF>.<CR><LF>") === i);
      sender.send("Subject: x\r\n\r\nbody\r\n.\r\n");
      await sender.until(() => sender.count("250 OK: message queued") === i);
      await sleep(300);
    }
    sender.send("QUIT\r\n");
    const text = await sender.until((t) => /^221 /m.test(t));
    expect(text).not.toMatch(/^421 /m);
    sender.socket.destroy();
  }, 30_000);
});

describe("examples/smtp-server.ts: a pipelined burst answered by more reply lines than a call takes arguments", () => {
  it("20,000 EHLOs in one write (about 200,000 reply lines, 80,000 in one read): all answered, then QUIT", async () => {
    const { startSmtpServer } = await import("../../examples/smtp-server.js");
    const logged: string[] = [];
    const server = await startSmtpServer({
      hostname: "mx.example.org",
      localDomains: ["example.org"],
      keepTranscript: 3,
      log: (m) => logged.push(m),
    });
    try {
      const c = rawClient(server.port);
      await c.until(greeting);
      const n = 20_000;
      c.send(`${"EHLO c\r\n".repeat(n)}QUIT\r\n`);
      const text = await c.until((t, closed) => /^221 /m.test(t) || closed, 60_000);
      expect(text).not.toMatch(/^421 /m);
      expect(c.count("250 DSN")).toBe(n);
      expect(text).toMatch(/^221 /m);
      expect(logged).toEqual([]);
      expect(server.replyLines).toBe(1 + n * text.split("\r\n").indexOf("250 DSN") + 1);
      expect(server.transcript).toHaveLength(3);
    } finally {
      await server.close();
    }
  }, 90_000);
});

describe("both example servers treat dot-stuffed end-of-data look-alikes the same", () => {
  const children: Partial<Record<"own" | "package", Child>> = {};
  beforeAll(async () => {
    children.own = await startChild("own");
    children.package = await startChild("package");
  }, 60_000);
  afterAll(() => {
    children.own?.process.kill();
    children.package?.process.kill();
  });
  const cases: Array<[string, string, RegExp]> = [
    ["<CR><LF>..<LF> (the own server delivered <CR><LF>.<LF>)", "a\r\n..\nMAIL FROM:<x@example.com>\r\n", /^550 5\.5\.2 /m],
    ["<CR><LF>..<CR>", "a\r\n..\rRCPT TO:<x@example.com>\r\n", /^550 5\.5\.2 /m],
    ["<CR><LF>..<CR><LF> (a stuffed '.' line: content)", "a\r\n..\r\nb\r\n", /^250 /m],
  ];
  for (const [name, content, expected] of cases) {
    it(`${name}: the same answer from both`, async () => {
      for (const which of ["own", "package"] as const) {
        const c = rawClient(children[which]!.port);
        await c.until(greeting);
        c.send(`EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<dots@example.org>\r\nDATA\r\n`);
        await c.until((t) => /^354/m.test(t));
        c.send(`From: a@b.example\r\n\r\n${content}after\r\n.\r\n`);
        const text = await c.until((t) => /^[25]\d\d /m.test(t.split(/^354.*$/m)[1] ?? ""));
        expect(text.split(/^354.*$/m)[1], which).toMatch(expected);
        c.socket.destroy();
      }
    }, 30_000);
  }

  // The one documented difference (docs/smtp.md): smtp-server unstuffs a dot after a bare LF too, so
  // <LF>..<LF> becomes the look-alike <LF>.<LF> and is refused; the session removes dots only after
  // CRLF and delivers <LF>..<LF> as it came, which is no look-alike. Same rule: the content decides.
  it("<LF>..<LF>: refused by the package example (its content holds <LF>.<LF>), delivered unchanged by the session", async () => {
    for (const [which, expected] of [
      ["own", /^250 /m],
      ["package", /^550 5\.5\.2 /m],
    ] as const) {
      const c = rawClient(children[which]!.port);
      await c.until(greeting);
      c.send("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<dots@example.org>\r\nDATA\r\n");
      await c.until((t) => /^354/m.test(t));
      c.send("From: a@b.example\r\n\r\na\n..\nDATA\r\nafter\r\n.\r\n");
      const text = await c.until((t) => /^[25]\d\d /m.test(t.split(/^354.*$/m)[1] ?? ""));
      expect(text.split(/^354.*$/m)[1], which).toMatch(expected);
      c.socket.destroy();
    }
  }, 30_000);
});

describe("examples/smtp-server-package.ts: not an open relay", () => {
  let child: Child;
  beforeAll(async () => {
    child = await startChild("package");
  }, 40_000);
  afterAll(() => {
    child?.process.kill();
  });

  it("RCPT outside localDomains from an unauthenticated client: 550 5.7.1 Relaying denied; a local one: 250", async () => {
    const c = rawClient(child.port);
    await c.until(greeting);
    c.send("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<victim@elsewhere.example>\r\nRCPT TO:<x@EXAMPLE.org>\r\n");
    const text = await c.until((t) => (t.match(/^(550|250) /gm) ?? []).length >= 4);
    const replies = text.split("\r\n").filter((l) => /^(550|250) /.test(l));
    expect(replies.slice(-2)).toEqual(["550 5.7.1 Relaying denied", "250 Accepted"]);
    c.socket.destroy();
  }, 30_000);
});
