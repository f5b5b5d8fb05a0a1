import { afterAll, describe, expect, it } from "vitest";
import { authenticate } from "../../src/authenticate.js";
import { AggregateCollector, recordOf } from "../../src/report/collect.js";
import { parseAggregateReport } from "../../src/report/parse.js";
import { AggregateReporter } from "../../src/report/reporter.js";
import type { AggregateRecord } from "../../src/report/types.js";
import { authenticateTraffic, REPORT_DKIM, REPORTER, T0, worldResolver } from "../helpers/report-world.js";
import { storeKinds } from "../helpers/stores.js";

const key = (r: Omit<AggregateRecord, "count">) => JSON.stringify({ ...r, count: undefined });
const sorted = (rs: AggregateRecord[]) => [...rs].sort((a, b) => key(a).localeCompare(key(b)));

for (const k of storeKinds()) {
  describe.skipIf(!k.available)(`round trip through the ${k.kind} store`, () => {
    afterAll(() => k.teardown());

    it("authenticate -> collect -> the period closes -> the report email verifies (DKIM) and parses back to the same rows", async () => {
      const store = await k.open();
      const traffic = await authenticateTraffic();
      expect(traffic.map((t) => t.result.dmarc?.result)).toEqual(["pass", "pass", "pass", "fail", "fail", "fail"]);
      const collector = new AggregateCollector({ store, now: () => T0 });
      const expected = new Map<string, AggregateRecord>();
      for (const t of traffic) {
        const outcome = await collector.collect(t.result, t.envelope);
        expect(outcome).toMatchObject({ collected: true, policyDomain: "example.com", begin: Date.UTC(2026, 10, 20) / 1000 });
        const r = recordOf(t.result, t.envelope)!;
        const e = expected.get(key(r));
        if (e) e.count++;
        else expected.set(key(r), { ...r, count: 1 });
      }
      expect(expected.size).toBe(4); // identical rows are counted, not stored twice

      const sent: Array<{ to: string; raw: Uint8Array }> = [];
      let now = T0;
      const reporter = new AggregateReporter({
        store,
        identity: REPORTER,
        transport: async (m) => void sent.push(m),
        resolver: worldResolver(),
        dkim: REPORT_DKIM,
        now: () => now,
      });
      expect(await reporter.run()).toEqual([]); // the period is still open
      now = Date.UTC(2026, 10, 21, 0, 10); // past the end and the grace time
      const outcomes = await reporter.run();
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({
        policyDomain: "example.com",
        state: "sent",
        deliveries: [{ to: "dmarc-reports@example.com", result: "sent" }],
      });
      expect(await reporter.run()).toEqual([]); // reported once
      expect(await store.maps("")).toEqual([]); // nothing left behind

      expect(sent).toHaveLength(1);
      const raw = sent[0]!.raw;
      const text = Buffer.from(raw).toString("latin1");
      expect(text).toMatch(/^Subject: Report Domain: example\.com\r\n Submitter: mx\.receiver\.example\r\n Report-ID: <[^>]+>/m);
      expect(text).toMatch(/filename="mx\.receiver\.example!example\.com!1795132800!1795219199![0-9a-f]{16}\.xml\.gz"/);

      const verified = await authenticate(
        raw,
        { ip: "203.0.113.5", helo: "mx.receiver.example", mailFrom: REPORTER.email },
        {
          resolver: worldResolver(),
          now: () => now,
          checks: { iprev: false },
        },
      );
      expect(verified.dkim.map((d) => [d.result, d.domain])).toEqual([["pass", "receiver.example"]]);
      expect(verified.dmarc?.result).toBe("pass"); // report mail must pass DMARC (RFC 9990 3.5.2)

      const parsed = await parseAggregateReport(raw);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(parsed).toMatchObject({ container: "gzip", email: true });
      expect(parsed.report.schema).toBe("rfc9990");
      expect(parsed.report.metadata).toMatchObject({ orgName: REPORTER.orgName, begin: 1795132800, end: 1795219199 });
      expect(parsed.report.policy).toMatchObject({
        domain: "example.com",
        p: "reject",
        adkim: "r",
        aspf: "r",
        discoveryMethod: "treewalk",
      });
      expect(sorted(parsed.report.records)).toEqual(sorted([...expected.values()]));
      await store.close();
    });
  });
}
