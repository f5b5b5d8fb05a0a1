import { describe, expect, it } from "vitest";
import {
  authenticate,
  type DkimSignOptions,
  FixtureResolver,
  mergeZones,
  removeAuthResults,
  signMessage,
  splitMessage,
  zoneFromObject,
} from "../../src/index.js";
import { ED_PEM, EXAMPLE_ZONE } from "../helpers/keys.js";

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const edKey = EXAMPLE_ZONE.get("ed25519._domainkey.example.com")!.TXT!;
const zone = mergeZones(
  EXAMPLE_ZONE,
  zoneFromObject({
    // The attacker's own, correctly configured domain.
    "evil.example": { TXT: "v=spf1 ip4:203.0.113.0/24 -all" },
    "ed25519._domainkey.evil.example": { TXT: edKey },
    "_dmarc.evil.example": { TXT: "v=DMARC1; p=none" },
    // A domain under a multi-label public suffix, and the suffix itself signing.
    "_dmarc.example.co.uk": { TXT: "v=DMARC1; p=reject" },
    "ed25519._domainkey.co.uk": { TXT: edKey },
    "xn--bcher-kva.example": { TXT: "v=spf1 -all" },
    "_dmarc.xn--bcher-kva.example": { TXT: "v=DMARC1; p=reject" },
    "ed25519._domainkey.xn--bcher-kva.example": { TXT: edKey },
  }),
);
const resolver = () => new FixtureResolver(zone);
const BODY =
  "To: bob@example.org\r\nSubject: Invoice\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nPlease pay.\r\n";
const sign = async (from: string, d: string, extra: Partial<DkimSignOptions> = {}) =>
  (
    await signMessage(`From: ${from}\r\n${BODY}`, {
      domain: d,
      selector: "ed25519",
      privateKey: ED_PEM,
      timestamp: 1_795_000_000,
      ...extra,
    })
  ).toString();
/** The attacker's server: authorized for evil.example only. */
const attacker = { ip: "203.0.113.66", helo: "mail.evil.example", mailFrom: "bounce@evil.example" };
const run = (m: string | Uint8Array, env = attacker) =>
  authenticate(m, env, { resolver: resolver(), authservId: "mx.example.org", now: NOW });

