/**
 * Peak memory of `msgauth check` against the size of its input: a tiny mbox (the baseline), a
 * 100 MB mbox of 2,000 messages, and a folder of 2,000 files of 50 KB. Runs the built command line
 * (`dist/cli.js`, or MSGAUTH_CLI) as a child process and reads its peak resident set size. Run with
 * `node bench/cli-memory.mts` after `npm run build` (Node 22.6+ strips the types; on Node 20 use
 * `node --import tsx bench/cli-memory.mts`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const cli = process.env.MSGAUTH_CLI ?? join(root, "dist/cli.js");
const dir = mkdtempSync(join(tmpdir(), "msgauth-bench-cli-"));
const peak = join(dir, "peak.mjs");
writeFileSync(peak, `process.on("exit", () => process.stderr.write("maxrss " + process.resourceUsage().maxRSS + "\\n"));\n`);

const unsigned = readFileSync(join(root, "fixtures/messages/sample-unsigned.eml"));
const message = Buffer.concat([unsigned, Buffer.from("\n"), Buffer.from(`${"x".repeat(76)}\n`.repeat(650))]); // 50 KB
const fromLine = Buffer.from("From alice@example.com Fri Nov 20 10:00:00 2026\n");
const mbox = (n: number) => Buffer.concat(Array.from({ length: n }, () => [fromLine, message, Buffer.from("\n")]).flat());

writeFileSync(join(dir, "tiny.mbox"), mbox(4));
writeFileSync(join(dir, "big.mbox"), mbox(2000));
mkdirSync(join(dir, "folder"));
for (let i = 0; i < 2000; i++) writeFileSync(join(dir, "folder", `m${String(i).padStart(5, "0")}.eml`), message);

function run(input: string): { mb: number; seconds: number; messages: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      peak,
      cli,
      "check",
      input,
      "--ip",
      "192.0.2.25",
      "--mail-from",
      "alice@example.com",
      "--zone",
      join(root, "fixtures/zones/example.zone"),
      "--json",
    ],
    { maxBuffer: 1 << 30 },
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
  const kb = Number(/maxrss (\d+)/.exec(r.stderr.toString())![1]);
  return { mb: kb / 1024, seconds, messages: r.stdout.toString().trim().split("\n").length };
}

console.log(`msgauth check, peak resident memory (${cli})`);
for (const [label, input] of [
  ["mbox, 4 messages (200 KB)", "tiny.mbox"],
  ["mbox, 2,000 messages (100 MB)", "big.mbox"],
  ["folder, 2,000 files of 50 KB", "folder"],
] as const) {
  const r = run(join(dir, input));
  console.log(`${label.padEnd(34)} ${r.mb.toFixed(0).padStart(5)} MB peak   ${r.messages} messages in ${r.seconds.toFixed(1)} s`);
}
rmSync(dir, { recursive: true, force: true });
