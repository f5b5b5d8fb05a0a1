// Child for the fleet test: one MX host sharing a Redis store. It authenticates and collects the
// test traffic `rounds` times, says "ready", waits for "go", then runs the reporter once (its clock
// past the period's end) and prints each report it sent as a JSON line, then "done".
import { AggregateCollector } from "../../../src/report/collect.js";
import { parseAggregateReport } from "../../../src/report/parse.js";
import { AggregateReporter } from "../../../src/report/reporter.js";
import { openRedisStore } from "../../../src/store/redis.js";
import { authenticateTraffic, REPORT_DKIM, REPORTER, T0, worldResolver } from "../../helpers/report-world.js";

const [url, host, rounds] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const store = await openRedisStore({ url, prefix: "fleet:" });
const collector = new AggregateCollector({ store, now: () => T0 });
const traffic = await authenticateTraffic();
for (let i = 0; i < rounds; i++) for (const t of traffic) await collector.collect(t.result, t.envelope);
process.stdout.write("ready\n");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
const reporter = new AggregateReporter({
  store,
  identity: REPORTER,
  dkim: REPORT_DKIM,
  resolver: worldResolver(),
  hostId: host,
  now: () => T0 + 86_400_000,
  transport: async ({ to, raw }) => {
    const parsed = await parseAggregateReport(raw);
    const messages = parsed.ok ? parsed.report.records.reduce((n, r) => n + r.count, 0) : -1;
    process.stdout.write(`${JSON.stringify({ host, to, domain: parsed.ok ? parsed.report.policy.domain : "?", messages })}\n`);
  },
});
await reporter.run();
process.stdout.write("done\n");
await store.close();
