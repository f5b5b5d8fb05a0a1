/**
 * msgauth vs mailauth, side by side in one process on the same messages and the same in-memory
 * resolver. Run with `npm run bench` (not part of the tests). Prints messages per second for each,
 * the ratio msgauth/mailauth against mailauth 4.13.3 and, under Node >= 22.19 (which mailauth 7
 * needs), against mailauth 7.x too (the npm alias mailauth7), the "crypto floor" (SHA-256 of the body, once per body
 * canonicalization the signatures use, plus the signature checks alone) and msgauth's ratio to it,
 * and the peak heap while a 20 MB message streams. "1MB+ARC" is the 1 MB message forwarded by a
 * list that added an ARC set: DKIM and ARC verify the same body.
 */
import { createHash, createPublicKey, createSign, verify as cryptoVerify, sign } from "node:crypto";
import { createRequire } from "node:module";
import { cpus, totalmem } from "node:os";
import { Readable } from "node:stream";
import * as mailauth4 from "mailauth";
import type * as Msgauth from "../src/index.js";
import type { DkimSignOptions } from "../src/index.js";
import { benchZone, ED, envelope, RSA, unsignedMessage } from "./corpus.mjs";

// msgauth as users get it: the built package (npm run bench builds it first). Running the sources
// through tsx would measure tsx too: it keeps function names by wrapping every closure it creates.
const msgauth = (await import(new URL("../dist/index.js", import.meta.url).href)) as typeof Msgauth;
const { authenticate, checkSpf, createDkimSigner, FixtureResolver, sealArc, signDkim, toResolveFunction, verifyDkim } = msgauth;

