import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/authenticate.js";
import { parseDmarcRecord } from "../../src/dmarc/record.js";
import { AggregateCollector, recordOf } from "../../src/report/collect.js";
import { reportFilename } from "../../src/report/generate.js";
import { AggregateReporter } from "../../src/report/reporter.js";
import { MemoryStateStore } from "../../src/store/memory.js";
import { StoreError } from "../../src/store/types.js";
import { authenticateTraffic, REPORT_DKIM, REPORTER, T0, worldResolver } from "../helpers/report-world.js";

const LATER = T0 + 2 * 86_400_000;

async function otherExampleTraffic() {
  // The same messages, as if other.example's record (two rua= destinations) had applied.
  const record = parseDmarcRecord(
    "v=DMARC1; p=quarantine; rua=mailto:agg@reports.example,mailto:dmarc@other.example!1k; fo=1; ruf=mailto:ruf@other.example",
  );
  if (!record.ok) throw new Error(record.reason);
  return (await authenticateTraffic()).map((t) => ({
    envelope: t.envelope,
    result: {
      ...t.result,
      dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: record.record },
    },
  }));
}

describe("collector", () => {
  it("a failing store gives an outcome with the error, never a throw", async () => {
    const broken = new MemoryStateStore();
    broken.increment = () => Promise.reject(new StoreError("timeout", "Redis EVAL did not answer within 2000 ms"));
    const [t] = await authenticateTraffic();
    const outcome = await new AggregateCollector({ store: broken, now: () => T0 }).collect(t!.result, t!.envelope);
    expect(outcome).toEqual({ collected: false, error: "timeout: Redis EVAL did not answer within 2000 ms" });
  });

  it("nothing is collected without a policy or without rua= (unless asked)", async () => {
    const [t] = await authenticateTraffic();
    const store = new MemoryStateStore();
    const c = new AggregateCollector({ store, now: () => T0 });
    expect(await c.collect({ ...t!.result, dmarc: { ...t!.result.dmarc!, result: "none" } }, t!.envelope)).toMatchObject({
      collected: false,
    });
    const noRua = { ...t!.result.dmarc!, record: { ...t!.result.dmarc!.record!, rua: [] } };
    expect(await c.collect({ ...t!.result, dmarc: noRua }, t!.envelope)).toMatchObject({ collected: false, reason: /no rua=/ });
    expect(await store.maps("")).toEqual([]);
    const all = new AggregateCollector({ store, now: () => T0, includeWithoutRua: true });
    expect(await all.collect({ ...t!.result, dmarc: noRua }, t!.envelope)).toMatchObject({ collected: true });
  });

  it("overrides and the applied disposition are recorded (an ARC-trusted forwarder)", async () => {
    const [, , , spoof] = await authenticateTraffic();
    const r = recordOf(spoof!.result, spoof!.envelope, {
      overrides: [{ type: "trusted_forwarder", comment: "arc=pass from lists.example.net" }],
      disposition: "none",
    });
    expect(r).toMatchObject({ disposition: "none", dkim: "fail", spf: "fail", reasons: [{ type: "trusted_forwarder" }] });
  });

  it("periods: daily by default aligned to UTC; ri= shortens them only when asked", () => {
    const store = new MemoryStateStore();
    expect(new AggregateCollector({ store }).period(T0, 3600)).toEqual({ begin: Date.UTC(2026, 10, 20) / 1000, seconds: 86400 });
    expect(new AggregateCollector({ store, honourRi: true }).period(T0, 3600)).toEqual({ begin: T0 / 1000, seconds: 3600 });
    expect(new AggregateCollector({ store, honourRi: true }).period(T0, 5000)).toEqual({ begin: T0 / 1000, seconds: 3600 });
    expect(() => new AggregateCollector({ store, periodSeconds: 1000 })).toThrow(/periodSeconds/);
    expect(() => new AggregateCollector({ store, interval: 1 } as never)).toThrow(/unknown collector option interval/);
  });
});

