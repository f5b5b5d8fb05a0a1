/**
 * DMARC aggregate reporting: rows collected per second in each store (memory, SQLite, Redis) and the
 * time to generate one report (XML streamed into gzip) from 1,000,000 distinct rows. Not part of the
 * tests. Run from the built package: `npm run build && node --expose-gc --import tsx bench/reports.mts`
 * (SQLite needs Node 22.13+; Redis needs redis-server on the PATH; a store that is missing is
 * reported as skipped). BENCH_ROWS changes the 1,000,000; BENCH_STORES=memory,sqlite picks stores.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as Msgauth from "../src/index.js";
import { encodeRecord, periodMapName } from "../src/report/collect.js";

const m = (await import(new URL(process.env.MSGAUTH_DIST ?? "../dist/index.js", import.meta.url).href)) as typeof Msgauth;
const {
  AggregateCollector,
  MemoryStateStore,
  openSqliteStore,
  openRedisStore,
  generateFromStore,
  authenticate,
  FixtureResolver,
  parseZoneFile,
} = m;

import { readFileSync } from "node:fs";

const at = (p: string) => new URL(`../fixtures/${p}`, import.meta.url);
const zone = parseZoneFile(readFileSync(at("zones/example.zone"), "utf8"));
const resolver = new FixtureResolver(zone);
const T0 = Date.UTC(2026, 10, 20, 10);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const COLLECTS = Number(process.env.BENCH_COLLECTS ?? 20_000);

// A real authenticate() result to collect: the sample message, DKIM and SPF passing.
const result = await authenticate(
  readFileSync(at("messages/sample.eml")),
  { ip: "192.0.2.25", mailFrom: "alice@example.com" },
  { resolver, now: () => T0, checks: { iprev: false } },
);
if (result.dmarc?.result !== "pass") throw new Error("bench setup: expected DMARC pass");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Store = Msgauth.Store;
const stores: Array<{ name: string; open: () => Promise<Store | string>; cleanup?: () => void }> = [];
const dir = mkdtempSync(join(tmpdir(), "msgauth-bench-"));
stores.push({ name: "memory", open: async () => new MemoryStateStore() });
let sqliteN = 0;
stores.push({
  name: "sqlite",
  open: async () => openSqliteStore(join(dir, `bench${sqliteN++}.db`)).catch((e: Error) => `skipped: ${e.message.split(";")[0]}`),
});
let redisStop: (() => void) | undefined;
let redisDb = 0;
stores.push({
  name: "redis",
  open: async () => {
    if (!redisStop) {
      const port = await freePort();
      const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      const ok = await new Promise<boolean>((resolve) => {
        child.on("error", () => resolve(false));
        setTimeout(() => resolve(child.exitCode === null), 300);
      });
      if (!ok) return "skipped: redis-server not found";
      redisStop = () => child.kill();
      process.env.BENCH_REDIS_URL = `redis://127.0.0.1:${port}`;
    }
    return openRedisStore({ url: process.env.BENCH_REDIS_URL!, prefix: `b${redisDb++}:` });
  },
});

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const line = (label: string, value: string) => console.log(`${label.padEnd(46)}${value}`);
console.log(`Node ${process.version}, ${COLLECTS} collects, a report of ${ROWS} rows`);

const only = process.env.BENCH_STORES?.split(",");
for (const s of stores) {
  if (only && !only.includes(s.name)) continue;
  const store = await s.open();
  if (typeof store === "string") {
    line(`${s.name}: collect`, store);
    continue;
  }
  // Collect: one authenticate() result per call, 1,000 distinct source IPs (rows), as a busy MX sees.
  const c = new AggregateCollector({ store, now: () => T0 });
  const envelopes = Array.from({ length: 1000 }, (_, i) => ({
    ip: `198.51.${(i >> 8) & 255}.${i & 255}`,
    mailFrom: "alice@example.com",
    rcptTo: ["bob@example.org"],
  }));
  for (let i = 0; i < 500; i++) await c.collect(result, envelopes[i % 1000]!); // warm up
  gc();
  let t = performance.now();
  for (let i = 0; i < COLLECTS; i++) {
    const o = await c.collect(result, envelopes[i % 1000]!);
    if (!o.collected) throw new Error(JSON.stringify(o));
  }
  let sec = (performance.now() - t) / 1000;
  line(`${s.name}: collect()`, `${Math.round(COLLECTS / sec).toLocaleString("en")} rows/s`);

  // Generate: a period map of ROWS distinct rows, filled in batches (not timed), then one report.
  const map = periodMapName("gen:", 1795132800, 86400, "example.com");
  const base = {
    disposition: "pass" as const,
    dkim: "pass" as const,
    spf: "pass" as const,
    reasons: [],
    headerFrom: "example.com",
    envelopeFrom: "example.com",
    dkimResults: [{ domain: "example.com", selector: "rsa2048", result: "pass" as const }],
    spfResults: [{ domain: "example.com", scope: "mfrom" as const, result: "pass" as const }],
  };
  const policy = {
    policy: { domain: "example.com", p: "reject", adkim: "r", aspf: "r", discoveryMethod: "treewalk", fo: "0", testing: "n" },
    rua: [{ uri: "mailto:d@example.com" }],
  };
  t = performance.now();
  await store.increment([{ map, field: `p${JSON.stringify(policy)}`, by: 1 }]);
  for (let i = 0; i < ROWS; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(ROWS, i + 1000); j++) {
      const ip = `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`;
      batch.push({ map, field: encodeRecord({ ...base, sourceIp: ip }), by: 1 + (j % 7) });
    }
    await store.increment(batch);
  }
  const fill = (performance.now() - t) / 1000;
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  t = performance.now();
  const report = await generateFromStore(
    store,
    map,
    { begin: 1795132800, seconds: 86400, domain: "example.com" },
    { orgName: "Bench", email: "d@bench.example", receiver: "mx.bench.example" },
  );
  sec = (performance.now() - t) / 1000;
  const heap = process.memoryUsage().heapUsed - heap0;
  line(
    `${s.name}: generate ${ROWS.toLocaleString("en")} rows`,
    `${sec.toFixed(1)} s (${report!.records.toLocaleString("en")} records, XML ${(report!.xmlBytes / 2 ** 20).toFixed(0)} MiB, gzip ${(report!.gzip.length / 2 ** 20).toFixed(1)} MiB, heap +${(heap / 2 ** 20).toFixed(0)} MiB; filling took ${fill.toFixed(1)} s)`,
  );
  await store.deleteMap(map);
  await store.close();
}
redisStop?.();
rmSync(dir, { recursive: true, force: true });