const zone = benchZone(msgauth);
// biome-ignore lint/suspicious/noExplicitAny: mailauth is plain JavaScript to us
type Fn = (...args: any[]) => Promise<any>;
interface Peer {
  label: string;
  authenticate: Fn;
  dkimSign: Fn;
  dkimVerify: Fn;
  spf: Fn;
}
const version = (name: string) => (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
// mailauth 7 needs Node >= 22.19 (on Node 20 its undici fails at import): loaded only where it runs.
const runs7 = major > 22 || (major === 22 && minor >= 19);
const peers: Peer[] = [{ label: version("mailauth"), ...(mailauth4 as unknown as Omit<Peer, "label">) }];
if (runs7) peers.push({ label: version("mailauth7"), ...((await import("mailauth7")) as unknown as Omit<Peer, "label">) });

const resolver = new FixtureResolver(zone);
const maResolver = toResolveFunction(resolver) as (name: string, type: string) => Promise<string[][] | string[]>;

const signers: Record<string, DkimSignOptions[]> = {
  one: [{ domain: "bench.example", selector: "rsa2048", privateKey: RSA }],
  two: [
    { domain: "bench.example", selector: "rsa2048", privateKey: RSA },
    { domain: "bench.example", selector: "ed25519", privateKey: ED },
  ],
  three: [
    { domain: "bench.example", selector: "rsa2048", privateKey: RSA },
    { domain: "bench.example", selector: "ed25519", privateKey: ED },
    { domain: "bench.example", selector: "rsa2048", privateKey: RSA, canonicalization: "simple/simple" },
  ],
};

interface Case {
  name: string;
  unsigned: Buffer;
  signed: Buffer;
  signatures: DkimSignOptions[];
  /** RSA signature checks besides DKIM's (an ARC set: its message signature and seal). */
  arcChecks?: number;
}

async function makeCase(name: string, size: number, sigs: DkimSignOptions[]): Promise<Case> {
  const unsigned = unsignedMessage(name, size);
  const signed = Buffer.concat([Buffer.from(await signDkim(unsigned, sigs)), unsigned]);
  return { name, unsigned, signed, signatures: sigs };
}

/**
 * Runs fn until at least `ms` milliseconds and 3 runs have passed; returns runs per second. A fifth
 * of the time (at least one run) goes first, untimed.
 */
async function rate(fn: () => Promise<unknown>, ms: number): Promise<number> {
  const warm = performance.now();
  do await fn();
  while (performance.now() - warm < ms / 5);
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < ms) {
    await fn();
    runs++;
  }
  return (runs * 1000) / (performance.now() - start);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * With --expose-gc (npm run bench sets it), one forced collection once the corpus is built (it
 * leaves tens of MB), before the warm-up pass; none between measurements, whose garbage the
 * collector takes in its stride as it would in a server. A forced collection reduces memory: it
 * drops every hidden class not in use and deoptimizes the code built on them, and code compiled again
 * after it was measured to stay slower (docs/performance.md, "Why npm run bench read higher at
 * 2 KB"). V8's memory reducer does the same when a process goes idle, so the bench measures that
 * state too, on its own row at the end ("after gc()").
 */
function collect(): void {
  global.gc?.();
}

/**
 * The libraries in turn, five rounds of ms/5 each, and the median of each one's rates: on a shared
 * machine the speed drifts by 10-20% over a run, and alternating keeps the drift out of the ratios.
 */
async function side(fns: Array<() => Promise<unknown>>, ms: number): Promise<number[]> {
  const rates: number[][] = fns.map(() => []);
  for (let round = 0; round < 5; round++) for (const [i, fn] of fns.entries()) rates[i]!.push(await rate(fn, ms / 5));
  return rates.map(median);
}

/** Body canonicalizations the signatures need: each is one SHA-256 of the body at least. */
function distinctBodies(c: Case): number {
  return new Set(c.signatures.map((s) => (s.canonicalization ?? "relaxed/relaxed").split("/")[1])).size;
}

/**
 * The least work any verifier must do: SHA-256 of the body once per body canonicalization the
 * signatures use (`hashes`), and each signature check.
 */
function cryptoFloor(c: Case, hashes = distinctBodies(c)): () => Promise<void> {
  const data = Buffer.from(`from:News <news@bench.example>\r\nsubject:x\r\ndkim-signature:v=1; a=rsa-sha256; b=`);
  const rsaPub = createPublicKey(RSA);
  const edPub = createPublicKey(ED);

  const rsaSig = createSign("sha256").update(data).sign(RSA);
  const edSig = sign(null, createHash("sha256").update(data).digest(), ED);
  const bodyStart = c.signed.indexOf("\r\n\r\n") + 4;
  return async () => {
    for (let h = 0; h < hashes; h++) createHash("sha256").update(c.signed.subarray(bodyStart)).digest();
    for (const s of c.signatures) {
      if (s.selector === "ed25519") cryptoVerify(null, createHash("sha256").update(data).digest(), edPub, edSig);
      else cryptoVerify("sha256", data, rsaPub, rsaSig);
    }
    for (let i = 0; i < (c.arcChecks ?? 0); i++) cryptoVerify("sha256", data, rsaPub, rsaSig);
  };
}

/** The message as a mailing list forwards it: the author's DKIM signature kept, one ARC set added. */
async function forwarded(c: Case): Promise<Case> {
  const r = await authenticate(c.signed, envelope, { resolver, authservId: "lists.bench.example" });
  const sealed = await sealArc(c.signed, {
    domain: "bench.example",
    selector: "rsa2048",
    privateKey: RSA,
    authservId: "lists.bench.example",
    authResults: r.headers.authenticationResults,
    chain: r.arc!,
  });
  if (!sealed.sealed) throw new Error(sealed.reason);
  return { ...c, name: `${c.name}+ARC`, signed: Buffer.concat([Buffer.from(sealed.headers), c.signed]), arcChecks: 2 };
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

async function main(): Promise<void> {
  const ms = Number(process.env.BENCH_MS ?? 1500);
  const cases = [
    await makeCase("2KB", 2 * 1024, signers.one!),
    await makeCase("50KB", 50 * 1024, signers.two!),
    await makeCase("1MB", 1024 * 1024, signers.three!),
    await makeCase("20MB", 20 * 1024 * 1024, signers.two!),
  ];
  cases.splice(2, 0, await forwarded(await makeCase("1MB", 1024 * 1024, signers.one!)));
  console.log(
    `msgauth benchmark: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${ms} ms per measurement; mailauth ${peers.map((p) => p.label).join(" and ")}`,
  );
  if (!runs7)
    console.log(
      `(mailauth ${version("mailauth7")} needs Node >= 22.19: run the bench under Node 24 for its column, see docs/performance.md)`,
    );
  const peerHead = peers.map((p) => `${`ma ${p.label}/s`.padStart(13)}   ratio`).join("");
  console.log(`operation              message  sigs   msgauth/s${peerHead}   floor/s  msgauth/floor`);
  const row = (op: string, c: Case, [ours, ...theirs]: number[], floor?: number) => {
    const peerCols = theirs.map((t) => `${fmt(t).padStart(13)} ${`${(ours! / t).toFixed(2)}x`.padStart(7)}`).join("");
    const line = `${op.padEnd(22)} ${c.name.padEnd(8)} ${String(c.signatures.length).padStart(4)} ${fmt(ours!).padStart(11)}${peerCols} ${floor ? fmt(floor).padStart(9) : "".padStart(9)} ${floor ? `${(floor / ours!).toFixed(2)}x`.padStart(14) : ""}`;
    console.log(line);
  };
  /** Each operation on a message: msgauth's, then each mailauth's. */
  const ops = (c: Case) => ({
    authenticate: [
      () => authenticate(c.signed, envelope, { resolver, authservId: "mx.test" }),
      ...peers.map(
        (p) => () =>
          p.authenticate(c.signed, { ...envelope, sender: envelope.mailFrom, mta: "mx.test", resolver: maResolver, disableBimi: true }),
      ),
    ],
    verify: [() => verifyDkim(c.signed, { resolver }), ...peers.map((p) => () => p.dkimVerify(c.signed, { resolver: maResolver }))],
    sign: [
      () => signDkim(c.unsigned, c.signatures),
      ...peers.map(
        (p) => () =>
          p.dkimSign(c.unsigned, {
            signatureData: c.signatures.map((s) => ({
              signingDomain: s.domain,
              selector: s.selector,
              privateKey: s.privateKey as string,
              canonicalization: s.canonicalization ?? "relaxed/relaxed",
            })),
          }),
      ),
    ],
  });
  collect();
  // Both libraries do everything once before anything is measured. Making the corpus ran msgauth
  // over every message; a library measured with only one message's worth of JIT type feedback
  // would look faster than it is in a server that sees all kinds of mail.
  for (const c of cases) for (const fns of Object.values(ops(c))) for (const fn of fns) await fn();

  // BENCH_ONLY=2KB,20MB measures just those messages (SPF and the streamed run always).
  const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim().toUpperCase());
  for (const c of cases) {
    if (only && !only.includes(c.name.toUpperCase())) continue;
    const o = ops(c);
    const floor = await rate(cryptoFloor(c), ms);
    const auth = await side(o.authenticate, ms);
    const oursAuth = auth[0]!;
    row("authenticate()", c, auth, floor);
    if (c.arcChecks) continue; // the same DKIM work as the message without ARC
    row("DKIM verify", c, await side(o.verify, ms), floor);
    row("DKIM sign", c, await side(o.sign, ms));
    // The same signatures from a signer made once (createDkimSigner): the PEM is not parsed per message.
    const signer = createDkimSigner(c.signatures);
    row("DKIM sign (signer)", c, await side([() => signer.sign(c.unsigned), ...o.sign.slice(1)], ms));
    if (distinctBodies(c) > 1) {
      const single = await rate(cryptoFloor(c, 1), ms);
      console.log(
        `  (${c.name}: its signatures use ${distinctBodies(c)} body canonicalizations, so the floor hashes the body ${distinctBodies(c)} times; hashing it once would be ${fmt(single)}/s, authenticate() ${(single / oursAuth).toFixed(2)}x that)`,
      );
    }
  }
  const spfCase = cases[0]!;
  const spfRates = await side(
    [
      () => checkSpf({ ...envelope }, { resolver }),
      ...peers.map(
        (p) => () => p.spf({ sender: envelope.mailFrom, ip: envelope.ip, helo: envelope.helo, mta: "mx.test", resolver: maResolver }),
      ),
    ],
    ms,
  );
  row("SPF (include chain)", { ...spfCase, name: "-", signatures: [] }, spfRates);

  // The 2 KB message again, right after a forced (memory-reducing) collection: the state of a
  // process that V8's memory reducer collected while it was idle (see collect()).
  if (!only || only.includes("2KB")) {
    const small = cases[0]!;
    collect();
    const floor = await rate(cryptoFloor(small), ms);
    collect();
    row("authenticate() after gc()", small, await side(ops(small).authenticate, ms), floor);
  }

  await roundTrips(cases[0]!);

  // Peak heap while a 20 MB message streams through authenticate().
  const big = cases.find((c) => c.name === "20MB")!.signed;
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  async function* chunks() {
    for (let i = 0; i < big.length; i += 64 * 1024) {
      if ((i / (64 * 1024)) % 16 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      yield big.subarray(i, i + 64 * 1024);
    }
  }
  const r = await authenticate(Readable.from(chunks()), envelope, { resolver, authservId: "mx.test" });
  peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  console.log(
    `20 MB message streamed through authenticate(): dkim=${r.dkim.map((d) => d.result).join(",")}; peak heap growth ${(peak / 2 ** 20).toFixed(1)} MB (the source buffer itself excluded)`,
  );
}

/**
 * The DNS critical path: every query answered after a fixed delay (BENCH_DNS_MS, default 20 ms), one
 * authenticate() of the 2 KB message at a time, median of five runs, the libraries alternating.
 * Round trips are counted, not derived from the time (which CPU load on a shared machine inflates):
 * a query sent once the answers of round k have started arriving belongs to round k + 1, and the
 * critical path is the highest round. (A query sent then that did not need those answers would be
 * counted one round late; neither library sends late what it could send early.)
 */
async function roundTrips(c: Case): Promise<void> {
  const delay = Number(process.env.BENCH_DNS_MS ?? 20);
  let sent = 0;
  let answered = 0; // the highest round whose answers have arrived
  let deepest = 0;
  const later = async <T,>(answer: () => Promise<T>): Promise<T> => {
    sent++;
    const round = answered + 1;
    deepest = Math.max(deepest, round);
    await new Promise((r) => setTimeout(r, delay));
    answered = Math.max(answered, round);
    return answer();
  };
  const slow = {
    txt: (n: string) => later(() => resolver.txt(n)),
    a: (n: string) => later(() => resolver.a(n)),
    aaaa: (n: string) => later(() => resolver.aaaa(n)),
    mx: (n: string) => later(() => resolver.mx(n)),
    ptr: (n: string) => later(() => resolver.ptr(n)),
  };
  const slowMa = (name: string, type: string) => later(() => maResolver(name, type));
  const runs: Array<{ label: string; fn: () => Promise<unknown> }> = [
    { label: "msgauth", fn: () => authenticate(c.signed, envelope, { resolver: slow, authservId: "mx.test" }) },
    ...peers.map((p) => ({
      label: `mailauth ${p.label}`,
      fn: () => p.authenticate(c.signed, { ...envelope, sender: envelope.mailFrom, mta: "mx.test", resolver: slowMa, disableBimi: true }),
    })),
  ];
  const elapsed: number[][] = runs.map(() => []);
  const queries: number[] = runs.map(() => 0);
  const rounds: number[][] = runs.map(() => []);
  for (let round = 0; round < 5; round++)
    for (const [i, r] of runs.entries()) {
      sent = 0;
      answered = 0;
      deepest = 0;
      const t = performance.now();
      await r.fn();
      elapsed[i]!.push(performance.now() - t);
      rounds[i]!.push(deepest);
      queries[i] = sent;
    }
  console.log(`DNS critical path of authenticate() on the ${c.name} message, every query answered after ${delay} ms:`);
  for (const [i, r] of runs.entries()) {
    const m = median(elapsed[i]!);
    console.log(
      `  ${r.label.padEnd(18)} ${`${m.toFixed(0)} ms`.padStart(7)}  ${String(median(rounds[i]!)).padStart(2)} round trips  ${String(queries[i]).padStart(3)} queries sent`,
    );
  }
}

await main();
