// The MTA-STS policy cache (RFC 8461 5.1) fuzzed against a small model: any sequence of DNS
// changes, policy server changes and clock steps gives the lookup result and the fetches the model
// predicts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { MtaSts } from "../../src/mtasts/client.js";
import type { PolicyFetcher } from "../../src/mtasts/fetch.js";
import { MemoryStateStore } from "../../src/store/memory.js";

const POLICIES = [
  { mode: "enforce", mx: "a.example.com", maxAge: 100 },
  { mode: "testing", mx: "b.example.com", maxAge: 1000 },
  { mode: "enforce", mx: "c.example.com", maxAge: 0 },
  { mode: "none", mx: "", maxAge: 500 },
] as const;
const text = (i: number) => {
  const p = POLICIES[i]!;
  return `version: STSv1\nmode: ${p.mode}\n${p.mx ? `mx: ${p.mx}\n` : ""}max_age: ${p.maxAge}\n`;
};

type Event =
  | { kind: "txt"; value: "a" | "b" | "c" | "none" | "invalid" | "two" | "timeout" }
  | { kind: "server"; value: number | "down" | "html" }
  | { kind: "time"; seconds: number }
  | { kind: "lookup" };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({
    kind: fc.constant("txt" as const),
    value: fc.constantFrom(
      "a" as const,
      "b" as const,
      "c" as const,
      "none" as const,
      "invalid" as const,
      "two" as const,
      "timeout" as const,
    ),
  }),
  fc.record({
    kind: fc.constant("server" as const),
    value: fc.oneof(fc.integer({ min: 0, max: POLICIES.length - 1 }), fc.constantFrom("down" as const, "html" as const)),
  }),
  fc.record({ kind: fc.constant("time" as const), seconds: fc.integer({ min: 0, max: 1200 }) }),
  fc.record({ kind: fc.constant("lookup" as const) }),
);

describe("MtaSts against a model of RFC 8461 5.1", () => {
  it("any sequence of DNS, server and clock changes gives the model's results and fetches", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), async (events) => {
        const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.example.com": { TXT: "v=STSv1; id=a" } }));
        let serving: number | "down" | "html" = 0;
        let now = 1_700_000_000_000;
        let fetches = 0;
        const fetch: PolicyFetcher = async () => {
          fetches++;
          if (serving === "down") return { kind: "error", code: "network", reason: "down" };
          return {
            kind: "response",
            status: 200,
            contentType: serving === "html" ? "text/html" : "text/plain",
            body: new TextEncoder().encode(serving === "html" ? "<p>" : text(serving)),
          };
        };
        const sts = new MtaSts({
          resolver,
          fetch,
          store: new MemoryStateStore({ now: () => now }),
          now: () => now,
          retryAfterFailureMs: 0,
        });
        // the model
        let txt: string | undefined = "a";
        let cache: { id: string; policy: number; fetchedAt: number } | undefined;
        let modelFetches = 0;
        for (const e of events) {
          if (e.kind === "txt") {
            const records: Record<string, object> = {
              none: {},
              invalid: { TXT: "v=STSv1; id=bad-id!" },
              two: { TXT: ["v=STSv1; id=a", "v=STSv1; id=b"] },
              timeout: { timeout: true },
            };
            resolver.zone.set(
              "_mta-sts.example.com",
              zoneFromObject({ x: records[e.value] ?? { TXT: `v=STSv1; id=${e.value}` } }).get("x")!,
            );
            txt = ["a", "b", "c"].includes(e.value) ? e.value : undefined;
          } else if (e.kind === "server") serving = e.value;
          else if (e.kind === "time") now += e.seconds * 1000;
          else {
            const live = cache && now < cache.fetchedAt + POLICIES[cache.policy]!.maxAge * 1000 ? cache : undefined;
            let expected: { id: string; policy: number } | undefined;
            if (txt === undefined || (live && live.id === txt)) expected = live;
            else {
              modelFetches++;
              if (typeof serving === "number") {
                expected = { id: txt, policy: serving };
                // a new policy replaces the cached one; with max_age 0 nothing stays cached
                cache = POLICIES[serving]!.maxAge > 0 ? { id: txt, policy: serving, fetchedAt: now } : undefined;
              } else expected = live;
            }
            const r = await sts.policy("example.com");
            if (expected === undefined) expect(r.kind).toBe("none");
            else expect(r).toMatchObject({ kind: "policy", id: expected.id, policy: { mode: POLICIES[expected.policy]!.mode } });
            expect(fetches).toBe(modelFetches);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
