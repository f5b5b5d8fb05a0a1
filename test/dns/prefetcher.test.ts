import { describe, expect, it } from "vitest";
import { BudgetedResolver, type DnsQueryEvent, FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { Prefetcher } from "../../src/dns/prefetch.js";

const zone = zoneFromObject({
  "a.example": { TXT: "v=spf1 -all", A: "192.0.2.1" },
  "b.example": { TXT: "b", MX: [[10, "mx.b.example"]] },
  "c.example": { A: "192.0.2.3" },
});

describe("Prefetcher", () => {
  it("keeps one query per type and name: the same name of another type is another query", async () => {
    const r = new BudgetedResolver(new FixtureResolver(zone));
    const pf = new Prefetcher(r, 10);
    expect(pf.prefetch("TXT", "a.example")).toBeDefined();
    expect(pf.prefetch("TXT", "a.example")).toBeUndefined();
    expect(pf.prefetch("A", "a.example")).toBeDefined();
    expect(r.speculative).toBe(2);
    expect(await pf.query("A", "a.example")).toEqual({ kind: "ok", records: ["192.0.2.1"] });
    expect(await pf.query("TXT", "a.example")).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(r).toMatchObject({ queries: 2, speculative: 0 });
    // Each used once: asked again, a fresh query.
    expect(await pf.query("TXT", "a.example")).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(r.queries).toBe(3);
    pf.release("A", "a.example"); // nothing to let go
    expect(pf.settled("TXT", "a.example")).toBeUndefined();
  });

  it("a speculation is claimed or released only by the resolver that sent it, once; a copy is asked afresh", async () => {
    const fixture = new FixtureResolver(zone);
    const r1 = new BudgetedResolver(fixture);
    const r2 = new BudgetedResolver(fixture);
    const s = r1.speculate<string[]>("TXT", "a.example")!;
    await s.answer;
    const copy = { ...s };
    r2.release(s);
    r1.release(copy);
    expect(r2.claimSettled(s)).toBeUndefined();
    expect(r1.claimSettled(copy)).toBeUndefined();
    expect(await r2.claim(s)).toEqual({ kind: "ok", records: ["v=spf1 -all"] }); // a fresh query of r2's
    expect(r2).toMatchObject({ queries: 1, speculative: 0 });
    expect(r1).toMatchObject({ queries: 0, speculative: 1 });
    expect(await r1.claim(copy)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(r1).toMatchObject({ queries: 1, speculative: 1 });
    expect(r1.claimSettled(s)).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(r1).toMatchObject({ queries: 2, speculative: 0 });
    expect(r1.claimSettled(s)).toBeUndefined();
    await expect(r1.claim(null as never)).rejects.toThrow(TypeError);
  });

  it("close() lets the unused queries go in the order they were sent, across types", async () => {
    const events: DnsQueryEvent[] = [];
    const r = new BudgetedResolver(new FixtureResolver(zone), { onQuery: (e) => events.push(e) });
    const pf = new Prefetcher(r, 10);
    pf.prefetch("TXT", "b.example");
    pf.prefetch("A", "c.example");
    pf.prefetch("MX", "b.example");
    pf.prefetch("TXT", "a.example");
    pf.prefetch("A", "a.example");
    pf.release("MX", "b.example");
    pf.prefetch("MX", "b.example"); // sent again: the last one sent now
    pf.close();
    expect(pf.prefetch("TXT", "c.example")).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.map((e) => `${e.type} ${e.name} ${e.speculative}`)).toEqual([
      "MX b.example true",
      "TXT b.example true",
      "A c.example true",
      "TXT a.example true",
      "A a.example true",
      "MX b.example true",
    ]);
  });
});