describe("reporter", () => {
  it("external destinations need authorization; a size limit below the email skips that destination", async () => {
    const store = new MemoryStateStore();
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await otherExampleTraffic()) await c.collect(t.result, t.envelope);
    const sent: string[] = [];
    const out = await new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => LATER,
      transport: async (m) => void sent.push(m.to),
    }).run();
    expect(out).toHaveLength(1);
    expect(out[0]!.state).toBe("sent");
    expect(out[0]!.deliveries).toEqual([
      { to: "agg@reports.example", result: "skipped", reason: expect.stringMatching(/has not authorized reports for other\.example/) },
      { to: "dmarc@other.example", result: "skipped", reason: expect.stringMatching(/over the limit of 1024/) },
    ]);
    expect(sent).toEqual([]);
  });

  it("a failing transport keeps the period for the next run, with the same report ID, then drops it after maxAttempts", async () => {
    const store = new MemoryStateStore();
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    let fail = true;
    const ids: string[] = [];
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => LATER,
      maxAttempts: 3,
      transport: async (m) => {
        ids.push(m.report.metadata.reportId);
        if (fail) throw new Error("451 try later");
      },
    });
    expect((await reporter.run())[0]).toMatchObject({
      state: "retry",
      deliveries: [{ result: "failed", reason: "transport: 451 try later" }],
    });
    expect((await reporter.run())[0]).toMatchObject({ state: "retry" });
    fail = false;
    expect((await reporter.run())[0]).toMatchObject({ state: "sent" });
    expect(new Set(ids).size).toBe(1); // a re-send keeps the report ID and file name
    expect(await store.maps("")).toEqual([]);

    fail = true;
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    const states = [];
    for (let i = 0; i < 3; i++) states.push((await reporter.run())[0]?.state);
    expect(states).toEqual(["retry", "retry", "dropped"]);
    expect(await store.maps("")).toEqual([]);
  });
});

describe("collector bounds", () => {
  it("a row too large for the store is refused with a reason, never a throw", async () => {
    const [t] = await authenticateTraffic();
    const huge = { ...t!.result, dmarc: { ...t!.result.dmarc!, fromDomain: "a".repeat(70_000) } };
    const outcome = await new AggregateCollector({ store: new MemoryStateStore(), now: () => T0 }).collect(huge, t!.envelope);
    expect(outcome).toEqual({ collected: false, reason: "the row is too large to store (over 64 KiB)" });
  });
});

describe("report email headers", () => {
  it("an organization name with specials or non-ASCII stays one display name: the report mail still passes DMARC", async () => {
    for (const orgName of ['Example, Inc. "Mail" <Ops>', "Ëxample Mäil"]) {
      const store = new MemoryStateStore();
      const c = new AggregateCollector({ store, now: () => T0 });
      for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
      const raws: Uint8Array[] = [];
      await new AggregateReporter({
        store,
        identity: { ...REPORTER, orgName },
        dkim: REPORT_DKIM,
        resolver: worldResolver(),
        now: () => LATER,
        transport: async (m) => void raws.push(m.raw),
      }).run();
      const verified = await authenticate(
        raws[0]!,
        { ip: "203.0.113.5", mailFrom: REPORTER.email },
        { resolver: worldResolver(), now: () => LATER, checks: { iprev: false } },
      );
      expect(verified.author).toMatchObject({ ok: true, domain: "receiver.example" });
      expect(verified.dmarc?.result).toBe("pass");
    }
  });

  it("a rua= address that is not a plain address (header injection) is skipped", async () => {
    const record = parseDmarcRecord("v=DMARC1; p=reject; rua=mailto:a@other.example%0d%0aBcc:x@evil.example,mailto:dmarc@other.example");
    if (!record.ok) throw new Error(record.reason);
    const store = new MemoryStateStore();
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic())
      await c.collect(
        { ...t.result, dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: record.record } },
        t.envelope,
      );
    const sent: string[] = [];
    const out = await new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => LATER,
      transport: async (m) => void sent.push(m.to),
    }).run();
    expect(out[0]!.deliveries.map((d) => [d.to, d.result])).toEqual([
      ["a@other.example%0d%0aBcc:x@evil.example", "skipped"],
      ["dmarc@other.example", "sent"],
    ]);
    expect(sent).toEqual(["dmarc@other.example"]);
  });

  it("what the caller adds to collect() is checked (a TypeError naming the problem)", async () => {
    const [t] = await authenticateTraffic();
    const c = new AggregateCollector({ store: new MemoryStateStore(), now: () => T0 });
    await expect(c.collect(t!.result, t!.envelope, { disposition: "delivered" as never })).rejects.toThrow(/disposition must be/);
    await expect(c.collect(t!.result, t!.envelope, { overrides: [{ type: "whim" as never }] })).rejects.toThrow(
      /unknown policy override type whim/,
    );
    await expect(c.collect(t!.result, t!.envelope, { reason: "x" } as never)).rejects.toThrow(/unknown collect option reason/);
  });
});

