/**
 * What msgauth costs to install and to import, beside mailauth: part of `npm run bench` (after the
 * build). Sizes are the bytes of the files (what `du --apparent-size` counts), of the package as
 * `npm pack` would publish it plus every runtime dependency it pulls in, read from this checkout's
 * node_modules (the same versions an install would get, nothing downloaded). Import time is a fresh
 * `node` process importing the package, alternating the libraries, median of BENCH_IMPORTS runs
 * (default 11); it is noisy on a shared machine, the ratio less so.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bytes of the files under a directory (symbolic links not followed). */
function dirBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules") continue; // nested packages: counted as dependencies
      const sub = dirBytes(path);
      bytes += sub.bytes;
      files += sub.files;
    } else if (entry.isFile()) {
      bytes += lstatSync(path).size;
      files++;
    }
  }
  return { bytes, files };
}

/** The directory of a package as `from` would resolve it. */
function packageDir(name: string, from: string): string {
  const require = createRequire(join(from, "package.json"));
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // A package whose exports hide package.json: walk up from its main file.
    let dir = dirname(require.resolve(name));
    while (!existsSync(join(dir, "package.json")) || JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name !== name)
      dir = dirname(dir);
    return dir;
  }
}

/** Every package a package's runtime dependencies pull in (itself excluded), by directory. */
function runtimeClosure(dir: string, seen = new Set<string>()): Set<string> {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    let dep: string;
    try {
      dep = realpathSync(packageDir(name, dir));
    } catch {
      continue; // an optional dependency not installed here
    }
    if (seen.has(dep)) continue;
    seen.add(dep);
    runtimeClosure(dep, seen);
  }
  return seen;
}

interface Footprint {
  label: string;
  own: number;
  deps: number;
  packages: number;
  files: number;
}

function installed(label: string, dir: string, own: { bytes: number; files: number }): Footprint {
  const closure = runtimeClosure(dir);
  let deps = 0;
  let files = own.files;
  for (const d of closure) {
    const s = dirBytes(d);
    deps += s.bytes;
    files += s.files;
  }
  return { label, own: own.bytes, deps, packages: closure.size + 1, files };
}

/** msgauth as npm would publish it (the built dist/, README, CHANGELOG, package.json). */
function packed(): { bytes: number; files: number; tarball: number } {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
  const [info] = JSON.parse(out) as Array<{ size: number; unpackedSize: number; entryCount: number }>;
  return { bytes: info!.unpackedSize, files: info!.entryCount, tarball: info!.size };
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds a fresh process takes to import `specifier` (ESM) or require it (CJS). */
function importMs(specifier: string, cjs = false): number {
  const code = cjs
    ? `const t = performance.now(); require(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`
    : `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  const args = cjs ? ["-e", code] : ["--input-type=module", "-e", code];
  return Number(execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" }));
}

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const runs7 = major > 22 || (major === 22 && minor >= 19);

const pack = packed();
const ours = installed("msgauth", root, pack);
const peers = [installed("mailauth 4.13.3", packageDir("mailauth", root), dirBytes(packageDir("mailauth", root)))];
const mailauth7Dir = packageDir("mailauth7", root);
const v7 = (JSON.parse(readFileSync(join(mailauth7Dir, "package.json"), "utf8")) as { version: string }).version;
peers.push(installed(`mailauth ${v7}`, mailauth7Dir, dirBytes(mailauth7Dir)));

console.log(`\nInstalled footprint (package + runtime dependencies; msgauth as npm pack would publish it: ${mb(pack.tarball)} packed)`);
console.log(
  `${"".padEnd(18)} ${"package".padStart(9)} ${"deps".padStart(9)} ${"total".padStart(9)} ${"packages".padStart(9)} ${"files".padStart(7)}`,
);
for (const f of [ours, ...peers])
  if (process.env.BENCH_VERBOSE)
    console.log(
      f.label,
      [...runtimeClosure(f.label === "msgauth" ? root : packageDir(f.label.startsWith("mailauth 4") ? "mailauth" : "mailauth7", root))]
        .map((d) => d.replace(/.*node_modules\//, ""))
        .join(" "),
    );
for (const f of [ours, ...peers])
  console.log(
    `${f.label.padEnd(18)} ${mb(f.own).padStart(9)} ${mb(f.deps).padStart(9)} ${mb(f.own + f.deps).padStart(9)} ${String(f.packages).padStart(9)} ${String(f.files).padStart(7)}`,
  );

const n = Number(process.env.BENCH_IMPORTS ?? 11);
const targets: Array<{ label: string; spec: string; cjs?: boolean }> = [
  { label: "msgauth (ESM)", spec: pathToFileURL(join(root, "dist/index.js")).href },
  { label: "msgauth (CJS)", spec: join(root, "dist/index.cjs"), cjs: true },
  { label: "mailauth 4.13.3", spec: "mailauth" },
];
if (runs7) targets.push({ label: `mailauth ${v7}`, spec: "mailauth7" });
const times: number[][] = targets.map(() => []);
for (let i = 0; i < n; i++) for (const [j, t] of targets.entries()) times[j]!.push(importMs(t.spec, t.cjs));
const base = median(times[2]!);
console.log(`\nCold import, a fresh node process each (median of ${n}, alternating; ratio to mailauth 4.13.3)`);
for (const [j, t] of targets.entries()) {
  const m = median(times[j]!);
  console.log(`${t.label.padEnd(18)} ${`${m.toFixed(0)} ms`.padStart(8)} ${`${(m / base).toFixed(2)}x`.padStart(7)}`);
}
if (!runs7) console.log(`(mailauth ${v7} needs Node >= 22.19: its import time is measured under Node 24)`);
