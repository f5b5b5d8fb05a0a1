import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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

const CHECK = ["--ip", "192.0.2.25", "--mail-from", "alice@example.com"];
const sample = () => fixture("messages/sample.eml").toString();

async function run(argv: string[], stdin: string | Buffer = "") {
  const out: Buffer[] = [];
  let err = "";
  const code = await main(argv, {
    stdout: (t) => {
      out.push(Buffer.from(t));
    },
    stderr: (t) => {
      err += t;
    },
    stdin: async function* () {
      yield Buffer.from(stdin);
    },
    resolver: () => new FixtureResolver(EXAMPLE_ZONE),
  });
  const bytes = Buffer.concat(out);
  return { code, out: bytes.toString("utf8"), bytes, err };
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
    // The field is printed folded on lines of its own, not with its CRLFs escaped.
    expect(r.out).toMatch(/\n\theader\.s=/);
    expect(r.out).not.toContain("\\r\\n");
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

describe("check: inputs that are not regular files, broken mboxes, streaming", () => {
  it("skips a FIFO and a folder named *.eml in a folder with a warning, and checks the rest", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-odd-"));
    writeFileSync(join(d, "a.eml"), sample());
    execFileSync("mkfifo", [join(d, "fifo.eml")]);
    mkdirSync(join(d, "sub.eml"));
    symlinkSync(join(d, "a.eml"), join(d, "link.eml"));
    symlinkSync(join(d, "fifo.eml"), join(d, "link-to-fifo.eml"));
    writeFileSync(join(d, "z.eml"), sample());
    const r = await run(["check", d, ...CHECK, "--json"]);
    const files = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).file.slice(d.length + 1));
    expect(files).toEqual(["a.eml", "link.eml", "z.eml"]);
    const warnings = r.err.trim().split("\n");
    expect(warnings).toEqual([
      expect.stringMatching(/^msgauth: warning: .*fifo\.eml: skipped: a FIFO, not a regular file$/),
      expect.stringMatching(/^msgauth: warning: .*link-to-fifo\.eml: skipped: a FIFO, not a regular file$/),
      expect.stringMatching(/^msgauth: warning: .*sub\.eml: skipped: a folder, not a regular file$/),
    ]);
    expect(r.code).toBe(EXIT.ok);
  });
  it("a FIFO named on the command line is an input error (exit 4), and the other inputs are checked", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-fifo-"));
    execFileSync("mkfifo", [join(d, "x.eml")]);
    writeFileSync(join(d, "ok.eml"), sample());
    const r = await run(["check", join(d, "x.eml"), join(d, "missing.eml"), join(d, "ok.eml"), ...CHECK]);
    expect(r.code).toBe(EXIT.input);
    expect(r.out).toContain("ok.eml:");
    expect(r.err).toMatch(/x\.eml: skipped: a FIFO/);
    expect(r.err).toMatch(/missing\.eml: no such file/);
  });
  const broken: Array<[string, string, RegExp]> = [
    ["a From line and nothing else", "From alice@example.com Fri Nov 20 10:00:00 2026\n", /#1: empty message/],
    ["a From line without a newline", "From alice@example.com", /#1: empty message/],
  ];
  for (const [name, text, why] of broken) {
    it(`a truncated mbox (${name}) says so and exits 4`, async () => {
      const f = join(dir, "broken.mbox");
      writeFileSync(f, text);
      const r = await run(["check", f, ...CHECK]);
      expect(r.code).toBe(EXIT.input);
      expect(r.out).toBe("");
      expect(r.err).toMatch(why);
    });
  }
  it("an empty message inside an mbox is reported; the others are checked", async () => {
    const f = join(dir, "holes.mbox");
    writeFileSync(f, `From a Mon\n${sample()}\nFrom b Mon\n\nFrom c Mon\n${sample()}`);
    const r = await run(["check", f, ...CHECK, "--json"]);
    expect(
      r.out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).file.replace(/.*#/, "#")),
    ).toEqual(["#1", "#3"]);
    expect(r.err).toMatch(/holes\.mbox#2: empty message/);
    expect(r.code).toBe(EXIT.input);
  });
  it("messages over --max-message-size are skipped with a clear line (mbox and single file)", async () => {
    const f = join(dir, "sizes.mbox");
    const big = sample().replace("Alice", `Alice\n${"x".repeat(5000)}`);
    writeFileSync(f, `From a Mon\n${big}\nFrom b Mon\n${sample()}`);
    writeFileSync(join(dir, "big.eml"), big);
    const r = await run(["check", f, join(dir, "big.eml"), ...CHECK, "--max-message-size", "4K", "--json"]);
    expect(r.out.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/sizes\.mbox#1: message is over the 4 KiB limit \(--max-message-size\); skipped\n/);
    expect(r.err).toMatch(/big\.eml: message is over the 4 KiB limit/);
    expect(r.code).toBe(EXIT.input);
    expect((await run(["check", f, ...CHECK, "--max-message-size", "lots"])).err).toMatch(
      /^msgauth: check: --max-message-size lots is not a size/,
    );
  });
  it("checks and prints each message of a stream before reading the next", async () => {
    // The second message is only sent once the first one's result is out: reading everything first
    // would wait forever.
    let firstOut!: () => void;
    const printed = new Promise<void>((resolve) => {
      firstOut = resolve;
    });
    let out = "";
    const code = await main(["check", "-", ...CHECK, "--json"], {
      stdout: (t) => {
        out += t;
        firstOut();
      },
      stderr: () => {},
      stdin: async function* () {
        yield Buffer.from(`From a Mon\n${sample()}\n`);
        yield Buffer.from("From b Mon\n");
        await printed;
        yield Buffer.from(sample());
      },
      resolver: () => new FixtureResolver(EXAMPLE_ZONE),
    });
    expect(code).toBe(EXIT.ok);
    expect(out.trim().split("\n")).toHaveLength(2);
  });
});

describe("names and content are printed escaped", () => {
  const nasty = "evil\u001b[31m\r\nforged: pass\u202e\u0085.eml";
  it("in text output and warnings", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-names-"));
    writeFileSync(join(d, nasty), sample());
    mkdirSync(join(d, `dir${nasty}`));
    const r = await run(["check", d, ...CHECK]);
    for (const text of [r.out, r.err]) {
      expect(text).not.toMatch(/[\u001b\r\u0085\u202e]/);
      expect(text).toContain("evil\\e[31m\\r\\nforged: pass\\u202e\\x85.eml");
    }
    expect(r.out.split("\n").filter((l) => l.startsWith("forged"))).toEqual([]);
  });
  it("in JSON: terminal-safe, and parsed back it is the real name", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-json-"));
    writeFileSync(join(d, nasty), sample());
    const r = await run(["check", d, ...CHECK, "--json"]);
    expect(r.out.trim()).not.toMatch(/[\u0000-\u001f\u0085\u202e]/);
    expect(JSON.parse(r.out).file).toBe(join(d, nasty));
  });
  it("a name that is not UTF-8 shows its bytes", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-bytes-"));
    writeFileSync(Buffer.concat([Buffer.from(`${d}/caf`), Buffer.from([0xe9]), Buffer.from(".eml")]), sample());
    const r = await run(["check", d, ...CHECK]);
    expect(r.out).toContain("caf\\xe9.eml:");
    expect(r.code).toBe(EXIT.ok);
  });
});

