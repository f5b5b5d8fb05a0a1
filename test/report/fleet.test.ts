import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { startRedisServer } from "../helpers/redis-server.js";
import { HAS_REDIS } from "../helpers/stores.js";

describe.skipIf(!HAS_REDIS)("a fleet of MX hosts sharing Redis", () => {
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  afterAll(() => server?.stop());

  it("counts from 4 processes add up and exactly one report per domain and period is sent", async () => {
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
    const sent = hosts.flatMap((h) => h.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>));
    expect(sent).toHaveLength(1);
    // 4 hosts x 5 rounds x 6 messages, all counted once in the one report
    expect(sent[0]).toMatchObject({ to: "dmarc-reports@example.com", domain: "example.com", messages: 120 });
    for (const h of hosts) h.c.stdin!.end();
  });
});
