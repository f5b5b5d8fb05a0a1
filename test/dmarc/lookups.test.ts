import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DmarcLookups, treeWalkTargets } from "../../src/dmarc/index.js";
import { BudgetedResolver, FixtureResolver, type Resolver, zoneFromObject } from "../../src/dns/index.js";

// DmarcLookups keeps a record read by settled() (a name sent ahead, answered already) without making
// a promise for it, and the last tree walk's names: record(), prefetch() and walkTargets() must behave
// as if each had been made the general way.

const zone = zoneFromObject({
  "_dmarc.example.org": { TXT: "v=DMARC1; p=reject" },
  "_dmarc.org": { TXT: "v=DMARC1; p=none; psd=y" },
});

/** Sent names logged, as the network would see them. */
function logging(inner: Resolver, sent: string[]): Resolver {
  const log = <T>(n: string, answer: T): T => {
    sent.push(n);
    return answer;
  };
  return {
    txt: (n) => log(n, inner.txt(n)),
    a: (n) => log(n, inner.a(n)),
    aaaa: (n) => log(n, inner.aaaa(n)),
    mx: (n) => log(n, inner.mx(n)),
    ptr: (n) => log(n, inner.ptr(n)),
  };
}

describe("DmarcLookups: a record read by settled()", () => {
  it("is what record() resolves to afterwards, counted and sent once, and never sent ahead again", async () => {
    const sent: string[] = [];
    const resolver = new BudgetedResolver(logging(new FixtureResolver(zone), sent));
    const lookups = new DmarcLookups(resolver);
    lookups.prefetch(["example.org", "org"]);
    await new Promise((r) => setImmediate(r)); // the answers arrive
    const read = lookups.settled("org");
    expect(read).toMatchObject({ kind: "record", domain: "org" });
    expect(lookups.queries).toBe(1);
    lookups.prefetch(["org"]); // already read: nothing sent
    await new Promise((r) => setImmediate(r));
    expect(await lookups.record("org")).toBe(read);
    expect(lookups.settled("org")).toBe(read);
    expect(lookups.queries).toBe(1);
    expect(sent.filter((n) => n === "_dmarc.org")).toEqual(["_dmarc.org"]);
    // The other name sent ahead is still claimed by record(), counted then.
    expect(await lookups.record("example.org")).toMatchObject({ kind: "record", domain: "example.org" });
    expect(lookups.queries).toBe(2);
    lookups.close();
    expect(resolver.queries).toBe(2);
    expect(resolver.speculative).toBe(0);
  });

  it("takes a BudgetedResolver as it is, and still guards a subclass of it or a Proxy that throws", async () => {
    const inner = new FixtureResolver(zone);
    const budgeted = new BudgetedResolver(inner);
    expect(await new DmarcLookups(budgeted).record("example.org")).toMatchObject({ kind: "record" });
    // A subclass may override a method: its answers are validated (a malformed one is an error).
    class Odd extends BudgetedResolver {
      override txt(): never {
        return Promise.resolve({ kind: "ok", records: "v=DMARC1; p=none" }) as never;
      }
    }
    expect(await new DmarcLookups(new Odd(inner)).record("example.org")).toMatchObject({ kind: "error" });
    const proxy = new Proxy(inner, {
      getPrototypeOf() {
        throw new Error("no prototype");
      },
    });
    expect(await new DmarcLookups(proxy).record("example.org")).toMatchObject({ kind: "record" });
  });

  it("walkTargets(domain) is treeWalkTargets(domain), whatever was asked before", () => {
    const label = fc.constantFrom("a", "b", "mail", "example", "org", "co", "uk", "x-y");
    const domain = fc.array(label, { minLength: 1, maxLength: 10 }).map((l) => l.join("."));
    fc.assert(
      fc.property(fc.array(domain, { minLength: 1, maxLength: 6 }), (domains) => {
        const lookups = new DmarcLookups(new FixtureResolver(zone));
        for (const d of domains) expect(lookups.walkTargets(d)).toEqual(treeWalkTargets(d));
      }),
      { numRuns: 300 },
    );
  });
});
