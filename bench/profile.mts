/**
 * Profiles authenticate() on one message size, for finding per-call overhead (not part of
 * `npm run bench`): `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.mts 2KB`
 * after `npm run build`, then open the .cpuprofile in Chrome DevTools, or summarize it with
 * `node --import tsx bench/profile.mts --summary /tmp/prof/<file>.cpuprofile`.
 */
import { readFileSync } from "node:fs";
import type * as Msgauth from "../src/index.js";
import { benchZone, envelope, fixture, unsignedMessage } from "./corpus.mjs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

if (process.argv[2] === "--summary") {
  const p = JSON.parse(readFileSync(process.argv[3]!, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!)!;
    const where = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*\/(node_modules|dist)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
    const dt = p.timeDeltas[i] ?? 0;
    self.set(where, (self.get(where) ?? 0) + dt);
    total += dt;
  }
  for (const [where, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${where}`);
} else {
  const msgauth = (await import(
    new URL(process.env.PROFILE_SRC ? "../src/index.ts" : "../dist/index.js", import.meta.url).href
  )) as typeof Msgauth;
  const { authenticate, FixtureResolver, signDkim } = msgauth;
  const resolver = new FixtureResolver(benchZone(msgauth));
  const size = Number.parseInt(process.argv[2] ?? "2", 10) * 1024;
  const selector = process.argv[3] ?? "rsa2048";
  const key = readFileSync(fixture(`keys/${selector}.pem`), "utf8");
  // The message bench/run.mts and bench/small.mjs measure.
  const unsigned = unsignedMessage(`${size}`, size);
  const signed = Buffer.concat([Buffer.from(await signDkim(unsigned, { domain: "bench.example", selector, privateKey: key })), unsigned]);
  const ms = Number(process.env.PROFILE_MS ?? 5000);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await authenticate(signed, envelope, { resolver, authservId: "mx.test" });
    n++;
  }
  console.log(`${n} calls, ${((1000 * (performance.now() - start)) / n).toFixed(0)} us each`);
}