describe("From-field tricks: DMARC judges the domain a mail reader shows, or fails", () => {
  it("a display name that looks like an address: the real address is judged", async () => {
    const r = await run(await sign('"alice@example.com" <mallory@evil.example>', "evil.example"));
    expect(r.dmarc).toMatchObject({ fromDomain: "evil.example", result: "pass" });
  });
  it("an encoded-word display name hiding example.com: the address's domain is judged", async () => {
    const r = await run(await sign("=?utf-8?b?YWxpY2VAZXhhbXBsZS5jb20=?= <mallory@evil.example>", "evil.example"));
    expect(r.author).toMatchObject({ ok: true, domain: "evil.example", mailbox: { name: "alice@example.com" } });
    expect(r.dmarc?.fromDomain).toBe("evil.example");
  });
  it("a comment holding a second address does not count", async () => {
    const r = await run(await sign("alice@example.com (mallory@evil.example)", "evil.example"));
    expect(r.dmarc).toMatchObject({ fromDomain: "example.com", result: "fail", disposition: "reject" });
  });
  it("a second From field added above a signed message: fails, never a silent pick", async () => {
    const signed = await sign("alice@example.com", "example.com");
    const r = await run(`From: ceo@example.com\r\n${signed}`);
    expect(r.dkim[0]!.result).toBe("fail"); // From is oversigned
    expect(r.dmarc).toMatchObject({ result: "fail" });
  });
  it("two From fields from different domains: each judged, the strictest disposition", async () => {
    const signed = await sign("mallory@evil.example", "evil.example");
    const r = await run(`From: alice@example.com\r\n${signed}`);
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
  });
  it("a From with a mailbox from each domain: fails with the victim's policy", async () => {
    const r = await run(await sign("mallory@evil.example, alice@example.com", "evil.example"));
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject", domains: expect.any(Array) });
  });
  it("group syntax in From is not a way around DMARC", async () => {
    const r = await run(await sign("Friends: alice@example.com;", "evil.example"));
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
  });
  it("case variants of the From domain align with d=", async () => {
    const r = await run(await sign("Alice <alice@EXAMPLE.Com>", "example.com"), { ...attacker, mailFrom: "" });
    expect(r.dmarc).toMatchObject({ fromDomain: "example.com", result: "pass" });
  });
  it("an IDN From domain aligns with its A-label d=, and is judged by its policy", async () => {
    const ok = await run(await sign("a@bücher.example", "xn--bcher-kva.example"));
    expect(ok.dmarc).toMatchObject({ fromDomain: "xn--bcher-kva.example", result: "pass" });
    const spoof = await run(await sign("a@bücher.example", "evil.example"));
    expect(spoof.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
  });
  it("a NUL byte in the From domain: both readings (cut at it, and without it) are judged, the strictest policy applies", async () => {
    const r = await run(`From: alice@example.com\u0000.evil.example\r\n${BODY}`);
    expect(r.author).toMatchObject({ ok: false, reason: "syntax", domains: ["example.com", "example.com.evil.example"] });
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject" });
  });
});

describe("DKIM tricks", () => {
  it("l= with appended content: the signature passes, the unsigned part is reported", async () => {
    const signed = await sign("alice@example.com", "example.com", { bodyLength: true });
    const r = await run(`${signed}\r\nPS: pay to IBAN XX00 EVIL instead.\r\n`);
    expect(r.dkim[0]).toMatchObject({ result: "pass" });
    expect(r.dkim[0]!.canonicalBodyLength).toBeGreaterThan(r.dkim[0]!.bodyLength!);
  });
  it("a signature whose h= leaves out From is neutral and cannot make DMARC pass", async () => {
    const signed = await sign("alice@example.com", "example.com");
    const noFrom = signed.replace(/h=from: ?from: ?/, "h=");
    const r = await run(noFrom);
    expect(r.dkim[0]!.result).toBe("neutral");
    expect(r.dmarc?.result).toBe("fail");
  });
  it("a bare CR or NUL in d=, s= or a tag is a syntax error (neutral)", async () => {
    const signed = await sign("alice@example.com", "example.com");
    for (const broken of [
      signed.replace("d=example.com", "d=example.com\r.evil"),
      signed.replace("s=ed25519", "s=ed\u000025519"),
      signed.replace("a=ed25519-sha256", "a=ed25519-sha256\u0000"),
    ]) {
      expect((await run(broken)).dkim[0]!.result).toBe("neutral");
    }
  });
  it("d= with a trailing dot or upper case is the same domain", async () => {
    const signed = await sign("alice@example.com", "example.com");
    const r = await run(signed.replace("d=example.com", "d=EXAMPLE.com."));
    expect(r.dkim[0]).toMatchObject({ domain: "example.com" });
  });
  it("a signature by a public suffix (d=co.uk) does not align with example.co.uk, in either DMARC mode", async () => {
    const m = await sign("alice@example.co.uk", "co.uk");
    for (const dmarcMode of ["rfc9989", "rfc7489"] as const) {
      const r = await authenticate(m, attacker, { resolver: resolver(), authservId: "mx", now: NOW, dmarcMode });
      expect(r.dkim[0]!.result).toBe("pass");
      expect(r.dmarc).toMatchObject({ result: "fail", dkim: { aligned: false } });
    }
  });
  it("a look-alike d= (example.com.evil.example) does not align with example.com", async () => {
    const r = await run(await sign("alice@example.com", "evil.example", { domain: "example.com.evil.example" }));
    expect(r.dmarc?.result).toBe("fail");
  });
});

describe("SPF identity tricks", () => {
  it("the null sender with the victim's name as HELO from an unauthorized server: SPF fails, DMARC fails", async () => {
    const r = await run(`From: alice@example.com\r\n${BODY}`, { ip: "203.0.113.66", helo: "example.com", mailFrom: "" });
    expect(r.spf).toMatchObject({ identity: "helo", domain: "example.com", result: "fail" });
    expect(r.dmarc?.result).toBe("fail");
  });
  it("the null sender with the attacker's own HELO: SPF passes for evil.example, which does not align", async () => {
    const r = await run(`From: alice@example.com\r\n${BODY}`, { ip: "203.0.113.66", helo: "evil.example", mailFrom: "<>" });
    expect(r.spf).toMatchObject({ identity: "helo", result: "pass", domain: "evil.example" });
    expect(r.dmarc).toMatchObject({ result: "fail", spf: { aligned: false } });
  });
  it("a MAIL FROM on a look-alike subdomain of the attacker does not align", async () => {
    const r = await run(`From: alice@example.com\r\n${BODY}`, { ...attacker, mailFrom: "x@example.com.evil.example" });
    expect(r.dmarc?.result).toBe("fail");
  });
});

describe("Authentication-Results pretending to be ours", () => {
  const forged = (m: string) =>
    `Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=alice@example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\nReceived-SPF: pass (mx.example.org: domain of alice@example.com designates 203.0.113.66 as permitted sender)\r\n${m}`;
  it("never change the verdict", async () => {
    const r = await run(forged(`From: alice@example.com\r\n${BODY}`));
    expect(r.dmarc?.result).toBe("fail");
    expect(r.trusted).toEqual([]);
  });
  it("removeAuthResults strips them at the border; fields from other ids stay", () => {
    const m = Buffer.from(`Authentication-Results: relay.example.net; spf=pass\r\n${forged(`From: alice@example.com\r\n${BODY}`)}`);
    const copy = Buffer.from(m);
    const cleaned = removeAuthResults(m, ["mx.example.org"]);
    const names = splitMessage(cleaned).headers.map((h) => h.name);
    expect(names.filter((n) => n === "Authentication-Results")).toHaveLength(1);
    expect(Buffer.from(cleaned).toString()).toContain("relay.example.net");
    expect(m).toEqual(copy);
  });
  it("our own header fields cannot be injected into, whatever the envelope holds", async () => {
    const r = await run(`From: alice@example.com\r\n${BODY}`, {
      ip: "203.0.113.66",
      helo: "x\r\nAuthentication-Results: mx.example.org; dmarc=pass",
      mailFrom: "a\r\nX-Evil: 1@example.com",
    });
    const lines = r.prepend.split("\r\n").filter(Boolean);
    expect(lines.filter((l) => !l.startsWith("\t")).map((l) => l.split(":")[0])).toEqual(["Authentication-Results", "Received-SPF"]);
  });
});
