/**
 * Every file the CLI reads (message, key, zone, report) goes through one check (src/cli/inputs.ts):
 * a FIFO, a socket or a device is refused without being read or waited on, a regular file is read
 * up to a cap, and the command exits 4 with one line on stderr. Before, `--key /dev/zero` grew
 * without limit, `--key <fifo>`, `--zone <fifo>` and `report parse <fifo>` hung.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT, main } from "../../src/cli/main.js";
import { FixtureResolver } from "../../src/index.js";
import { EXAMPLE_ZONE } from "../helpers/keys.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "msgauth-cli-special-"));
const message = join(root, "fixtures/messages/sample.eml");
const zone = join(root, "fixtures/zones/example.zone");

async function run(argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, {
    stdout: (t) => {
      out += typeof t === "string" ? t : Buffer.from(t).toString("utf8");
    },
    stderr: (t) => {
      err += t;
    },
    stdin: async function* () {},
    resolver: () => new FixtureResolver(EXAMPLE_ZONE),
  });
  return { code, out, err };
}

const fifo = join(dir, "fifo");
const socketPath = join(dir, "sock");
const bigKey = join(dir, "big.pem");
let server: Server;
beforeAll(async () => {
  execFileSync("mkfifo", [fifo]);
  writeFileSync(bigKey, Buffer.alloc(1024 * 1024 + 1, 0x41));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const kinds: Array<[string, () => string, RegExp]> = [
  ["a FIFO", () => fifo, /a FIFO, not a regular file/],
  ["a socket", () => socketPath, /a socket, not a regular file/],
  ["/dev/zero", () => "/dev/zero", /a device, not a regular file/],
];
const sign = (key: string) => ["sign", message, "--domain", "example.com", "--selector", "s", "--key", key];
const commands: Array<[string, (f: string) => string[]]> = [
  ["sign --key", sign],
  ["seal --key", (f) => ["seal", message, "--domain", "example.com", "--selector", "s", "--key", f, "--authserv-id", "mx.example.org"]],
  ["check --zone", (f) => ["check", message, "--ip", "192.0.2.25", "--mail-from", "a@example.com", "--zone", f]],
  ["spf --zone", (f) => ["spf", "192.0.2.25", "a@example.com", "--zone", f]],
  ["dmarc --zone", (f) => ["dmarc", "example.com", "--zone", f]],
  ["report parse", (f) => ["report", "parse", f]],
  ["report summary", (f) => ["report", "summary", f]],
  ["tlsrpt parse", (f) => ["tlsrpt", "parse", f]],
  ["tlsrpt parse --zone", (f) => ["tlsrpt", "parse", zone, "--zone", f]],
];

describe("CLI: files that are not regular files are refused unread, exit 4, one line", () => {
  for (const [kind, path, why] of kinds) {
    for (const [name, argv] of commands) {
      it(`${name} ${kind}`, async () => {
        const r = await run(argv(path()));
        expect(r.code).toBe(EXIT.input);
        expect(r.err).toMatch(why);
        expect(r.err.trim().split("\n")).toHaveLength(1);
      }, 20_000);
    }
  }
});

describe("CLI: a regular file past its cap is refused", () => {
  it("a key file over 1 MiB: exit 4, 'larger than 1 MiB'", async () => {
    const r = await run(sign(bigKey));
    expect(r.code).toBe(EXIT.input);
    expect(r.err).toMatch(/^msgauth: cannot read key .*big\.pem: larger than 1 MiB\n$/);
  });
  it("a real key still signs", async () => {
    const r = await run(sign(join(root, "fixtures/keys/rsa2048.pem")));
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/^DKIM-Signature: /);
  });
});

describe("CLI: a negative number after an option", () => {
  it("--max-message-size -1 says it must be a positive size (exit 2)", async () => {
    const r = await run(["check", message, "--ip", "192.0.2.25", "--max-message-size", "-1"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/--max-message-size'? must be a positive size .*not '?-1'?/);
  });
});

describe("check --json: a file name that is not UTF-8", () => {
  it("file is the escaped form (as in text output), fileBytes the name's bytes in hex; a UTF-8 name has no fileBytes", async () => {
    const { mkdtempSync: mk, readFileSync } = await import("node:fs");
    const d = mk(join(tmpdir(), "msgauth-cli-nonutf8-"));
    const raw = Buffer.concat([Buffer.from(`${d}/`), Buffer.from([0xff, 0xfe]), Buffer.from(".eml")]);
    writeFileSync(raw, readFileSync(message));
    writeFileSync(join(d, "café.eml"), readFileSync(message));
    const r = await run(["check", d, "--ip", "192.0.2.25", "--mail-from", "alice@example.com", "--json"]);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { file: string; fileBytes?: string });
    // In byte order: "caf\xc3\xa9" before "\xff".
    expect(lines.map((l) => [l.file, l.fileBytes])).toEqual([
      [join(d, "café.eml"), undefined],
      [`${d}/\\xff\\xfe.eml`, raw.toString("hex")],
    ]);
    expect(r.out).not.toContain("\ufffd");
  });
});