describe("a host that dies while sending", () => {
  it("its period waits for the lease to expire, then another host sends it", async () => {
    let storeNow = T0;
    const store = new MemoryStateStore({ now: () => storeNow });
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    // The crashed host took the period and held the lease when it died.
    const [map] = await store.maps("dmarc:agg:");
    const sending = map!.replace("dmarc:agg:", "dmarc:sending:");
    expect(await store.take(map!, sending)).toBe(true);
    expect(await store.set(`${sending}#lease`, "mx-crashed", { ttlMs: 60_000, ifAbsent: true })).toBe(true);
    const sent: string[] = [];
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      hostId: "mx2",
      now: () => LATER,
      transport: async (m) => void sent.push(m.to),
    });
    expect(await reporter.run()).toEqual([]); // leased by the crashed host: left alone
    expect(await store.get(`${sending}#lease`)).toBe("mx-crashed"); // and its lease not released by mx2
    storeNow += 60_001;
    expect((await reporter.run()).map((o) => o.state)).toEqual(["sent"]);
    expect(sent).toEqual(["dmarc-reports@example.com"]);
  });
});

describe("leases", () => {
  it("a host whose lease expired while it was sending does not release the next holder's lease", async () => {
    let storeNow = T0;
    const store = new MemoryStateStore({ now: () => storeNow });
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    let lease = "";
    const slow = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      hostId: "mx-slow",
      leaseMs: 1000,
      transportTimeoutMs: 500, // a delivery starts only when it can finish inside the lease
      now: () => LATER,
      transport: async () => {
        // Sending took longer than the lease: another host took the lease meanwhile.
        const [sending] = await store.maps("dmarc:sending:");
        lease = `${sending}#lease`;
        storeNow += 1001;
        expect(await store.set(lease, "mx-next", { ttlMs: 60_000, ifAbsent: true })).toBe(true);
      },
    });
    await slow.run();
    expect(await store.get(lease)).toBe("mx-next");
  });
});

describe("report file names", () => {
  it("are one safe file name whatever the names hold", () => {
    expect(reportFilename("mx.receiver.example", "example.com", 1, 2, "ab12")).toBe("mx.receiver.example!example.com!1!2!ab12.xml.gz");
    expect(reportFilename("../../etc", "a/b!c", 1, 2, "x")).toBe("__.._etc!a_b_c!1!2!x.xml.gz");
  });
});

describe("a transport that never answers", () => {
  it("fails that delivery within its deadline; the period is kept for the next run", async () => {
    const store = new MemoryStateStore();
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => LATER,
      transportTimeoutMs: 50,
      transport: () => new Promise<void>(() => {}),
    });
    const out = await reporter.run();
    expect(out[0]).toMatchObject({ state: "retry", deliveries: [{ result: "failed", reason: "transport: did not finish within 50 ms" }] });
  });
});
