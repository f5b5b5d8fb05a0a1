import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT, main, splitMbox } from "../../src/cli/main.js";
import { FixtureResolver, loadZone, verifyArc, verifyDkim } from "../../src/index.js";
import { EXAMPLE_ZONE, fixture } from "../helpers/keys.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const zone = join(root, "fixtures/zones/example.zone");
const dir = mkdtempSync(join(tmpdir(), "msgauth-cli-"));

async function run(argv: string[], stdin = "") {
  let out = "";
  let err = "";
  const code = await main(argv, {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    readStdin: async () => Buffer.from(stdin),
    resolver: () => new FixtureResolver(EXAMPLE_ZONE),
  });
  return { code, out, err };
}

describe("msgauth check", () => {
  it("authenticates a message file offline with --zone and prints the A-R field", async () => {
    const r = await run([
      "check",
      join(root, "fixtures/messages/sample.eml"),
      "--ip",
      "192.0.2.25",
      "--helo",
      "mx.example.com",
      "--mail-from",
      "alice@example.com",
      "--authserv-id",
      "mx.example.org",
      "--zone",
      zone,
    ]);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/DMARC {2}pass for example\.com/);
    expect(r.out).toContain("Authentication-Results: mx.example.org; iprev=pass");
  });
  it("exits 1 for a DMARC fail, with --json output", async () => {
    const r = await run([
      "check",
      join(root, "fixtures/messages/spoofed.eml"),
      "--ip",
      "203.0.113.9",
      "--mail-from",
      "alice@example.com",
      "--zone",
      zone,
      "--json",
    ]);
    expect(r.code).toBe(EXIT.fail);
    expect(JSON.parse(r.out)).toMatchObject({ dmarc: { result: "fail", disposition: "reject" }, spf: { result: "fail" } });
  });
  it("reads stdin, a folder of .eml files, and an mbox", async () => {
    const sample = fixture("messages/sample.eml").toString();
    writeFileSync(join(dir, "a.eml"), sample);
    writeFileSync(join(dir, "b.eml"), sample);
    writeFileSync(
      join(dir, "box.mbox"),
      `From alice@example.com Fri Nov 20 10:00:00 2026\n${sample}\nFrom bob@example.org Fri Nov 20 10:01:00 2026\n${fixture("messages/spoofed.eml")}`,
    );
    const stdin = await run(["check", "-", "--ip", "192.0.2.25", "--mail-from", "alice@example.com"], sample);
    expect(stdin.out).toContain("<stdin>:");
    const folder = await run(["check", dir, "--ip", "192.0.2.25", "--mail-from", "alice@example.com", "--json"]);
    expect(folder.out.trim().split("\n")).toHaveLength(2);
    const mbox = await run(["check", join(dir, "box.mbox"), "--ip", "203.0.113.9", "--mail-from", "alice@example.com", "--json"]);
    const lines = mbox.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.file.replace(/.*#/, "#"), l.dmarc.result])).toEqual([
      ["#1", "pass"],
      ["#2", "fail"],
    ]);
    expect(mbox.code).toBe(EXIT.fail);
  });
  it("mbox splitting unescapes >From lines", () => {
    const parts = splitMbox(Buffer.from("From a@b Mon\nSubject: 1\n\n>From here\n\nFrom c@d Tue\nSubject: 2\n\nx\n"));
    expect(parts.map((p) => p.toString())).toEqual(["Subject: 1\n\nFrom here\n\n", "Subject: 2\n\nx\n"]);
  });
});

