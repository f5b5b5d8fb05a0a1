/**
 * Peak resident memory of the smtp-server package example (examples/smtp-server-package.ts, run by
 * test/helpers/example-server-child.ts in its own process, default limits) while one client sends a
 * 400 MB DATA, far past its 25 MiB maxMessageSize. Before the fix every chunk was kept (1.3 GB).
 * Run: `node --import tsx bench/smtp-package-memory.mts` (Linux: reads /proc/<pid>/status VmHWM).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/example-server-child.ts", "package", "{}"], {
  cwd: root,
  stdio: ["ignore", "pipe", "ignore"],
});
const port: number = await new Promise((resolve) =>
  child.stdout!.on("data", (d) => {
    const m = /PORT (\d+)/.exec(String(d));
    if (m) resolve(Number(m[1]));
  }),
);
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;
const before = hwm();
const socket = connect(port, "127.0.0.1");
let got = "";
socket.on("data", (d) => (got += d));
const until = (re: RegExp) =>
  new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (re.test(got)) {
        clearInterval(t);
        resolve();
      }
    }, 50);
  });
await until(/^220 /m);
socket.write("EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
await until(/^354 /m);
const block = Buffer.from(`${"y".repeat(998)}\r\n`.repeat(1024)); // 1 MiB
socket.write("From: a@b.example\r\n\r\n");
for (let i = 0; i < 400; i++) if (!socket.write(block)) await new Promise((r) => socket.once("drain", r));
socket.write(".\r\n");
await until(/^5\d\d /m);
console.log(`reply: ${got.trim().split("\r\n").at(-1)}`);
console.log(`peak RSS: ${before.toFixed(0)} MiB at start, ${hwm().toFixed(0)} MiB after a 400 MiB DATA`);
child.kill();
socket.destroy();
