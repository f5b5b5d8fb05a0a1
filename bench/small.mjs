/**
 * Where a small message's time goes: CPU microseconds per call of authenticate() and of each check
 * alone, against the crypto floor (SHA-256 of the body plus the signature check), for a build of
 * msgauth (argument: its dist/index.js; default this checkout's dist/). CPU time
 * (process.cpuUsage), not wall time, so that other processes on a shared machine weigh less; each
 * row is the median of SMALL_ROUNDS (default 7) turns of SMALL_MS (default 300) ms, the rows in
 * turn. `npm run bench` runs it on this checkout's dist/; for another build:
 * `npx tsup --silent -d /tmp/mine/dist && node --expose-gc bench/small.mjs /tmp/mine/dist/index.js`.
 * SMALL_ONLY=authenticate,spf picks rows (by prefix).
 */
import { createHash, createPublicKey, createSign, verify as cryptoVerify, sign } from "node:crypto";
import { benchZone, ED, envelope, RSA, unsignedMessage } from "./corpus.mjs";
import { cpuRate, median } from "./cpu-rate.mjs";

const target = process.argv[2]
  ? new URL(process.argv[2], `file://${process.cwd()}/`).href
  : new URL("../dist/index.js", import.meta.url).href;
const m = await import(target);
const resolver = new m.FixtureResolver(benchZone(m));
async function message(name, size, sigs) {
  const unsigned = unsignedMessage(name, size);
  return Buffer.concat([Buffer.from(await m.signDkim(unsigned, sigs)), unsigned]);
}
const rsa = [{ domain: "bench.example", selector: "rsa2048", privateKey: RSA }];
const ed = [{ domain: "bench.example", selector: "ed25519", privateKey: ED }];
const two = [...rsa, ...ed];
const small = await message("2KB", 2048, rsa);
const smallEd = await message("2KB-ed", 2048, ed);
const mid = await message("50KB", 50 * 1024, two);

/** The crypto floor of a message: one SHA-256 of its body and each signature check. */
function floor(signed, sigs) {
  const data = Buffer.from("from:News <news@bench.example>\r\nsubject:x\r\ndkim-signature:v=1; a=rsa-sha256; b=");
  const rsaPub = createPublicKey(RSA);
  const edPub = createPublicKey(ED);
  const rsaSig = createSign("sha256").update(data).sign(RSA);
  const edSig = sign(null, createHash("sha256").update(data).digest(), ED);
  const b = signed.subarray(signed.indexOf("\r\n\r\n") + 4);
  return async () => {
    createHash("sha256").update(b).digest();
    for (const s of sigs)
      s.selector === "ed25519"
        ? cryptoVerify(null, createHash("sha256").update(data).digest(), edPub, edSig)
        : cryptoVerify("sha256", data, rsaPub, rsaSig);
  };
}

const opts = { resolver, authservId: "mx.test" };
const spf = await m.checkSpf(envelope, { resolver });
const dkim = await m.verifyDkim(small, { resolver });
const rows = [
  ["floor 2KB RSA", floor(small, rsa)],
  ["authenticate 2KB RSA", () => m.authenticate(small, envelope, opts)],
  ["floor 2KB Ed25519", floor(smallEd, ed)],
  ["authenticate 2KB Ed25519", () => m.authenticate(smallEd, envelope, opts)],
  ["floor 50KB RSA+Ed25519", floor(mid, two)],
  ["authenticate 50KB RSA+Ed25519", () => m.authenticate(mid, envelope, opts)],
  ["verifyDkim 2KB RSA", () => m.verifyDkim(small, { resolver })],
  ["spf checkSpf (include chain)", () => m.checkSpf(envelope, { resolver })],
  ["iprev checkIprev", () => m.checkIprev(envelope.ip, { resolver })],
  [
    "dmarc checkDmarc",
    () =>
      m.checkDmarc({ author: { ok: true, domain: "bench.example", mailboxes: [], domains: ["bench.example"] }, spf, dkim }, { resolver }),
  ],
  ["authres formatAuthResults", async () => m.formatAuthResults("mx.test", [m.spfEntry(spf), ...dkim.map((d) => m.dkimEntry(d))])],
];

/** CPU microseconds per call, over about `ms` of wall time after a fifth of it untimed. */
const perCall = async (fn, ms) => 1e6 / (await cpuRate(fn, ms));
const only = process.env.SMALL_ONLY?.split(",");
const picked = rows.filter(([name]) => !only || only.some((p) => name.startsWith(p) || name.startsWith(`floor`)));
const ms = Number(process.env.SMALL_MS ?? 300);
const rounds = Number(process.env.SMALL_ROUNDS ?? 7);
for (const [, fn] of picked) await fn();
global.gc?.();
const samples = picked.map(() => []);
for (let r = 0; r < rounds; r++) for (const [i, [, fn]] of picked.entries()) samples[i].push(await perCall(fn, ms));
const us = new Map(picked.map(([name], i) => [name, median(samples[i])]));
console.log(`msgauth ${target}  Node ${process.version}  CPU us per call, median of ${rounds}`);
for (const [name, v] of us) {
  const kind = name.split(" ").slice(1).join(" ");
  const fl = name.startsWith("authenticate") ? us.get(`floor ${kind}`) : undefined;
  console.log(`${name.padEnd(34)} ${v.toFixed(1).padStart(8)} us${fl ? `   ${(v / fl).toFixed(2)}x floor` : ""}`);
}
