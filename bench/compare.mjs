/**
 * Two builds of msgauth side by side in one process: another build (argument: its dist/index.js,
 * e.g. from `git archive <commit> | tar -x -C /tmp/old && cd /tmp/old && ln -s $PWD/node_modules . && npx tsup`)
 * and this checkout's dist/. Rates are per second of CPU time (process.cpuUsage), not wall time, so
 * that other processes on a shared machine weigh less; the two alternate, median of 7 turns of
 * AB_MS (default 400) ms. Also: signing with a PEM key per call and with a signer, and the DNS
 * round trips of authenticate() with every query answered after 20 ms (counted in waves, as
 * bench/run.mts does). Not part of `npm run bench`:
 * `node --expose-gc bench/compare.mjs /tmp/old/dist/index.js` after `npm run build`.
 */
import { createHash, createPublicKey, createSign, verify as cryptoVerify, sign } from "node:crypto";
import { benchZone, ED, envelope, RSA, unsignedMessage } from "./corpus.mjs";
import { median, cpuRate as rate, side } from "./cpu-rate.mjs";

const old = await import(new URL(process.argv[2] ?? "", `file://${process.cwd()}/`).href);
const now = await import(new URL("../dist/index.js", import.meta.url).href);
const resolver = new now.FixtureResolver(benchZone(now));
async function mk(name, size, sigs) {
  const unsigned = unsignedMessage(name, size);
  return { name, unsigned, sigs, signed: Buffer.concat([Buffer.from(await now.signDkim(unsigned, sigs)), unsigned]) };
}
const one = [{ domain: "bench.example", selector: "rsa2048", privateKey: RSA }];
const two = [...one, { domain: "bench.example", selector: "ed25519", privateKey: ED }];
const edOnly = [{ domain: "bench.example", selector: "ed25519", privateKey: ED }];
const cases = [await mk("2KB", 2048, one), await mk("2KB-ed25519", 2048, edOnly), await mk("50KB", 50 * 1024, two)];
function floor(c) {
  const data = Buffer.from(`from:News <news@bench.example>\r\nsubject:x\r\ndkim-signature:v=1; a=rsa-sha256; b=`);
  const rsaPub = createPublicKey(RSA),
    edPub = createPublicKey(ED);
  const rsaSig = createSign("sha256").update(data).sign(RSA);
  const edSig = sign(null, createHash("sha256").update(data).digest(), ED);
  const b = c.signed.subarray(c.signed.indexOf("\r\n\r\n") + 4);
  return async () => {
    createHash("sha256").update(b).digest();
    for (const s of c.sigs)
      s.selector === "ed25519"
        ? cryptoVerify(null, createHash("sha256").update(data).digest(), edPub, edSig)
        : cryptoVerify("sha256", data, rsaPub, rsaSig);
  };
}
const ms = Number(process.env.AB_MS ?? 400);
for (const lib of [old, now]) for (const c of cases) await lib.authenticate(c.signed, envelope, { resolver, authservId: "mx.test" });
for (const c of cases) {
  const fl = median([await rate(floor(c), ms), await rate(floor(c), ms), await rate(floor(c), ms)]);
  const [o, n] = await side(
    [
      () => old.authenticate(c.signed, envelope, { resolver, authservId: "mx.test" }),
      () => now.authenticate(c.signed, envelope, { resolver, authservId: "mx.test" }),
    ],
    ms,
  );
  console.log(
    `authenticate ${c.name.padEnd(12)} before ${o.toFixed(0).padStart(6)}/s (${(fl / o).toFixed(2)}x floor)  now ${n.toFixed(0).padStart(6)}/s (${(fl / n).toFixed(2)}x floor)  floor ${fl.toFixed(0)}/s  now/before ${(n / o).toFixed(2)}x`,
  );
}
const [so, sn] = await side([() => old.checkSpf(envelope, { resolver }), () => now.checkSpf(envelope, { resolver })], ms);
console.log(`checkSpf (include chain)  before ${so.toFixed(0)}/s  now ${sn.toFixed(0)}/s  now/before ${(sn / so).toFixed(2)}x`);
const signer = now.createDkimSigner(one);
const [sa, sb, sc] = await side(
  [() => old.signDkim(cases[0].unsigned, one), () => now.signDkim(cases[0].unsigned, one), () => signer.sign(cases[0].unsigned)],
  ms,
);
console.log(`sign 2KB RSA PEM  before ${sa.toFixed(0)}/s  now signDkim ${sb.toFixed(0)}/s  now signer ${sc.toFixed(0)}/s`);
const signerEd = now.createDkimSigner(edOnly);
const [ea, eb, ec] = await side(
  [() => old.signDkim(cases[0].unsigned, edOnly), () => now.signDkim(cases[0].unsigned, edOnly), () => signerEd.sign(cases[0].unsigned)],
  ms,
);
console.log(`sign 2KB Ed25519 PEM  before ${ea.toFixed(0)}/s  now signDkim ${eb.toFixed(0)}/s  now signer ${ec.toFixed(0)}/s`);
// Round trips, counted in waves, 20 ms a query.
for (const [label, lib] of [
  ["before", old],
  ["now", now],
]) {
  let answered = 0,
    deepest = 0,
    sent = 0;
  const later = async (f) => {
    sent++;
    const r = answered + 1;
    deepest = Math.max(deepest, r);
    await new Promise((x) => setTimeout(x, 20));
    answered = Math.max(answered, r);
    return f();
  };
  const slow = {
    txt: (n) => later(() => resolver.txt(n)),
    a: (n) => later(() => resolver.a(n)),
    aaaa: (n) => later(() => resolver.aaaa(n)),
    mx: (n) => later(() => resolver.mx(n)),
    ptr: (n) => later(() => resolver.ptr(n)),
  };
  const rs = [],
    ts = [];
  for (let k = 0; k < 5; k++) {
    answered = deepest = sent = 0;
    const t = performance.now();
    const r = await lib.authenticate(cases[0].signed, envelope, { resolver: slow, authservId: "mx.test" });
    ts.push(performance.now() - t);
    rs.push(deepest);
    if (k === 0) console.log(label, r.spf.result, r.dkim.map((d) => d.result).join(), r.dmarc.result);
  }
  console.log(`round trips ${label}: ${median(rs)} (${median(ts).toFixed(0)} ms), ${sent} queries sent`);
}
