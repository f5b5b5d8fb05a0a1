import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardWithArc } from "../../examples/forward-with-arc.js";
import { createAuthenticatingServer, type Stored } from "../../examples/smtp-server-package.js";
import { recheck } from "../../examples/spam-filter.js";
import { FixtureResolver, mergeZones, verifyArc, zoneFromObject } from "../../src/index.js";
import { EXAMPLE_ZONE, exampleResolver, fixture, RSA_PEM } from "../helpers/keys.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");

describe("the smtp-server package with msgauth in onData", () => {
  const stored: Stored[] = [];
  const server = createAuthenticatingServer({
    authservId: "mx.example.org",
    localDomains: ["example.org"],
    authenticate: { resolver: exampleResolver(), now: NOW },
    rejectOnDmarc: true,
    store: (m) => stored.push(m),
    server: { logger: false, banner: "test" },
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (raw: Buffer, from: string) =>
    nodemailer
      .createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, name: "mx.example.com" })
      .sendMail({ envelope: { from, to: ["bob@example.org"] }, raw });

  it("a signed message gets Authentication-Results on top and is stored", async () => {
    await send(fixture("messages/sample.eml"), "alice@example.com");
    const m = stored.at(-1)!;
    expect(m.dmarc).toBe("pass");
    expect(m.message.toString()).toMatch(/^Authentication-Results: mx\.example\.org;[\s\S]*dkim=pass/);
    expect(m.envelope).toMatchObject({
      ip: "127.0.0.1",
      helo: "mx.example.com",
      mailFrom: "alice@example.com",
      rcptTo: ["bob@example.org"],
    });
  });

  it("a spoof of a p=reject domain is refused with 550 5.7.1", async () => {
    await expect(send(fixture("messages/spoofed.eml"), "alice@example.com")).rejects.toThrow(
      /550 5\.7\.1 Rejected per DMARC policy of example\.com/,
    );
  });
});

describe("a forwarder that seals with ARC and sends with nodemailer", () => {
  it("the forwarded message carries an ARC set that verifies and records the original DMARC pass", async () => {
    const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const zone = mergeZones(
      EXAMPLE_ZONE,
      zoneFromObject({ "rsa2048._domainkey.fwd.example.org": { TXT: EXAMPLE_ZONE.get("rsa2048._domainkey.example.com")!.TXT! } }),
    );
    const resolver = new FixtureResolver(zone);
    const info = await forwardWithArc(
      fixture("messages/sample.eml"),
      { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
      {
        to: ["bob@elsewhere.example"],
        transporter,
        domain: "fwd.example.org",
        selector: "rsa2048",
        privateKey: RSA_PEM,
        authservId: "fwd.example.org",
        authenticate: { resolver, now: NOW },
      },
    );
    const out = info.message as Buffer;
    const arc = await verifyArc(out, { resolver });
    expect(arc).toMatchObject({ result: "pass", instances: 1 });
    expect(arc.sets[0]!.authResults).toMatch(/dmarc=pass/);
  });
});

describe("a spam filter re-checking stored mail", () => {
  it("believes only its own MTAs' Authentication-Results and re-verifies DKIM", async () => {
    const stored = Buffer.concat([
      Buffer.from(
        "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=alice@example.com; dmarc=pass header.from=example.com\r\n",
      ),
      Buffer.from("Authentication-Results: attacker.example; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example\r\n"),
      fixture("messages/sample.eml"),
    ]);
    const report = await recheck(stored, { trustedAuthservIds: ["mx.example.org"], resolver: exampleResolver() });
    expect(report).toEqual({ recorded: { spf: "pass", dmarc: "pass" }, dkimNow: { "example.com": "pass" }, arcNow: "none", ignored: 1 });
  });
});
