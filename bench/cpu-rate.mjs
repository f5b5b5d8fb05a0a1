/**
 * Calls per second of CPU time (process.cpuUsage: user + system), for the benches that compare
 * builds or ways of calling on a shared machine, where CPU time is disturbed less than wall time.
 */

/** CPU milliseconds this process has used. */
export const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs fn for about `ms` of wall time (at least 3 calls), after a fifth of that untimed; calls per CPU second. */
export async function cpuRate(fn, ms) {
  const w = performance.now();
  do await fn();
  while (performance.now() - w < ms / 5);
  let n = 0;
  const t = performance.now();
  const c = cpuMs();
  while (n < 3 || performance.now() - t < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (cpuMs() - c);
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The functions in turn, `rounds` turns of `ms` each, after a collection (--expose-gc); each one's median rate. */
export async function side(fns, ms, rounds = 7) {
  globalThis.gc?.();
  const r = fns.map(() => []);
  for (let k = 0; k < rounds; k++) for (const [i, f] of fns.entries()) r[i].push(await cpuRate(f, ms));
  return r.map(median);
}
