// What checking options costs: each checker authenticate() runs per message (its own envelope and
// options schemas, then the checks of what it hands to SPF, iprev, DKIM, ARC, DMARC and the DNS
// budget), in microseconds of CPU a call. Run: node --import tsx bench/options.mts

import { readFileSync } from "node:fs";
import { authenticate, FixtureResolver, parseZoneFile } from "../src/index.js";
import {
  checkArcVerifyOptions,
  checkBudgetOptions,
  checkDkimVerifyOptions,
  checkDmarcOptions,
  checkIprevOptions,
  checkSpfOptions,
  checkSpfParams,
} from "../src/options.js";

const resolver = new FixtureResolver(parseZoneFile(readFileSync(new URL("../fixtures/zones/example.zone", import.meta.url), "utf8")));
const now = () => Date.now();
const signal = new AbortController().signal;
const rows: Array<[string, () => unknown]> = [
  ["checkSpf params", () => checkSpfParams({ ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" })],
  ["checkSpf options", () => checkSpfOptions({ resolver, receiver: "mx.test", now })],
  ["checkIprev options", () => checkIprevOptions({ resolver })],
  ["DkimVerifier options", () => checkDkimVerifyOptions({ resolver, bodyHashes: {}, now })],
  ["ArcVerifier options", () => checkArcVerifyOptions({ resolver, bodyHashes: {} })],
  ["checkDmarc options", () => checkDmarcOptions({ resolver, lookups: {} })],
  ["BudgetedResolver options", () => checkBudgetOptions({ maxQueries: 100, timeBudgetMs: 20_000, queryTimeoutMs: 5000, signal })],
];

function cpuMicros(fn: () => unknown, n: number): number {
  for (let i = 0; i < n / 10; i++) fn();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / n;
}

let sum = 0;
for (const [name, fn] of rows) {
  const us = cpuMicros(fn, 200_000);
  sum += us;
  console.log(`${name.padEnd(28)} ${us.toFixed(2).padStart(6)} us`);
}
console.log(`${"all of them, per message".padEnd(28)} ${sum.toFixed(2).padStart(6)} us`);

const message = readFileSync(new URL("../fixtures/messages/sample.eml", import.meta.url));
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
for (let i = 0; i < 300; i++) await authenticate(message, envelope, { resolver, authservId: "mx.test" });
const start = process.cpuUsage();
const n = 2000;
for (let i = 0; i < n; i++) await authenticate(message, envelope, { resolver, authservId: "mx.test" });
const d = process.cpuUsage(start);
console.log(`${"authenticate() sample.eml".padEnd(28)} ${((d.user + d.system) / n).toFixed(0).padStart(6)} us CPU (two DKIM signatures)`);
