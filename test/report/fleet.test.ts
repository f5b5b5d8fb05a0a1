import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { startRedisServer } from "../helpers/redis-server.js";
import { HAS_REDIS } from "../helpers/stores.js";

describe.skipIf(!HAS_REDIS)("a fleet of MX hosts sharing Redis", () => {
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  afterAll(() => server?.stop());

  it("counts from 4 processes add up and exactly one report per domain and period is sent (2 domains x 2 days)", async () => {
    server = await startRedisServer();
    const hosts = Array.from({ length: 4 }, (_, i) => {
      const c = spawn(
        process.execPath,
        ["--import", "tsx", join(import.meta.dirname, "children", "fleet-host.ts"), server!.url, `mx${i}`, "5"],
        {
          stdio: ["pipe", "pipe", "inherit"],
        },
      );
      const lines: string[] = [];
      const waiters: Array<() => void> = [];
      createInterface({ input: c.stdout! }).on("line", (l) => {
        lines.push(l);
        for (const w of waiters.splice(0)) w();
      });
      const until = (text: string) =>
        new Promise<void>((resolve) => {
          const check = () => (lines.includes(text) ? resolve() : waiters.push(check));
          check();
        });
      return { c, lines, until };
    });
    await Promise.all(hosts.map((h) => h.until("ready")));
    for (const h of hosts) h.c.stdin!.write("go\n"); // all reporters race for the closed period
    await Promise.all(hosts.map((h) => h.until("done")));
    const lines = hosts.flatMap((h) => h.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>));
    const periods = lines.filter((l) => l.kind === "period").map((l) => `${l.domain} ${l.begin} ${l.state}`);
    const day1 = Date.UTC(2026, 10, 20) / 1000;
    const day2 = day1 + 86400;
    // Each domain's each period handled by exactly one host, and reported once.
    expect(periods.sort()).toEqual([
      `example.com ${day1} sent`,
      `example.com ${day2} sent`,
      `other.example ${day1} sent`,
      `other.example ${day2} sent`,
    ]);
    const emails = lines.filter((l) => l.kind === "email").map((l) => `${l.to} ${l.domain} ${l.begin} ${l.messages}`);
    // 4 hosts x 5 rounds x 6 messages a domain a day, all counted once in the one report
    expect(emails.sort()).toEqual([
      `dmarc-reports@example.com example.com ${day1} 120`,
      `dmarc-reports@example.com example.com ${day2} 120`,
      `dmarc@other.example other.example ${day1} 120`,
      `dmarc@other.example other.example ${day2} 120`,
    ]);
    for (const h of hosts) h.c.stdin!.end();
  });
});
