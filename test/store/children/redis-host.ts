// Child for the fleet test: one "MX host" incrementing shared counters, then trying to take every
// closed period. Prints one JSON line with what it took.
import { openRedisStore } from "../../../src/store/redis.js";

const [url, host, count] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const store = await openRedisStore({ url, prefix: "fleet:" });
for (let i = 0; i < count; i++) await store.increment([{ map: `period:${i % 3}`, field: `ip${i % 5}`, by: 1 }]);
process.stdout.write("ready\n");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
const taken: string[] = [];
for (const m of await store.maps("period:")) if (await store.take(m, `taken:${m}`)) taken.push(m);
process.stdout.write(`${JSON.stringify({ host, taken })}\n`);
await store.close();
