// The command line run as users run it: a child process, bytes through real pipes and files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "msgauth-child-"));
const zone = join(root, "fixtures/zones/example.zone");
const rsa = join(root, "fixtures/keys/rsa2048.pem");
const ed = join(root, "fixtures/keys/ed25519.pem");
// Prints the peak resident memory (kB) on stderr when the process ends. Garbage is collected often,
// so that the peak measures what the process holds, not how lazily V8 collects (it lets up to 64 MB
// of dead Buffers pile up before collecting).
const peak = join(dir, "peak.mjs");
writeFileSync(
  peak,
  `setInterval(() => globalThis.gc(), 50).unref();
process.on("exit", () => process.stderr.write("maxrss " + process.resourceUsage().maxRSS + "\\n"));\n`,
);

function cli(args: string[], input?: Buffer, nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, "--import", "tsx", join(root, "src/cli/bin.ts"), ...args], {
    cwd: root,
    input: input ?? Buffer.alloc(0),
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr.toString("utf8") };
}

const SESSION = ["--ip", "192.0.2.25", "--mail-from", "alice@example.com", "--zone", zone];
const SIGN = ["--domain", "example.com", "--selector", "rsa2048", "--key", rsa, "--selector", "ed25519", "--key", ed];

function message(eol: string, headers: Buffer[], body: Buffer[]): Buffer {
  const e = Buffer.from(eol);
  const lines = (xs: Buffer[]) => xs.flatMap((x) => [x, e]);
  return Buffer.concat([...lines(headers), e, ...lines(body)]);
}
const utf8Headers = [
  Buffer.from('From: "Jörg Größ" <alice@example.com>'),
  Buffer.from("To: Zoë <bob@example.org>"),
  Buffer.from("Subject: Grüße aus Köln 😀"),
  Buffer.from("Date: Fri, 20 Nov 2026 10:00:00 +0000"),
  Buffer.from("Content-Type: text/plain; charset=utf-8"),
  Buffer.from("Content-Transfer-Encoding: 8bit"),
];
// Every byte value but CR and LF, some of it not UTF-8 at all (lone continuation bytes, 0xff).
const binary = Array.from({ length: 8 }, (_, i) =>
  Buffer.from(Array.from({ length: 32 }, (_, j) => (i * 32 + j) % 256).filter((b) => b !== 0x0a && b !== 0x0d)),
);
const latin1Header = Buffer.concat([Buffer.from("X-Note: caf"), Buffer.from([0xe9]), Buffer.from(" cr"), Buffer.from([0xe8, 0x6d, 0x65])]);

const cases: Array<[string, Buffer]> = [
  ["UTF-8 headers and body, LF", message("\n", utf8Headers, [Buffer.from("Schöne Grüße, € 😀"), Buffer.from("— Jörg")])],
  ["UTF-8 headers and body, CRLF", message("\r\n", utf8Headers, [Buffer.from("Schöne Grüße, € 😀"), Buffer.from("— Jörg")])],
  ["binary-looking body and a Latin-1 header, LF", message("\n", [...utf8Headers, latin1Header], binary)],
  ["binary-looking body and a Latin-1 header, CRLF", message("\r\n", [...utf8Headers, latin1Header], binary)],
];

describe("sign then check round-trips 8-bit mail through the command line", () => {
  it("stdin to stdout, and file to --out: the message bytes are unchanged and both signatures pass", () => {
    const files: string[] = [];
    for (const [i, [name, msg]] of cases.entries()) {
      let signed: Buffer;
      if (i % 2 === 0) {
        const r = cli(["sign", "-", ...SIGN], msg);
        expect([name, r.code, r.err]).toEqual([name, 0, ""]);
        signed = r.out;
      } else {
        const input = join(dir, `in${i}.eml`);
        const output = join(dir, `out${i}.eml`);
        writeFileSync(input, msg);
        const r = cli(["sign", input, ...SIGN, "--out", output]);
        expect([name, r.code, r.err, r.out.length]).toEqual([name, 0, "", 0]);
        signed = readFileSync(output);
      }
      // Bytes in, bytes out: the original message follows the new fields, byte for byte.
      expect(signed.subarray(signed.length - msg.length).equals(msg)).toBe(true);
      expect(signed.subarray(0, 16).toString("latin1")).toBe("DKIM-Signature: ");
      const file = join(dir, `signed${i}.eml`);
      writeFileSync(file, signed);
      files.push(file);
    }
    const r = cli(["check", ...files, ...SESSION, "--json"]);
    expect(r.err).toBe("");
    const results = r.out
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(results.map((x) => [x.dkim.map((d: { result: string }) => d.result), x.dmarc.result])).toEqual(
      cases.map(() => [["pass", "pass"], "pass"]),
    );
    expect(r.code).toBe(0);
  }, 120_000);

  it("seal writes the message bytes unchanged and its ARC set validates", () => {
    const msg = cases[1]![1];
    const r = cli(
      ["seal", "-", "--domain", "example.com", "--selector", "rsa2048", "--key", rsa, "--authserv-id", "mx.example.com", ...SESSION],
      msg,
    );
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.out.subarray(r.out.length - msg.length).equals(msg)).toBe(true);
    const c = cli(["check", "-", ...SESSION, "--json"], r.out);
    expect(JSON.parse(c.out.toString("utf8")).arc).toMatchObject({ result: "pass" });
  }, 60_000);
});

describe("check memory does not grow with the input", () => {
  it("a 60 MB mbox costs about what a 1 MB one does", () => {
    const unsigned = readFileSync(join(root, "fixtures/messages/sample-unsigned.eml"));
    const body = Buffer.from(`${"x".repeat(76)}\n`.repeat(650)); // 50 KB
    const one = Buffer.concat([
      Buffer.from("From alice@example.com Fri Nov 20 10:00:00 2026\n"),
      unsigned,
      Buffer.from("\n"),
      body,
      Buffer.from("\n"),
    ]);
    const small = join(dir, "small.mbox");
    const big = join(dir, "big.mbox");
    writeFileSync(small, Buffer.concat(Array(20).fill(one)));
    writeFileSync(big, Buffer.concat(Array(1200).fill(one)));
    const rss = (file: string) => {
      const r = cli(["check", file, ...SESSION, "--json"], undefined, ["--expose-gc", "--import", peak]);
      expect(r.code).toBe(0);
      expect(r.out.toString("utf8").trim().split("\n").length).toBe(file === big ? 1200 : 20);
      return Number(/maxrss (\d+)/.exec(r.err)![1]) / 1024;
    };
    const grown = rss(big) - rss(small);
    // Reading the whole mbox first (the old way) held the file, a string copy and every message:
    // over 150 MB more. One message at a time is some MB more (about 10-30 here), whatever its size.
    expect(grown).toBeLessThan(60);
  }, 120_000);
});
