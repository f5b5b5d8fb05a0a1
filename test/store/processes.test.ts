import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { openRedisStore, openSqliteStore } from "../../src/store/index.js";
import { startRedisServer } from "../helpers/redis-server.js";
import { HAS_REDIS, HAS_SQLITE } from "../helpers/stores.js";

const child = (script: string, args: string[]): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "children", script), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });

describe.skipIf(!HAS_SQLITE)("SQLite store across a process kill", () => {
  it("what was acknowledged survives SIGKILL mid-stream (at most the one in-flight write more)", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "msgauth-kill-")), "state.db");
    for (const round of [1, 2]) {
      const before = await openSqliteStore(path);
      let start = 0;
      for await (const [f, n] of before.entries("period")) if (f === "total") start = n;
      await before.close();
      const c = child("sqlite-writer.ts", [path]);
      let acked = 0;
      const target = 300 * round;
      // Kill at the target; lines already in the pipe still count as acknowledged.
      await new Promise<void>((resolve) => {
        const rl = createInterface({ input: c.stdout! });
        rl.on("line", (line) => {
          acked = Math.max(acked, Number(line.split(" ")[1]));
          if (acked === target) c.kill("SIGKILL");
        });
        rl.on("close", resolve);
      });
      const after = await openSqliteStore(path);
      const counts: Record<string, number> = {};
      for await (const [f, n] of after.entries("period")) counts[f] = n;
      await after.close();
      const total = counts.total! - start;
      expect(acked).toBeGreaterThanOrEqual(target);
      expect(total === acked || total === acked + 1).toBe(true); // all acknowledged, at most the one in flight more
      const rows = Object.entries(counts).filter(([f]) => f !== "total");
      expect(rows.reduce((s, [, n]) => s + n, 0)).toBe(counts.total); // each message's changes landed together
    }
  });
});

describe.skipIf(!HAS_REDIS)("Redis store shared by several processes", () => {
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  afterAll(() => server?.stop());

  it("increments from 4 processes all count, and each closed period is taken by exactly one host", async () => {
    server = await startRedisServer();
    const hosts = Array.from({ length: 4 }, (_, i) => child("redis-host.ts", [server!.url, `mx${i}`, "300"]));
    const lines = hosts.map((c) => {
      const rl = createInterface({ input: c.stdout! });
      const queue: string[] = [];
      const waiters: Array<(l: string) => void> = [];
      rl.on("line", (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
      return () => new Promise<string>((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve)));
    });
    expect(await Promise.all(lines.map((next) => next()))).toEqual(["ready", "ready", "ready", "ready"]);
    const store = await openRedisStore({ url: server.url, prefix: "fleet:" });
    let sum = 0;
    for (const m of await store.maps("period:")) for await (const [, n] of store.entries(m)) sum += n;
    expect(sum).toBe(1200);
    for (const c of hosts) c.stdin!.write("go\n"); // all race for the hand-over at once
    const results = (await Promise.all(lines.map((next) => next()))).map((l) => JSON.parse(l) as { host: string; taken: string[] });
    const taken = results.flatMap((r) => r.taken).sort();
    expect(taken).toEqual(["period:0", "period:1", "period:2"]); // each once, none twice
    let after = 0;
    for (const m of await store.maps("taken:")) for await (const [, n] of store.entries(m)) after += n;
    expect(after).toBe(1200);
    await store.close();
  });
});
