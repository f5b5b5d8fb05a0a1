import { describe, expect, it } from "vitest";
import {
  BudgetedResolver,
  checkDmarc,
  checkIprev,
  checkSpf,
  FixtureResolver,
  parseAuthor,
  type Resolver,
  splitMessage,
  verifyDkim,
  zoneFromObject,
} from "../../src/index.js";
import { fixture } from "../helpers/keys.js";

// A BudgetedResolver guards every answer, so the protocol functions take one as it is, known by its
// prototype. Red team: a method set on an instance (`b.txt = ...`) or a Proxy claiming the prototype
// reached SPF, DKIM, iprev and DMARC unguarded, and malformed answers threw TypeErrors out of them.
const inner = new FixtureResolver(
  zoneFromObject({ "example.com": { TXT: ["v=spf1 -all", "v=DMARC1; p=reject"] }, "_dmarc.example.com": { TXT: "v=DMARC1; p=reject" } }),
);
const garbage = () => Promise.resolve({ kind: "ok", records: [42, null, {}] });
const message = fixture("messages/sample.eml");
const envelope = { ip: "192.0.2.1", helo: "h.example.com", mailFrom: "a@example.com" };

/** Every public check that takes a resolver, each reduced to its verdict words. */
async function verdicts(resolver: Resolver): Promise<string[]> {
  const parsed = splitMessage(message);
  const author = parseAuthor(parsed.headers, parsed);
  const spf = await checkSpf(envelope, { resolver });
  const iprev = await checkIprev(envelope.ip, { resolver });
  const dkim = await verifyDkim(message, { resolver });
  const dmarc = await checkDmarc({ author, spf: { ...spf, result: "pass", domain: "example.com" }, dkim: [] }, { resolver });
  return [spf.result, iprev.result, ...dkim.map((d) => d.result), dmarc.result];
}

describe("a resolver that only claims to be a BudgetedResolver is guarded like any other", () => {
  it("an instance's methods cannot be shadowed: setting one throws (strict mode), defining one too", () => {
    const b = new BudgetedResolver(inner, { maxQueries: 50 });
    expect(Object.isExtensible(b)).toBe(false);
    expect(() => {
      (b as unknown as Record<string, unknown>).txt = garbage;
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(b, "ptr", { value: garbage })).toThrow(TypeError);
    expect(() => Object.setPrototypeOf(b, {})).toThrow(TypeError);
    // Its own counters cannot become getters either (red team round 3: a throwing `queries` getter).
    expect(() => Object.defineProperty(b, "queries", { get: () => 0 })).toThrow(TypeError);
    expect(b.txt).toBe(BudgetedResolver.prototype.txt);
  });

  it("an instance made for another new.target, or a subclass's given the prototype afterwards: guarded, no throw, no hang", async () => {
    const evil = (r: BudgetedResolver, txt: () => unknown) => {
      Object.defineProperty(r, "txt", { value: txt });
      Object.defineProperty(r, "ptr", { value: garbage });
      Object.defineProperty(r, "queries", {
        get: () => {
          throw new Error("evil queries");
        },
      });
      return r;
    };
    function Other() {}
    Other.prototype = BudgetedResolver.prototype;
    const made = () => [
      Reflect.construct(BudgetedResolver, [inner, { maxQueries: 50 }], Other) as BudgetedResolver,
      Object.setPrototypeOf(
        new (class Sub extends BudgetedResolver {})(inner, { maxQueries: 50 }),
        BudgetedResolver.prototype,
      ) as BudgetedResolver,
    ];
    for (const r of made()) {
      expect(Object.getPrototypeOf(r)).toBe(BudgetedResolver.prototype);
      const words = await verdicts(evil(r, garbage));
      expect(words[0]).toBe("temperror");
      expect(words[1]).toBe("temperror");
      expect(words.at(-1)).toBe("temperror");
    }
    for (const r of made()) {
      // A TXT answer that never comes: the check's own time budget ends it.
      const started = Date.now();
      const spf = await checkSpf(envelope, { resolver: evil(r, () => new Promise(() => {})), timeBudgetMs: 300 });
      expect(spf.result).toBe("temperror");
      expect(Date.now() - started).toBeLessThan(300 + 5000);
    }
  });

  it("a subclass may still add fields and override methods (it is then guarded as any resolver)", async () => {
    class Counting extends BudgetedResolver {
      seen = 0;
      override txt(_name: string) {
        this.seen++;
        return garbage() as never;
      }
    }
    const c = new Counting(inner, { maxQueries: 50 });
    const words = await verdicts(c);
    expect(c.seen).toBeGreaterThan(0);
    expect(words[0]).toBe("temperror"); // SPF: the garbage TXT answer is an error answer
    expect(words.at(-1)).toBe("temperror"); // DMARC: so is the record lookup
  });

  it("a Proxy claiming BudgetedResolver's prototype, answering garbage: verdicts, no throw", async () => {
    const target = {
      txt: garbage,
      a: garbage,
      aaaa: garbage,
      mx: garbage,
      ptr: garbage,
    };
    const liar = new Proxy(target, { getPrototypeOf: () => BudgetedResolver.prototype }) as unknown as Resolver;
    expect(liar instanceof BudgetedResolver).toBe(true);
    const words = await verdicts(liar);
    expect(words[0]).toBe("temperror");
    expect(words[1]).toBe("temperror");
    expect(words.at(-1)).toBe("temperror");
    expect(words).not.toContain("pass");
  });

  it("a Proxy of a real BudgetedResolver whose get trap swaps a method: guarded, no throw", async () => {
    const real = new BudgetedResolver(inner, { maxQueries: 50 });
    const swapped = new Proxy(real, {
      get: (t, k) => (k === "txt" || k === "ptr" ? garbage : Reflect.get(t, k, t)),
    }) as unknown as Resolver;
    const words = await verdicts(swapped);
    expect(words[0]).toBe("temperror");
    expect(words.at(-1)).toBe("temperror");
  });
});