describe("help, version and errors in the user's terms", () => {
  for (const command of ["check", "sign", "seal", "spf", "dmarc", "keygen", "record", "tlsrpt", "report"]) {
    it(`${command} --help prints its usage and exits 0`, async () => {
      const r = await run([command, "--help"]);
      expect(r.code).toBe(EXIT.ok);
      expect(r.out).toMatch(new RegExp(`^usage: msgauth ${command} `));
      expect(r.err).toBe("");
      expect((await run(["help", command])).out).toBe(r.out);
    });
  }
  it("an unknown command is named (escaped) with the list of commands", async () => {
    const r = await run(["frob\u001b"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/^msgauth: unknown command frob\\e \(commands: check, sign, seal, spf, dmarc, keygen, record[^\n]*\)\n$/);
  });
  it("--version prints the package version", async () => {
    const r = await run(["--version"]);
    expect(r.out).toBe(`msgauth ${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}\n`);
  });
  const errors: Array<[string[], string]> = [
    [["check", "x.eml"], "msgauth: check: --ip is required (the IP address of the SMTP client)"],
    [["check", "x.eml", "--ip"], "msgauth: check: --ip needs a value"],
    [["check", "x.eml", "--ip", "1.2.3.4", "--ip", "1.2.3.5"], "msgauth: check: --ip given more than once"],
    [["check", "x.eml", "--ip", "nope"], "msgauth: check: --ip nope is not an IP address"],
    [["check", "x.eml", "--ip", "1.2.3.4", "--json=yes"], "msgauth: check: --json takes no value"],
    [["check", "x.eml", "--ip", "1.2.3.4", "--dmarc-mode", "x"], "msgauth: check: --dmarc-mode must be rfc9989 or rfc7489, not x"],
    [["spf", "1.2.3.4", "a@b.c", "--frob"], "msgauth: spf: unknown option --frob"],
    [["keygen", "extra"], "msgauth: keygen: unexpected argument extra"],
    [["keygen", "--bits", "512"], "msgauth: keygen: --bits must be 1024 to 8192 (2048 recommended), not 512"],
    [["sign", "x.eml", "--selector", "s", "--key", "k"], "msgauth: sign: --domain is required (the signing domain, d=)"],
    [["seal", "x.eml", "--domain", "example.com"], "msgauth: seal: --selector is required (the selector, s=)"],
    [["record", "--out", "x.yaml", "--frob", "--", "spf", "1.2.3.4", "a@b"], "msgauth: record: unknown option --frob"],
    [
      ["record", "--out", "x.yaml", "--", "spf", "1.2.3.4", "a@b", "--zone", "z"],
      "msgauth: record: put --zone before -- (the zones record reads from); after -- it would not be used",
    ],
    [["record", "--out", "x.yaml", "--", "keygen"], "msgauth: record: runs check, spf, dmarc or seal, not keygen"],
  ];
  for (const [argv, line] of errors) {
    it(`exit 2, one line: ${argv.join(" ")}`, async () => {
      const r = await run(argv);
      expect([r.code, r.err]).toEqual([EXIT.usage, `${line}\n`]);
    });
  }
});

describe("record", () => {
  it("writes NXDOMAIN answers, and the replay prints the same", async () => {
    const out = join(dir, "nx.yaml");
    const r = await run(["record", "--out", out, "--", "dmarc", "nowhere.example"]);
    expect(r.code).toBe(EXIT.fail);
    expect(readFileSync(out, "utf8")).toContain('"_dmarc.nowhere.example":\n  nxdomain: true');
    const again = await run(["dmarc", "nowhere.example", "--zone", out]);
    expect([again.code, again.out]).toEqual([r.code, r.out]);
  });
  it("records from the --zone files given before --", async () => {
    const out = join(dir, "from-zone.json");
    const r = await run(["record", "--out", out, "--zone", zone, "--", "spf", "192.0.2.25", "alice@example.com"]);
    expect(r.code).toBe(EXIT.ok);
    expect(JSON.parse(readFileSync(out, "utf8"))["example.com"].TXT[0]).toMatch(/^v=spf1 /);
  });
});

describe("check with nothing to check", () => {
  it("an empty folder or an empty file is not a pass", async () => {
    const d = mkdtempSync(join(tmpdir(), "msgauth-cli-empty-"));
    const folder = await run(["check", d, ...CHECK]);
    expect([folder.code, folder.err]).toEqual([
      EXIT.input,
      `msgauth: warning: ${d}: no .eml files in this folder\nmsgauth: no messages to check\n`,
    ]);
    writeFileSync(join(d, "empty.eml"), "");
    const file = await run(["check", join(d, "empty.eml"), ...CHECK]);
    expect([file.code, file.err]).toEqual([EXIT.input, `msgauth: ${join(d, "empty.eml")}: empty (0 bytes)\n`]);
    const stdin = await run(["check", "-", ...CHECK], "");
    expect([stdin.code, stdin.err]).toEqual([EXIT.input, "msgauth: <stdin>: empty (0 bytes)\n"]);
  });
});

describe("sign and seal input and output", () => {
  const SIGN = ["--domain", "example.com", "--selector", "rsa2048", "--key", join(root, "fixtures/keys/rsa2048.pem")];
  it("writes bytes: the fields, then the message as it came (8-bit, LF)", async () => {
    const msg = Buffer.concat([
      Buffer.from("From: Jörg <alice@example.com>\nSubject: caf"),
      Buffer.from([0xe9, 0x0a, 0x0a, 0xff, 0x00, 0x0a]),
    ]);
    const r = await run(["sign", "-", ...SIGN], msg);
    expect(r.code).toBe(EXIT.ok);
    expect(r.bytes.subarray(r.bytes.length - msg.length).equals(msg)).toBe(true);
  });
  it("refuses an mbox of two messages, and an --out it cannot write (exit 4, one line)", async () => {
    const two = await run(["sign", "-", ...SIGN], `From a Mon\n${sample()}\nFrom b Mon\n${sample()}`);
    expect([two.code, two.err]).toEqual([EXIT.input, "msgauth: <stdin>: holds more than one message (an mbox): give one message\n"]);
    const out = await run(["sign", "-", ...SIGN, "--out", join(dir, "no/such/dir.eml")], sample());
    expect(out.code).toBe(EXIT.input);
    expect(out.err).toMatch(/^msgauth: cannot write .*dir\.eml \(ENOENT\)\n$/);
  });
});
