// Files and streams the command line writes (src/cli/output.ts, src/cli/bin.ts): run as users run it,
// a child process, because a FIFO target or /dev/full as standard output are about real descriptors.
import { spawnSync } from "node:child_process";
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "msgauth-out-"));
const ed = join(root, "fixtures/keys/ed25519.pem");
const zone = join(root, "fixtures/zones/example.zone");
const message = join(dir, "m.eml");
writeFileSync(message, "From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n");
const SIGN = ["sign", "--domain", "example.com", "--selector", "ed25519", "--key", ed, message];

/** A FIFO blocked the old code forever: the deadline turns that into status null. */
function cli(args: string[], stdout: "pipe" | number = "pipe") {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/bin.ts"), ...args], {
    cwd: root,
    stdio: ["ignore", stdout, "pipe"],
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout?.toString("utf8") ?? "", err: r.stderr.toString("utf8") };
}

function fifo(name: string): string {
  const path = join(dir, name);
  spawnSync("mkfifo", [path]);
  expect(lstatSync(path).isFIFO()).toBe(true);
  return path;
}

const leftovers = () => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

describe("keygen --out", () => {
  it("onto an existing file of mode 644: the private key is mode 600 (a new file renamed over it)", () => {
    const out = join(dir, "old.pem");
    writeFileSync(out, "old", { mode: 0o644 });
    expect(statSync(out).mode & 0o777).toBe(0o644);
    const r = cli(["keygen", "--type", "ed25519", "--out", out]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(leftovers()).toEqual([]);
  }, 30_000);

  it("a new file is mode 600", () => {
    const out = join(dir, "new.pem");
    expect(cli(["keygen", "--type", "ed25519", "--out", out]).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  }, 30_000);

  it("a symbolic link is refused: exit 4, one line, the link target untouched", () => {
    const target = join(dir, "target.txt");
    writeFileSync(target, "precious");
    const link = join(dir, "link.pem");
    symlinkSync(target, link);
    const r = cli(["keygen", "--type", "ed25519", "--out", link]);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`msgauth: cannot write ${link}: a symbolic link, not a regular file (refused)\n`);
    expect(r.out).toBe("");
    expect(readFileSync(target, "utf8")).toBe("precious");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  }, 30_000);

  it("a dangling symbolic link is refused too (it would create the file it points to)", () => {
    const link = join(dir, "dangling.pem");
    symlinkSync(join(dir, "nowhere.pem"), link);
    expect(cli(["keygen", "--type", "ed25519", "--out", link]).code).toBe(4);
    expect(readdirSync(dir)).not.toContain("nowhere.pem");
  }, 30_000);
});

describe("--out that is not a regular file: refused at once, nothing blocks", () => {
  const cases: Array<[string, (out: string) => string[]]> = [
    ["keygen", (out) => ["keygen", "--type", "ed25519", "--out", out]],
    ["sign", (out) => [...SIGN, "--out", out]],
    ["record", (out) => ["record", "--out", out, "--zone", zone, "--", "dmarc", "example.com"]],
  ];
  for (const [name, args] of cases) {
    it(`${name} --out <FIFO>: exit 4, one line`, () => {
      const path = fifo(`${name}.fifo`);
      const r = cli(args(path));
      expect(r.code).toBe(4);
      expect(r.err).toBe(`msgauth: cannot write ${path}: a FIFO, not a regular file (refused)\n`);
    }, 30_000);
  }

  it("sign --out <folder>: exit 4", () => {
    const r = cli([...SIGN, "--out", dir]);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`msgauth: cannot write ${dir}: a folder, not a regular file (refused)\n`);
  }, 30_000);

  it("sign --out <regular file>: written whole, replacing it", () => {
    const out = join(dir, "signed.eml");
    writeFileSync(out, "x".repeat(100_000));
    expect(cli([...SIGN, "--out", out]).code).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^DKIM-Signature: [\s\S]*\r\n\r\nbody\r\n$/);
  }, 30_000);
});

describe("standard output that cannot be written", () => {
  it("sign > /dev/full: one line on stderr (ENOSPC), exit 4, no stack trace", () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = cli(SIGN, full);
      expect(r.code).toBe(4);
      expect(r.err).toBe("msgauth: cannot write standard output (ENOSPC)\n");
    } finally {
      closeSync(full);
    }
  }, 30_000);
});

describe("error messages escape a name once", () => {
  it("a key named k<ESC>[31m is shown as k\\e[31m, not k\\\\e[31m", () => {
    const r = cli(["sign", "--domain", "example.com", "--selector", "s", "--key", join(dir, "k\x1b[31m"), message]);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`msgauth: cannot read key ${dir}/k\\e[31m: no such file\n`);
  }, 30_000);

  it("a name holding a backslash is escaped once too", () => {
    const r = cli([...SIGN, "--out", join(dir, "no-such-folder", "a\\b.eml")]);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`msgauth: cannot write ${dir}/no-such-folder/a\\\\b.eml (ENOENT)\n`);
  }, 30_000);
});

describe("a name that is not UTF-8 on the command line", () => {
  it("cannot be opened (node decodes argv as UTF-8): the message says so; its folder works", () => {
    const sub = join(dir, "latin1");
    spawnSync("mkdir", [sub]);
    // A file named caf<0xE9>.eml, made and named through the shell: the bytes reach the CLI raw.
    const made = spawnSync("/bin/sh", ["-c", `cp "$0" "$1/$(printf 'caf\\351.eml')"`, message, sub]);
    expect(made.status).toBe(0);
    const run = spawnSync(
      "/bin/sh",
      [
        "-c",
        `"$0" --import tsx "$1" check --ip 192.0.2.1 --mail-from a@example.com --zone "$2" "$3/$(printf 'caf\\351.eml')"`,
        process.execPath,
        join(root, "src/cli/bin.ts"),
        zone,
        sub,
      ],
      { cwd: root, timeout: 20_000 },
    );
    expect(run.status).toBe(4);
    expect(run.stderr.toString("utf8")).toBe(
      `msgauth: ${sub}/caf\ufffd.eml: no such file (the name holds U+FFFD: a name that is not valid UTF-8 cannot be given on the command line; give the folder holding it)\n`,
    );
    const folder = cli(["check", "--ip", "192.0.2.1", "--mail-from", "a@example.com", "--zone", zone, sub]);
    expect(folder.out).toContain(`${sub}/caf\\xe9.eml:`);
  }, 30_000);
});
