import { afterAll, describe, expect, it } from "vitest";
import type { StsPolicyLookup } from "../../src/mtasts/client.js";
import { parseTlsReport } from "../../src/tlsrpt/parse.js";
import { reportPolicyFor, TlsRptRecorder } from "../../src/tlsrpt/recorder.js";
import { serializeTlsReport } from "../../src/tlsrpt/report.js";
import { storeKinds } from "../helpers/stores.js";

const DAY = Date.UTC(2026, 10, 30, 12);
const META = { organizationName: "Sender Org", contactInfo: "tlsrpt@sender.example" };
const STS: StsPolicyLookup = {
  kind: "policy",
  domain: "example.net",
  id: "1",
  policy: { version: "STSv1", mode: "enforce", mx: ["mx.example.net", "*.backup.example.net"], maxAge: 86400, extensions: {} },
  text: "",
  source: "fetched",
  fetchedAt: 0,
  expiresAt: 0,
};
const kinds = storeKinds();
afterAll(async () => {
  for (const k of kinds) await k.teardown();
});

for (const kind of kinds) {
  describe.skipIf(!kind.available)(`TlsRptRecorder on the ${kind.kind} store`, () => {
    it("aggregates sessions per policy domain, policy and UTC day into reports that parse back", async () => {
      const store = await kind.open();
      const rec = new TlsRptRecorder({ store, now: () => DAY + 86_400_000 });
      const policy = reportPolicyFor(STS);
      const fail = {
        resultType: "certificate-expired",
        sendingMtaIp: "192.0.2.1",
        receivingMxHostname: "mx.example.net",
        receivingIp: "198.51.100.7",
        failureReasonCode: "CERT_HAS_EXPIRED",
      };
      for (let i = 0; i < 3; i++) await rec.record({ policyDomain: "example.net", policy, at: DAY });
      await rec.record({ policyDomain: "example.net", policy, at: DAY, failures: [fail] });
      await rec.record({ policyDomain: "example.net", policy, at: DAY + 1000, failures: [fail] });
      // one session, two failure kinds: one failed session, two detail rows (RFC 8460 4: not exclusive)
      await rec.record({
        policyDomain: "EXAMPLE.net.",
        policy,
        at: DAY,
        failures: [{ resultType: "validation-failure", failureReasonCode: "x" }, { resultType: "starttls-not-supported" }],
      });
      await rec.record({
        policyDomain: "example.net",
        policy: reportPolicyFor({ kind: "none", domain: "example.net", reason: "" }),
        at: DAY,
      });
      await rec.record({ policyDomain: "other.example", policy, at: DAY });
      await rec.record({ policyDomain: "example.net", policy, at: DAY + 86_400_000 }); // the next day
      const reports = await rec.takeReports("2026-11-30", META);
      expect(reports.map((r) => r.policyDomain).sort()).toEqual(["example.net", "other.example"]);
      const net = reports.find((r) => r.policyDomain === "example.net")!;
      expect(net.report.dateRange).toEqual({ startDatetime: "2026-11-30T00:00:00Z", endDatetime: "2026-12-01T00:00:00Z" });
      const sts = net.report.policies.find((p) => p.policy.type === "sts")!;
      expect(sts.policy).toEqual({
        type: "sts",
        string: ["version: STSv1", "mode: enforce", "mx: mx.example.net", "mx: *.backup.example.net", "max_age: 86400"],
        domain: "example.net",
        mxHost: ["mx.example.net", "*.backup.example.net"],
      });
      expect(sts.summary).toEqual({ totalSuccessfulSessionCount: 3, totalFailureSessionCount: 3 });
      expect(sts.failureDetails).toEqual([
        { ...fail, failedSessionCount: 2 },
        { resultType: "starttls-not-supported", failedSessionCount: 1 },
        { resultType: "validation-failure", failureReasonCode: "x", failedSessionCount: 1 },
      ]);
      expect(net.report.policies.find((p) => p.policy.type === "no-policy-found")!.summary.totalSuccessfulSessionCount).toBe(1);
      expect(parseTlsReport(serializeTlsReport(net.report))).toEqual({ ok: true, report: net.report, compressed: false });
      // taken once: a second take (another server of the fleet) gets nothing; pending until done()
      expect(await rec.takeReports("2026-11-30", META)).toEqual([]);
      expect((await rec.pending(META)).length).toBe(2);
      for (const r of reports) await r.done();
      expect(await rec.pending(META)).toEqual([]);
      await store.close();
    });

    it("a 60 KiB policy and over-long remote values are recorded (values cut), and reported", async () => {
      const store = await kind.open();
      const rec = new TlsRptRecorder({ store, now: () => DAY + 86_400_000 });
      const mx = Array.from({ length: 3000 }, (_, i) => `mx${i}.example.net`);
      const policy = {
        type: "sts" as const,
        string: ["version: STSv1", "mode: enforce", ...mx.map((m) => `mx: ${m}`), "max_age: 86400"],
        mxHost: mx,
      };
      await rec.record({
        policyDomain: "example.net",
        policy,
        at: DAY,
        failures: [{ resultType: "validation-failure", receivingMxHelo: "h".repeat(100_000) }],
      });
      const [r] = await rec.takeReports("2026-11-30", META);
      expect(r!.report.policies[0]!.policy.mxHost).toHaveLength(3000);
      expect(r!.report.policies[0]!.failureDetails[0]!.receivingMxHelo).toHaveLength(255);
      await store.close();
    });

    it("counts whose policy entry was lost are still reported", async () => {
      const store = await kind.open();
      const rec = new TlsRptRecorder({ store, now: () => DAY + 86_400_000 });
      await rec.record({ policyDomain: "example.net", policy: reportPolicyFor(STS), at: DAY });
      const hashes: string[] = [];
      for await (const [field] of store.entries("tlsrpt:open:2026-11-30:example.net")) hashes.push(JSON.parse(field)[0]);
      await store.delete(`tlsrpt:policy:${hashes[0]}`);
      const [r] = await rec.takeReports("2026-11-30", META);
      expect(r!.report.policies[0]).toMatchObject({ policy: { type: "no-policy-found" }, summary: { totalSuccessfulSessionCount: 1 } });
      await store.close();
    });

    it("concurrent records all count (atomic increments)", async () => {
      const store = await kind.open();
      const rec = new TlsRptRecorder({ store, now: () => DAY + 86_400_000 });
      const policy = reportPolicyFor(STS);
      await Promise.all(Array.from({ length: 50 }, () => rec.record({ policyDomain: "example.net", policy, at: DAY })));
      const [r] = await rec.takeReports("2026-11-30", META);
      expect(r!.report.policies[0]!.summary.totalSuccessfulSessionCount).toBe(50);
      await store.close();
    });
  });
}

describe("TlsRptRecorder refuses wrong calls", () => {
  it("unknown options", () => expect(() => new TlsRptRecorder({ store: {} as never, ttl: 1 } as never)).toThrow(TypeError));
  it("a day that is not over", async () => {
    const { MemoryStateStore } = await import("../../src/store/memory.js");
    const r = new TlsRptRecorder({ store: new MemoryStateStore(), now: () => DAY });
    await expect(r.takeReports("2026-11-30", META)).rejects.toThrow(/not over/);
    await expect(r.takeReports("30/11/2026", META)).rejects.toThrow(TypeError);
    await expect(r.record({ policyDomain: "not a domain", policy: reportPolicyFor(STS) })).rejects.toThrow(TypeError);
    // RFC 8460 4.4: the policy domain MUST be A-labels
    await expect(r.record({ policyDomain: "bücher.example", policy: reportPolicyFor(STS) })).rejects.toThrow(TypeError);
    await r.record({ policyDomain: "xn--bcher-kva.example", policy: reportPolicyFor(STS) });
    await expect(r.record({ policyDomain: "example.net", policy: reportPolicyFor(STS), failures: [{} as never] })).rejects.toThrow(
      TypeError,
    );
  });
});
