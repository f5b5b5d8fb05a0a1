import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStateStore, openSqliteStore, type Store, StoreError, sqliteSupported } from "../../src/store/index.js";
import { openRedisStore } from "../../src/store/redis.js";
import { storeKinds } from "../helpers/stores.js";

async function all(store: Store, map: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const [f, n] of store.entries(map)) out[f] = n;
  return out;
}

for (const k of storeKinds()) {
  describe.skipIf(!k.available)(`the ${k.kind} store`, () => {
    afterAll(() => k.teardown());

    it("increments counters atomically per call, several maps at once", async () => {
      const s = await k.open();
      await s.increment([
        { map: "a", field: "x", by: 1 },
        { map: "a", field: "y", by: 2 },
        { map: "b", field: "x", by: 5 },
      ]);
      await s.increment([{ map: "a", field: "x", by: 3 }]);
      expect(await all(s, "a")).toEqual({ x: 4, y: 2 });
      expect(await all(s, "b")).toEqual({ x: 5 });
      expect(await all(s, "none")).toEqual({});
      await s.close();
    });

    it("reads maps larger than a page, each field once", async () => {
      const s = await k.open();
      const changes = Array.from({ length: 2500 }, (_, i) => ({ map: "big", field: `f${i}`, by: i + 1 }));
      await s.increment(changes);
      const got = await all(s, "big");
      expect(Object.keys(got)).toHaveLength(2500);
      expect(got.f2499).toBe(2500);
      await s.close();
    });

    it("lists maps by prefix, sorted", async () => {
      const s = await k.open();
      for (const m of ["p:2", "p:1", "q:1"]) await s.increment([{ map: m, field: "f", by: 1 }]);
      expect(await s.maps("p:")).toEqual(["p:1", "p:2"]);
      expect(await s.maps("")).toEqual(["p:1", "p:2", "q:1"]);
      await s.deleteMap("p:1");
      expect(await s.maps("p:")).toEqual(["p:2"]);
      expect(await all(s, "p:1")).toEqual({});
      await s.close();
    });

    it("take() hands a map over once: absent source or existing target refuse", async () => {
      const s = await k.open();
      await s.increment([{ map: "period", field: "f", by: 7 }]);
      await s.increment([{ map: "busy", field: "f", by: 1 }]);
      const takes = await Promise.all([s.take("period", "taken:1"), s.take("period", "taken:2")]);
      expect(takes.filter(Boolean)).toHaveLength(1);
      const winner = takes[0] ? "taken:1" : "taken:2";
      expect(await all(s, winner)).toEqual({ f: 7 });
      expect(await s.maps("period")).toEqual([]);
      await s.increment([{ map: "again", field: "f", by: 1 }]);
      expect(await s.take("again", "busy")).toBe(false); // never merges into an existing map
      expect(await all(s, "busy")).toEqual({ f: 1 });
      await s.close();
    });

    it("values: set, get, ifAbsent leases, expiry, delete", async () => {
      const s = await k.open();
      expect(await s.get("k")).toBeUndefined();
      expect(await s.set("k", "v1")).toBe(true);
      expect(await s.set("k", "v2", { ifAbsent: true })).toBe(false);
      expect(await s.get("k")).toBe("v1");
      expect(await s.set("short", "x", { ttlMs: 30 })).toBe(true);
      await new Promise((r) => setTimeout(r, 80));
      expect(await s.get("short")).toBeUndefined();
      expect(await s.set("short", "y", { ifAbsent: true })).toBe(true); // an expired lease can be taken again
      await s.delete("k");
      expect(await s.get("k")).toBeUndefined();
      await s.close();
    });

    it("refuses bad calls with a TypeError and calls after close with StoreError closed", async () => {
      const s = await k.open();
      await expect(s.increment([{ map: "", field: "f", by: 1 }])).rejects.toThrow(TypeError);
      await expect(s.increment([{ map: "m", field: "f", by: 0.5 }])).rejects.toThrow(/safe integer/);
      await expect(s.set("k", "v", { ttl: 5 } as never)).rejects.toThrow(/unknown set option ttl/);
      await s.close();
      const err = await s.get("k").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe("closed");
    });
  });
}

describe("opening stores", () => {
  it.skipIf(sqliteSupported())("on Node before 22.13 the SQLite store says what it needs and what to use instead", async () => {
    const err = await openSqliteStore("/tmp/never.db").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe("unsupported-runtime");
    expect((err as Error).message).toMatch(/Node\.js 22\.13 or later.*memory store or the Redis store/);
  });

  it("unknown options are refused", async () => {
    expect(() => new MemoryStateStore({ clock: 1 } as never)).toThrow(/unknown MemoryStateStore option clock/);
    await expect(openSqliteStore("x.db", { sync: "full" } as never)).rejects.toThrow(/unknown SQLite store option sync/);
    await expect(openRedisStore({ host: "x" } as never)).rejects.toThrow(/unknown Redis store option host/);
  });

  it("a Redis server that does not answer fails each call within its deadline with StoreError timeout", async () => {
    const silent = { call: () => new Promise<unknown>(() => {}) };
    const s = await openRedisStore({ client: silent, timeoutMs: 50 });
    const err = await s.increment([{ map: "m", field: "f", by: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe("timeout");
  });

  it("a Redis error becomes StoreError unavailable", async () => {
    const broken = { call: () => Promise.reject(new Error("ECONNREFUSED")) };
    const s = await openRedisStore({ client: broken });
    await expect(s.get("k")).rejects.toMatchObject({ code: "unavailable", message: /ECONNREFUSED/ });
  });
});

describe("expired values are removed, not only hidden", () => {
  it("the memory store sweeps them every 1,000 sets", async () => {
    let now = 0;
    const s = new MemoryStateStore({ now: () => now });
    for (let i = 0; i < 999; i++) await s.set(`k${i}`, "v", { ttlMs: 10 });
    expect(s.valueCount).toBe(999);
    now = 100;
    await s.set("last", "v"); // the 1,000th set
    expect(s.valueCount).toBe(1);
  });

  it.skipIf(!sqliteSupported())("the SQLite store deletes them every 1,000 sets", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "msgauth-purge-")), "state.db");
    let now = 0;
    const s = await openSqliteStore(path, { now: () => now });
    for (let i = 0; i < 999; i++) await s.set(`k${i}`, "v", { ttlMs: 10 });
    now = 100;
    await s.set("last", "v");
    await s.close();
    const { DatabaseSync } = (await import(/* @vite-ignore */ "node:" + "sqlite")) as {
      DatabaseSync: new (p: string) => { prepare(q: string): { get(): { n: number } }; close(): void };
    };
    const db = new DatabaseSync(path);
    expect(db.prepare("SELECT count(*) AS n FROM kv").get().n).toBe(1);
    db.close();
  });
});
