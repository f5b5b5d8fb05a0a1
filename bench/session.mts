/**
 * SmtpSession throughput and memory, no network: feeds bytes as a socket would and answers events
 * at once. Run with `npm run bench` (after bench/run.mts) or `node --expose-gc --import tsx
 * bench/session.mts` once the package is built. Prints MB/s for DATA (typical text, and empty
 * lines), for pipelined commands, the cost of DATA fed a byte at a time, and the peak memory while
 * one 25 MiB message is received and handed over.
 */
import type * as Msgauth from "../src/index.js";

const { SmtpSession } = (await import(new URL(process.env.MSGAUTH_DIST ?? "../dist/index.js", import.meta.url).href)) as typeof Msgauth;
type Session = InstanceType<typeof SmtpSession>;

const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const open = "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";

function session(): Session {
  return new SmtpSession({ hostname: "mx.example.org", clientIp: "192.0.2.1", localDomains: ["example.org"], maxMessageSize: 26 * MiB });
}

/** Feeds `data` in chunks of `chunk` bytes; returns seconds and the delivered size. */
function feed(s: Session, data: Uint8Array, chunk: number): { seconds: number; delivered: number } {
  let delivered = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < data.length; i += chunk) {
    for (const e of s.feed(data.subarray(i, i + chunk)).events) {
      if (e.type === "message") {
        delivered += e.data.length;
        s.completeMessage();
      }
    }
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, delivered };
}

function text(size: number): Buffer {
  const line = "The quick brown fox jumps over the lazy dog, again and again, for 72 cols.\r\n";
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size - 2) + "\r\n");
}

function best(runs: number, f: () => number): number {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, f());
  return top;
}

/** Array buffer memory is returned after a GC, in a later task: let it go before measuring. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rows: Array<[string, string]> = [];
const mbps = (bytes: number, seconds: number) => `${(bytes / MiB / seconds).toFixed(0)} MB/s`;

for (const [name, body] of [
  ["DATA, 25 MiB of 76-column text, 64 KiB reads", text(25 * MiB)],
  ["DATA, 25 MiB of empty lines, 64 KiB reads", Buffer.alloc(25 * MiB, "\r\n")],
] as const) {
  const wire = Buffer.concat([body, Buffer.from(".\r\n")]);
  const rate = best(3, () => {
    const s = session();
    s.feed(open);
    const r = feed(s, wire, 65_536);
    if (r.delivered !== body.length) throw new Error(`delivered ${r.delivered} of ${body.length}`);
    return body.length / r.seconds;
  });
  rows.push([name, `${(rate / MiB).toFixed(0)} MB/s`]);
}

{
  const n = 400_000;
  const noops = Buffer.from("NOOP\r\n".repeat(n));
  const s = session();
  const r = feed(s, noops, noops.length);
  rows.push([
    `${n.toLocaleString("en")} pipelined NOOPs (${(noops.length / 1e6).toFixed(1)} MB) in one chunk`,
    mbps(noops.length, r.seconds),
  ]);
  const tx = Buffer.from("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n".repeat(20_000));
  const s2 = session();
  s2.feed("EHLO c.example\r\n");
  const r2 = feed(s2, tx, 65_536);
  rows.push([
    "pipelined MAIL/RCPT/RSET, 64 KiB reads",
    `${mbps(tx.length, r2.seconds)} (${(60_000 / r2.seconds / 1000).toFixed(0)}k commands/s)`,
  ]);
}

{
  const body = text(MiB);
  const s = session();
  s.feed(open);
  const r = feed(s, Buffer.concat([body, Buffer.from(".\r\n")]), 1);
  rows.push(["DATA fed one byte at a time (1 MiB)", `${((r.seconds / body.length) * 1e6).toFixed(2)} us/byte`]);
}

{
  let peak = 0;
  let held = 0;
  const body = Buffer.alloc(25 * MiB, "\r\n");
  const s = session();
  s.feed(open);
  const wire = Buffer.concat([body, Buffer.from(".\r\n")]);
  await settle();
  const baseWithInput = (() => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  })();
  let data: Uint8Array | undefined;
  for (let i = 0; i < wire.length; i += 65_536) {
    for (const e of s.feed(wire.subarray(i, i + 65_536)).events) if (e.type === "message") data = e.data;
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers - baseWithInput);
  }
  await settle();
  const after = process.memoryUsage();
  held = after.heapUsed + after.arrayBuffers - baseWithInput;
  rows.push([
    "peak memory, one 25 MiB message of empty lines (heap + array buffers, input excluded)",
    `${(peak / MiB).toFixed(0)} MiB peak, ${(held / MiB).toFixed(0)} MiB held after hand-over (message ${((data?.length ?? 0) / MiB).toFixed(0)} MiB)`,
  ]);
}

console.log("\nSmtpSession (bench/session.mts)\n");
const width = Math.max(...rows.map(([n]) => n.length));
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
