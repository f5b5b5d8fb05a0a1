/**
 * MTA-STS and TLS reporting: policy lookups per second on a cache hit, TLS-RPT sessions recorded per
 * second (memory store), parsing a large report, and what hostile reports cost before they are
 * refused (a 1 GiB gzip bomb, 10 MB of nested arrays). Not part of the tests. Run from the sources:
 * `node --import tsx bench/tlsrpt.mts`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "fflate";
import {
  FixtureResolver,
  gzipTlsReport,
  MemoryStateStore,
  MtaSts,
  parseTlsReport,
  reportPolicyFor,
  type TlsReport,
  TlsRptRecorder,
  zoneFromObject,
} from "../src/index.js";

if (process.argv[2] === "child") {
  const data = readFileSync(process.argv[3]!);
  const t0 = performance.now();
  const r = process.argv[4] === "parse" ? parseTlsReport(data, { maxBytes: 11 * 2 ** 20 }) : undefined;
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, ms, code: r && !r.ok ? r.error.code : "" }));
  process.exit(0);
}

function time<T>(label: string, n: number, fn: () => T): T {
  const t0 = performance.now();
  let out: T | undefined;
  for (let i = 0; i < n; i++) out = fn();
  const ms = (performance.now() - t0) / n;
  console.log(`${label.padEnd(52)} ${ms.toFixed(3).padStart(10)} ms`);
  return out as T;
}
async function timeAsync(label: string, n: number, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(52)} ${Math.round(n / s)
      .toLocaleString("en")
      .padStart(10)} /s`,
  );
}

// policy lookups on a cache hit (one TXT lookup from fixture DNS, one store read, one policy parse)
const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.example.net": { TXT: "v=STSv1; id=1" } }));
const sts = new MtaSts({
  resolver,
  fetch: async () => ({
    kind: "response",
    status: 200,
    contentType: "text/plain",
    body: new TextEncoder().encode("version: STSv1\nmode: enforce\nmx: mx.example.net\nmax_age: 86400\n"),
  }),
});
const lookup = await sts.policy("example.net");
await timeAsync("MtaSts.policy(), cached policy, unchanged id", 20_000, () => sts.policy("example.net"));

const recorder = new TlsRptRecorder({ store: new MemoryStateStore() });
const policy = reportPolicyFor(lookup);
let i = 0;
await timeAsync("TlsRptRecorder.record(), memory store, 1 failure", 50_000, () =>
  recorder.record({
    policyDomain: "example.net",
    policy,
    failures: [{ resultType: "certificate-expired", receivingIp: `192.0.2.${i++ % 250}` }],
  }),
);

// a large report: 10,000 failure rows
const report: TlsReport = {
  organizationName: "Bench",
  dateRange: { startDatetime: "2026-11-30T00:00:00Z", endDatetime: "2026-12-01T00:00:00Z" },
  contactInfo: "tlsrpt@example.com",
  reportId: "bench",
  policies: [
    {
      policy: {
        type: "sts",
        string: ["version: STSv1", "mode: enforce", "mx: mx.example.net", "max_age: 86400"],
        domain: "example.net",
        mxHost: ["mx.example.net"],
      },
      summary: { totalSuccessfulSessionCount: 1e6, totalFailureSessionCount: 1e4 },
      failureDetails: Array.from({ length: 10_000 }, (_, k) => ({
        resultType: "certificate-expired",
        sendingMtaIp: `198.51.100.${k % 250}`,
        receivingMxHostname: `mx${k}.example.net`,
        receivingIp: `192.0.2.${k % 250}`,
        failedSessionCount: k,
      })),
    },
  ],
};
const gz = gzipTlsReport(report);
const json = new TextDecoder().decode(gunzipLength(gz));
console.log(`report: ${(json.length / 2 ** 20).toFixed(2)} MiB JSON, ${(gz.length / 1024).toFixed(0)} KiB gzip`);
time("parseTlsReport, 10,000 failure rows, gzip", 20, () => parseTlsReport(gz));

function gunzipLength(data: Uint8Array): Uint8Array {
  const r = parseTlsReport(data);
  if (!r.ok) throw new Error(r.error.message);
  return new TextEncoder().encode(JSON.stringify(r.report));
}

// hostile inputs: the peak resident memory of a child process that reads the file and parses it,
// against one that only reads it
const dir = mkdtempSync(join(tmpdir(), "msgauth-bench-tlsrpt-"));
writeFileSync(join(dir, "bomb.json.gz"), gzipSync(new Uint8Array(1024 * 2 ** 20), { level: 9 }));
writeFileSync(join(dir, "deep.json"), `${"[".repeat(5 * 2 ** 20)}${"]".repeat(5 * 2 ** 20)}`);
console.log(
  `bomb: 1 GiB of zeros in ${(statSync(join(dir, "bomb.json.gz")).size / 1024).toFixed(0)} KiB of gzip; deep: 10 MiB of nested arrays`,
);
for (const file of ["bomb.json.gz", "deep.json"]) {
  const child = (parse: boolean) => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", fileURLToPath(import.meta.url), "child", join(dir, file), parse ? "parse" : "read"],
      { encoding: "utf8" },
    );
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as { maxRssMiB: number; ms: number; code: string };
  };
  const base = child(false);
  const run = child(true);
  console.log(
    `${`parseTlsReport, ${file} refused (${run.code})`.padEnd(52)} ${run.ms.toFixed(1).padStart(10)} ms, peak RSS +${(run.maxRssMiB - base.maxRssMiB).toFixed(0)} MiB over reading the file`,
  );
}
rmSync(dir, { recursive: true, force: true });
