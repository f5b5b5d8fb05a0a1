/**
 * ARC sealing of a 2 KB message with a PEM key per call (sealArc, authenticate's `seal: { domain,
 * selector, privateKey }`) against a sealer made once (createArcSealer; `seal: { sealer }`), RSA-2048
 * and Ed25519. Rates are per second of CPU time (process.cpuUsage), the rows alternating, median of 7
 * turns of AB_MS (default 400) ms, as bench/compare.mjs's signer rows. Not part of `npm run bench`:
 * `npx tsup --silent -d /tmp/me/dist && node --expose-gc bench/arc-sealer.mjs /tmp/me/dist/index.js`
 * (default: this checkout's dist/).
 */
import { readFileSync } from "node:fs";
import { side } from "./cpu-rate.mjs";

const lib = await import(
  new URL(process.argv[2] ?? "../dist/index.js", process.argv[2] ? `file://${process.cwd()}/` : import.meta.url).href
);
const at = (p) => new URL(`../fixtures/${p}`, import.meta.url);
const resolver = new lib.FixtureResolver(lib.parseZoneFile(readFileSync(at("zones/example.zone"), "utf8")));
const RSA = readFileSync(at("keys/rsa2048.pem"), "utf8");
const ED = readFileSync(at("keys/ed25519.pem"), "utf8");
const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
const message = Buffer.from(
  `From: News <news@example.com>\r\nTo: reader@example.org\r\nSubject: Benchmark 2KB\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <2kb@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text.repeat(Math.ceil(2048 / text.length))}`,
);
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "news@example.com" };
// The chain and the AAR given, as a list that authenticated the message before changing it: the rows
// measure the seal itself (body hash, two signatures, the key).
const call = {
  authservId: "lists.example.net",
  authResults: "lists.example.net; spf=pass smtp.mailfrom=example.com; dkim=none",
  chain: { result: "none", reason: "no chain", instances: 0, sets: [] },
};

const ms = Number(process.env.AB_MS ?? 400);

for (const [name, pem, selector] of [
  ["RSA-2048", RSA, "rsa2048"],
  ["Ed25519", ED, "ed25519"],
]) {
  const identity = { domain: "example.com", selector, privateKey: pem };
  const sealer = lib.createArcSealer(identity);
  const [perCall, once] = await side([() => lib.sealArc(message, { ...identity, ...call }), () => sealer.seal(message, call)], ms);
  console.log(
    `sealArc 2KB ${name.padEnd(8)}  PEM per call ${perCall.toFixed(0).padStart(6)}/s  sealer ${once.toFixed(0).padStart(6)}/s  sealer/PEM ${(once / perCall).toFixed(2)}x`,
  );
  const options = { resolver, authservId: "mx.example.org" };
  const [aPem, aSealer] = await side(
    [
      () => lib.authenticate(message, envelope, { ...options, seal: identity }),
      () => lib.authenticate(message, envelope, { ...options, seal: { sealer } }),
    ],
    ms,
  );
  console.log(
    `authenticate+seal 2KB ${name.padEnd(8)}  PEM per call ${aPem.toFixed(0).padStart(6)}/s  { sealer } ${aSealer.toFixed(0).padStart(6)}/s  sealer/PEM ${(aSealer / aPem).toFixed(2)}x`,
  );
}
