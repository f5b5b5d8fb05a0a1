// Child for the fleet test: one MX host sharing a Redis store. It collects the test traffic for two
// policy domains on two days, `rounds` times, says "ready", waits for "go", then runs the reporter
// once (its clock two days on) and prints each period it handled and each email it sent as JSON
// lines, then "done".
import { parseDmarcRecord } from "../../../src/dmarc/record.js";
import { AggregateCollector } from "../../../src/report/collect.js";
import { parseAggregateReport } from "../../../src/report/parse.js";
import { AggregateReporter } from "../../../src/report/reporter.js";
import { openRedisStore } from "../../../src/store/redis.js";
import { authenticateTraffic, REPORT_DKIM, REPORTER, T0, worldResolver } from "../../helpers/report-world.js";

const [url, host, rounds] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const store = await openRedisStore({ url, prefix: "fleet:" });
const traffic = await authenticateTraffic();
const other = parseDmarcRecord("v=DMARC1; p=quarantine; rua=mailto:dmarc@other.example");
if (!other.ok) throw new Error(other.reason);
const asOther = traffic.map((t) => ({
  envelope: t.envelope,
  result: { ...t.result, dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: other.record } },
}));
for (const day of [0, 1]) {
  const collector = new AggregateCollector({ store, now: () => T0 + day * 86_400_000 });
  for (let i = 0; i < rounds; i++) for (const t of [...traffic, ...asOther]) await collector.collect(t.result, t.envelope);
}
process.stdout.write("ready\n");
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
const reporter = new AggregateReporter({
  store,
  identity: REPORTER,
  dkim: REPORT_DKIM,
  resolver: worldResolver(),
  hostId: host,
  now: () => T0 + 2 * 86_400_000,
  transport: async ({ to, raw }) => {
    const parsed = await parseAggregateReport(raw);
    const messages = parsed.ok ? parsed.report.records.reduce((n, r) => n + r.count, 0) : -1;
    const begin = parsed.ok ? parsed.report.metadata.begin : -1;
    process.stdout.write(
      `${JSON.stringify({ kind: "email", host, to, domain: parsed.ok ? parsed.report.policy.domain : "?", begin, messages })}\n`,
    );
  },
});
for (const o of await reporter.run())
  process.stdout.write(`${JSON.stringify({ kind: "period", host, domain: o.policyDomain, begin: o.begin, state: o.state })}\n`);
process.stdout.write("done\n");
await store.close();
