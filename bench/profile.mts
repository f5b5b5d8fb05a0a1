/**
 * Profiles authenticate() on one message size, for finding per-call overhead (not part of
 * `npm run bench`): `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.mts 2KB`
 * after `npm run build`, then open the .cpuprofile in Chrome DevTools, or summarize it with
 * `node --import tsx bench/profile.mts --summary /tmp/prof/<file>.cpuprofile`.
 */
import { readFileSync } from "node:fs";
import type * as Msgauth from "../src/index.js";

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
  const { authenticate, FixtureResolver, mergeZones, parseZoneFile, signDkim, zoneFromObject } = msgauth;
  const at = (p: string) => new URL(`../fixtures/${p}`, import.meta.url);
  const example = parseZoneFile(readFileSync(at("zones/example.zone"), "utf8"));
  const zone = mergeZones(
    example,
    zoneFromObject({
      "bench.example": { TXT: "v=spf1 include:_a.bench.example include:_spf.example.net ~all", A: "192.0.2.1" },
      "_a.bench.example": { TXT: "v=spf1 ip4:198.51.100.0/28 include:_b.bench.example -all" },
      "_b.bench.example": { TXT: "v=spf1 a:mx.bench.example include:_c.bench.example -all" },
      "_c.bench.example": { TXT: "v=spf1 ip4:203.0.113.0/24 -all" },
      "mx.bench.example": { A: "192.0.2.99" },
      "_dmarc.bench.example": { TXT: "v=DMARC1; p=reject; rua=mailto:d@bench.example" },
      "rsa2048._domainkey.bench.example": { TXT: [example.get("rsa2048._domainkey.example.com")!.TXT![0]!] },
      "ed25519._domainkey.bench.example": { TXT: [example.get("ed25519._domainkey.example.com")!.TXT![0]!] },
    }),
  );
  const resolver = new FixtureResolver(zone);
  const size = Number.parseInt(process.argv[2] ?? "2", 10) * 1024;
  const selector = process.argv[3] ?? "rsa2048";
  const key = readFileSync(at(`keys/${selector}.pem`), "utf8");
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\r\n";
  const unsigned = Buffer.from(
    `From: News <news@bench.example>\r\nTo: reader@example.org\r\nSubject: Benchmark\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <p@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`,
  );
  const signed = Buffer.concat([Buffer.from(await signDkim(unsigned, { domain: "bench.example", selector, privateKey: key })), unsigned]);
  const envelope = { ip: "203.0.113.77", helo: "mx.bench.example", mailFrom: "news@bench.example" };
  const ms = Number(process.env.PROFILE_MS ?? 5000);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    await authenticate(signed, envelope, { resolver, authservId: "mx.test" });
    n++;
  }
  console.log(`${n} calls, ${((1000 * (performance.now() - start)) / n).toFixed(0)} us each`);
}