describe("msgauth sign, seal, keygen", () => {
  it("keygen writes a key and prints its TXT record; sign uses it; check verifies", async () => {
    const key = join(dir, "ed.pem");
    const k = await run(["keygen", "--type", "ed25519", "--selector", "cli", "--domain", "example.com", "--out", key]);
    expect(k.code).toBe(0);
    const record = /"(v=DKIM1; k=ed25519; p=[^"]+)"/.exec(k.out)![1]!;
    const zoneFile = join(dir, "cli.zone");
    writeFileSync(zoneFile, `cli._domainkey.example.com. TXT "${record}"\n`);
    const s = await run([
      "sign",
      join(root, "fixtures/messages/sample-unsigned.eml"),
      "--domain",
      "example.com",
      "--selector",
      "cli",
      "--key",
      key,
    ]);
    expect(s.code).toBe(0);
    const results = await verifyDkim(s.out, { resolver: new FixtureResolver(await loadZone(zoneFile)) });
    expect(results.map((r) => r.result)).toEqual(["pass"]);
  });
  it("keygen makes 2048-bit RSA keys and refuses weak ones", async () => {
    const k = await run(["keygen"]);
    expect(k.out).toMatch(/BEGIN PRIVATE KEY[\s\S]*k=rsa; p=MIIBIjAN/);
    expect((await run(["keygen", "--bits", "512"])).code).toBe(EXIT.usage);
  });
  it("seal adds an ARC set that verifies", async () => {
    const s = await run([
      "seal",
      join(root, "fixtures/messages/sample.eml"),
      "--domain",
      "example.com",
      "--selector",
      "rsa2048",
      "--key",
      join(root, "fixtures/keys/rsa2048.pem"),
      "--authserv-id",
      "mx.example.com",
      "--ip",
      "192.0.2.25",
      "--mail-from",
      "alice@example.com",
      "--zone",
      zone,
    ]);
    expect(s.code).toBe(0);
    expect(await verifyArc(s.out, { resolver: new FixtureResolver(EXAMPLE_ZONE) })).toMatchObject({ result: "pass", instances: 1 });
  });
});

describe("msgauth spf, dmarc, record, errors", () => {
  it("spf prints the result and Received-SPF; exit 1 on fail", async () => {
    expect((await run(["spf", "192.0.2.25", "alice@example.com", "--zone", zone])).code).toBe(0);
    const f = await run(["spf", "203.0.113.9", "alice@example.com", "--zone", zone]);
    expect(f.code).toBe(EXIT.fail);
    expect(f.out).toMatch(/^fail /);
  });
  it("dmarc shows the record and the policy for a subdomain", async () => {
    const r = await run(["dmarc", "sub.example.com", "--zone", zone]);
    expect(r.out).toContain("found at example.com");
    expect(r.out).toContain("policy for sub.example.com: reject");
  });
  it("record runs a command and saves every answer as a zone that replays", async () => {
    const out = join(dir, "recorded.yaml");
    const r = await run(["record", "--out", out, "--", "spf", "192.0.2.25", "alice@example.com"]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/recorded \d+ answers/);
    const again = await run(["spf", "192.0.2.25", "alice@example.com", "--zone", out]);
    expect(again.out.split("\n")[0]).toBe(r.out.split("\n")[0]);
    expect(readFileSync(out, "utf8")).toContain("v=spf1 ip4:192.0.2.0/24");
  });
  const usage: Array<[string, string[]]> = [
    ["no command", []],
    ["an unknown command", ["frobnicate"]],
    ["a bad IP", ["check", "x.eml", "--ip", "not-an-ip"]],
    ["an unknown option", ["spf", "1.2.3.4", "a@b.c", "--frob"]],
    ["sign without keys", ["sign", "x.eml", "--domain", "example.com"]],
    ["record without --", ["record", "--out", "x.yaml", "spf"]],
  ];
  for (const [name, argv] of usage) {
    it(`exit 2 with one clear line for ${name}`, async () => {
      const r = await run(argv);
      expect(r.code).toBe(EXIT.usage);
    });
  }
  it("exit 4 for an unreadable file", async () => {
    const r = await run(["check", join(dir, "missing.eml"), "--ip", "192.0.2.1"]);
    expect(r.code).toBe(EXIT.input);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});
