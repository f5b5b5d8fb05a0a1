import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startSmtpServer } from "../../examples/smtp-server.js";
import { RateLimiter } from "../../src/index.js";
import { exampleResolver, fixture } from "../helpers/keys.js";

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const HAS_SWAKS = has("swaks");
if (!HAS_SWAKS) console.warn("SWAKS ABSENT: the swaks end-to-end tests are skipped (.ci/run installs swaks from Debian)");

const dir = mkdtempSync(join(tmpdir(), "msgauth-smtp-"));
/** A throwaway certificate for mx.example.org / 127.0.0.1, made with OpenSSL at test time. */
execFileSync(
  "openssl",
  [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=mx.example.org",
    "-addext",
    "subjectAltName=DNS:mx.example.org,IP:127.0.0.1",
  ],
  { stdio: "ignore" },
);
const tls = { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
const samplePath = join(dir, "sample.eml");
writeFileSync(samplePath, fixture("messages/sample.eml").toString().replace(/\r?\n/g, "\r\n"));
const spoofPath = join(dir, "spoofed.eml");
writeFileSync(spoofPath, fixture("messages/spoofed.eml").toString().replace(/\r?\n/g, "\r\n"));

function swaks(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("swaks", ["--timeout", "10", "--server", "127.0.0.1", ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

const common = {
  hostname: "mx.example.org",
  localDomains: ["example.org"],
  users: { alice: "secret" },
  authenticate: { resolver: exampleResolver(), authservId: "mx.example.org" },
};

describe("the example server, end to end over loopback", () => {
  let mx: RunningServer;
  let submission: RunningServer;
  let submissions: RunningServer;
  beforeAll(async () => {
    mx = await startSmtpServer({ ...common, mode: "mx", tls, rejectOnDmarc: true, keepMessages: 20 });
    submission = await startSmtpServer({ ...common, mode: "submission", tls, keepMessages: 20 });
    submissions = await startSmtpServer({ ...common, mode: "submissions", tls, keepMessages: 20 });
  });
  afterAll(async () => {
    await Promise.all([mx.close(), submission.close(), submissions.close()]);
  });

  it.skipIf(!HAS_SWAKS)("swaks delivers the signed sample on port 25: Authentication-Results on top, DKIM and DMARC pass", async () => {
    const r = await swaks([
      "--port",
      String(mx.port),
      "--from",
      "alice@example.com",
      "--to",
      "bob@example.org",
      "--helo",
      "mx.example.com",
      "--data",
      samplePath,
    ]);
    expect(r.code, r.output).toBe(0);
    const delivered = mx.messages.at(-1)!;
    const text = delivered.data.toString();
    expect(text.startsWith("Authentication-Results: mx.example.org;")).toBe(true);
    expect(text).toMatch(/dkim=pass[\s\S]*header\.s=ed25519/);
    expect(delivered.dmarc).toBe("pass");
    expect(delivered.envelope).toMatchObject({
      ip: "127.0.0.1",
      helo: "mx.example.com",
      mailFrom: "alice@example.com",
      rcptTo: ["bob@example.org"],
    });
  });

  it.skipIf(!HAS_SWAKS)("swaks over STARTTLS on port 25", async () => {
    const before = mx.messages.length;
    const r = await swaks([
      "--port",
      String(mx.port),
      "--from",
      "alice@example.com",
      "--to",
      "bob@example.org",
      "--tls",
      "--data",
      samplePath,
    ]);
    expect(r.code, r.output).toBe(0);
    expect(mx.messages.length).toBe(before + 1);
    expect(mx.messages.at(-1)!.envelope.tls).toMatchObject({ protocol: expect.stringMatching(/^TLS/) });
  });

  it.skipIf(!HAS_SWAKS)("an unauthenticated client cannot relay: 550 5.7.1", async () => {
    const r = await swaks(["--port", String(mx.port), "--from", "alice@example.com", "--to", "victim@elsewhere.example"]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("550 5.7.1 Relaying denied");
  });

  it.skipIf(!HAS_SWAKS)("a spoof of a p=reject domain is rejected per DMARC with 550 5.7.1", async () => {
    const r = await swaks(["--port", String(mx.port), "--from", "alice@example.com", "--to", "bob@example.org", "--data", spoofPath]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("550 5.7.1 Rejected per DMARC policy of example.com");
  });

  it.skipIf(!HAS_SWAKS)("port 587: AUTH without STARTTLS is refused", async () => {
    const before = submission.messages.length;
    const r = await swaks([
      "--port",
      String(submission.port),
      "--from",
      "alice@example.com",
      "--to",
      "x@elsewhere.example",
      "--auth",
      "PLAIN",
      "--auth-user",
      "alice",
      "--auth-password",
      "secret",
    ]);
    expect(r.code).not.toBe(0);
    // AUTH is not advertised in plaintext, so swaks cannot even try it, and nothing is delivered.
    expect(r.output).not.toMatch(/<-\s+250[ -]AUTH/);
    expect(r.output).not.toContain("235 ");
    expect(submission.messages.length).toBe(before);
  });

  it.skipIf(!HAS_SWAKS)("port 587: STARTTLS, AUTH PLAIN, then relaying as the user works", async () => {
    const before = submission.messages.length;
    const r = await swaks([
      "--port",
      String(submission.port),
      "--from",
      "alice@example.com",
      "--to",
      "x@elsewhere.example",
      "--tls",
      "--auth",
      "PLAIN",
      "--auth-user",
      "alice",
      "--auth-password",
      "secret",
    ]);
    expect(r.code, r.output).toBe(0);
    expect(submission.messages.length).toBe(before + 1);
    expect(submission.messages.at(-1)!.envelope.authenticatedUser).toBe("alice");
  });

  it.skipIf(!HAS_SWAKS)("port 587: wrong password is 535 5.7.8", async () => {
    const r = await swaks([
      "--port",
      String(submission.port),
      "--from",
      "alice@example.com",
      "--to",
      "x@elsewhere.example",
      "--tls",
      "--auth",
      "LOGIN",
      "--auth-user",
      "alice",
      "--auth-password",
      "nope",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("535 5.7.8");
  });

  it("nodemailer submits over STARTTLS with AUTH on port 587", async () => {
    const before = submission.messages.length;
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: submission.port,
      secure: false,
      requireTLS: true,
      auth: { user: "alice", pass: "secret" },
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({
      from: "alice@example.com",
      to: "someone@elsewhere.example",
      subject: "via nodemailer",
      text: "Hello\n.\n..dots\n",
    });
    expect(info.accepted).toEqual(["someone@elsewhere.example"]);
    const delivered = submission.messages.at(-1)!;
    expect(submission.messages.length).toBe(before + 1);
    expect(delivered.data.toString()).toMatch(/\r\n\.\r\n\.\.dots\r\n/);
  });

  it("nodemailer submits over implicit TLS on port 465", async () => {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: submissions.port,
      secure: true,
      auth: { user: "alice", pass: "secret" },
      tls: { rejectUnauthorized: false },
    });
    const info = await transport.sendMail({ from: "alice@example.com", to: "someone@elsewhere.example", subject: "465", text: "hi" });
    expect(info.accepted).toEqual(["someone@elsewhere.example"]);
    expect(submissions.messages.at(-1)!.envelope).toMatchObject({ authenticatedUser: "alice", tls: true });
  });

  it("nodemailer without credentials cannot relay through port 25", async () => {
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port: mx.port, secure: false, ignoreTLS: true });
    await expect(
      transport.sendMail({ from: "alice@example.com", to: "victim@elsewhere.example", subject: "x", text: "x" }),
    ).rejects.toThrow(/550 5\.7\.1 Relaying denied/);
  });
});

describe("connection rate limit in the example server", () => {
  it("the second connection from one IP within the window gets 421 4.7.0 and is closed", async () => {
    const server = await startSmtpServer({
      ...common,
      mode: "mx",
      connectionLimit: new RateLimiter({ capacity: 1, refillPerSecond: 0.01 }),
    });
    const greet = () =>
      new Promise<string>((resolve) => {
        const s = connect(server.port, "127.0.0.1");
        let got = "";
        s.on("data", (d) => {
          got += d.toString();
          if (got.includes("\r\n")) {
            s.destroy();
            resolve(got.split("\r\n")[0]!);
          }
        });
      });
    expect(await greet()).toBe("220 2.0.0 mx.example.org ESMTP ready");
    expect(await greet()).toMatch(/^421 4\.7\.0 Too many connections, try again in \d+ s$/);
    await server.close();
  });
});
