import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/index.js";
import { storeKinds } from "../helpers/stores.js";

// A small model of the Store: maps of counters and plain values (no expiry here: time is not modelled).
type Op =
  | { op: "increment"; changes: Array<{ map: string; field: string; by: number }> }
  | { op: "take"; from: string; to: string }
  | { op: "deleteMap"; map: string }
  | { op: "set"; key: string; value: string; ifAbsent: boolean }
  | { op: "delete"; key: string };

const name = fc.constantFrom("a", "b", "c", "p:1", "p:2");
const field = fc.constantFrom("x", "y", "z", 'r["1"]', "é");
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("increment" as const),
    changes: fc.array(fc.record({ map: name, field, by: fc.integer({ min: -3, max: 9 }) }), { maxLength: 4 }),
  }),
  fc.record({ op: fc.constant("take" as const), from: name, to: name }),
  fc.record({ op: fc.constant("deleteMap" as const), map: name }),
  fc.record({ op: fc.constant("set" as const), key: name, value: fc.string({ maxLength: 5 }), ifAbsent: fc.boolean() }),
  fc.record({ op: fc.constant("delete" as const), key: name }),
);

class Model {
  maps = new Map<string, Map<string, number>>();
  values = new Map<string, string>();
  apply(o: Op): unknown {
    switch (o.op) {
      case "increment":
        for (const c of o.changes) {
          const m = this.maps.get(c.map) ?? new Map<string, number>();
          this.maps.set(c.map, m);
          m.set(c.field, (m.get(c.field) ?? 0) + c.by);
        }
        return undefined;
      case "take": {
        const m = this.maps.get(o.from);
        if (!m || this.maps.has(o.to)) return false;
        this.maps.delete(o.from);
        this.maps.set(o.to, m);
        return true;
      }
      case "deleteMap":
        this.maps.delete(o.map);
        return undefined;
      case "set":
        if (o.ifAbsent && this.values.has(o.key)) return false;
        this.values.set(o.key, o.value);
        return true;
      case "delete":
        this.values.delete(o.key);
        return undefined;
    }
  }
}

async function run(s: Store, o: Op): Promise<unknown> {
  switch (o.op) {
    case "increment":
      return s.increment(o.changes);
    case "take":
      return s.take(o.from, o.to);
    case "deleteMap":
      return s.deleteMap(o.map);
    case "set":
      return s.set(o.key, o.value, { ifAbsent: o.ifAbsent });
    case "delete":
      return s.delete(o.key);
  }
}

async function snapshot(s: Store): Promise<{ maps: Record<string, Record<string, number>>; values: Record<string, string> }> {
  const maps: Record<string, Record<string, number>> = {};
  for (const m of await s.maps("")) {
    const entries: Record<string, number> = {};
    for await (const [f, n] of s.entries(m)) entries[f] = n;
    maps[m] = entries;
  }
  const values: Record<string, string> = {};
  for (const k of ["a", "b", "c", "p:1", "p:2"]) {
    const v = await s.get(k);
    if (v !== undefined) values[k] = v;
  }
  return { maps, values };
}

function modelSnapshot(m: Model) {
  const maps: Record<string, Record<string, number>> = {};
  for (const [k, v] of [...m.maps].sort(([a], [b]) => (a < b ? -1 : 1))) maps[k] = Object.fromEntries(v);
  return { maps, values: Object.fromEntries(m.values) };
}

for (const k of storeKinds()) {
  describe.skipIf(!k.available)(`the ${k.kind} store against a model`, () => {
    afterAll(() => k.teardown());
    it("any sequence of operations gives the model's answers and state", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
          const store = await k.open();
          const model = new Model();
          try {
            for (const o of ops) expect(await run(store, o)).toEqual(model.apply(o));
            expect(await snapshot(store)).toEqual(modelSnapshot(model));
          } finally {
            await store.close();
          }
        }),
        { numRuns: k.kind === "memory" ? 300 : 60 },
      );
    });
  });
}
