import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DkimResult } from "../../src/dkim/index.js";
import { OrgDomains, settledTreeWalk, treeWalk } from "../../src/dmarc/discover.js";
import { checkDmarc, DmarcLookups, parseDmarcRecord, selectOrgDomain, treeWalkTargets } from "../../src/dmarc/index.js";
import type { DmarcRecord } from "../../src/dmarc/record.js";
import { FixtureResolver, type Resolver, zoneFromObject } from "../../src/dns/index.js";
import type { AuthorResult } from "../../src/message/index.js";
import type { SpfResult } from "../../src/spf/index.js";
import { RoundTripResolver } from "../helpers/round-trips.js";

// The shortcuts taken for speed in DMARC (issue 19) decide exactly what the general path decides.

/** The split-and-join forms these functions had before (the reference). */
function referenceTargets(domain: string): string[] {
  const labels = domain.split(".");
  const targets = [domain];
  let x = labels.length;
  x = x >= 8 ? 7 : x - 1;
  while (x >= 1) {
    targets.push(labels.slice(labels.length - x).join("."));
    x--;
  }
  return targets;
}
function referenceFewest(found: Array<{ domain: string }>): string {
  let fewest = found[0]!.domain;
  for (const { domain } of found) if (domain.split(".").length < fewest.split(".").length) fewest = domain;
  return fewest;
}

const label = fc.constantFrom("", "a", "bb", "example", "co", "uk", "x-y", "0");
const name = fc.array(label, { minLength: 1, maxLength: 12 }).map((ls) => ls.join("."));

describe("tree walk names without label arrays", () => {
  it("treeWalkTargets gives the split-and-join names, empty labels and long names included", () => {
    fc.assert(
      fc.property(name, (d) => {
        expect(treeWalkTargets(d)).toEqual(referenceTargets(d));
      }),
      { numRuns: 2000 },
    );
  });

  it("selectOrgDomain picks the record with the fewest labels (the first of equals) as before", () => {
    const record = { psd: "u" } as DmarcRecord;
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 8 }), (names) => {
        const found = names.map((domain) => ({ domain, record }));
        expect(selectOrgDomain("start.example", found)).toBe(referenceFewest(found));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("parsed DMARC records are cached by text", () => {
  it("the same text gives the same parse, frozen throughout so no caller can change the next one's", () => {
    const text = "v=DMARC1; p=reject; rua=mailto:a@x.example!10m, bogus; fo=1:d";
    const a = parseDmarcRecord(text);
    const b = parseDmarcRecord(text);
    expect(b).toBe(a);
    if (!a.ok) throw new Error("expected a record");
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.record)).toBe(true);
    expect(Object.isFrozen(a.record.rua)).toBe(true);
    expect(Object.isFrozen(a.record.rua[0])).toBe(true);
    expect(Object.isFrozen(a.record.warnings)).toBe(true);
    expect(() => {
      (a.record as { p?: string }).p = "none";
    }).toThrow(TypeError);
    expect(() => (a.record.fo as string[]).push("s")).toThrow(TypeError);
    expect(parseDmarcRecord(text)).toMatchObject({ ok: true, record: { p: "reject", fo: ["1", "d"] } });
  });

  it("a record too long to cache parses the same each time, frozen as well", () => {
    const text = `v=DMARC1; p=quarantine; rua=${Array.from({ length: 120 }, (_, i) => `mailto:r${i}@long.example`).join(",")}`;
    expect(text.length).toBeGreaterThan(2048);
    const a = parseDmarcRecord(text);
    const b = parseDmarcRecord(text);
    expect(b).toEqual(a);
    expect(a.ok && Object.isFrozen(a.record.rua)).toBe(true);
  });

  it("a result's record is the shared frozen one: changing it throws instead of changing the next result", async () => {
    const resolver = new FixtureResolver(zoneFromObject({ "_dmarc.frozen.example": { TXT: "v=DMARC1; p=reject" } }));
    const author = authorOf("frozen.example");
    const first = await checkDmarc({ author, dkim: [] }, { resolver });
    expect(() => {
      (first.record as { p?: string }).p = "none";
    }).toThrow(TypeError);
    const second = await checkDmarc({ author, dkim: [] }, { resolver });
    expect(second).toMatchObject({ result: "fail", policy: "reject" });
  });
});

/** One From with one mailbox at `domain`. */
function authorOf(domain: string): AuthorResult {
  return { ok: true, domain, mailbox: { local: "a", domain, address: `a@${domain}` } };
}

/** A resolver that records each query it is sent. */
function logging(inner: Resolver, sent: string[]): Resolver {
  const log = <T>(entry: string, answer: T): T => {
    sent.push(entry);
    return answer;
  };
  return {
    txt: (n) => log(`TXT ${n}`, inner.txt(n)),
    a: (n) => log(`A ${n}`, inner.a(n)),
    aaaa: (n) => log(`AAAA ${n}`, inner.aaaa(n)),
    mx: (n) => log(`MX ${n}`, inner.mx(n)),
    ptr: (n) => log(`PTR ${n}`, inner.ptr(n)),
  };
}

describe("tree walk names are sent ahead only when answers wait for I/O", () => {
  it("from memory, a walk sends the sequential walk's queries only (none above where it stops)", async () => {
    const zone = zoneFromObject({
      "_dmarc.example.org": { TXT: "v=DMARC1; p=reject; psd=n" },
      "_dmarc.org": { TXT: "v=DMARC1; p=none; psd=y" },
    });
    const sent: string[] = [];
    const author = authorOf("x.y.example.org");
    const r = await checkDmarc({ author, dkim: [] }, { resolver: logging(new FixtureResolver(zone), sent) });
    expect(r).toMatchObject({ result: "fail", policyDomain: "example.org", orgDomain: "example.org", policy: "reject" });
    expect(sent).toEqual(["TXT _dmarc.x.y.example.org", "TXT _dmarc.y.example.org", "TXT _dmarc.example.org"]);
  });

  it("with and without sending ahead, the same result over generated record trees", async () => {
    // A five-label From domain, a record (or none) at each level, SPF and DKIM identifiers along the tree.
    const levels = ["a.b.c.d.test", "b.c.d.test", "c.d.test", "d.test", "test"];
    const recordText = fc.oneof(
      fc.constant(undefined),
      fc
        .record({
          p: fc.constantFrom("none", "quarantine", "reject", "bogus"),
          psd: fc.constantFrom("", "; psd=y", "; psd=n", "; psd=u"),
          sp: fc.constantFrom("", "; sp=reject", "; sp=none"),
          a: fc.constantFrom("", "; adkim=s", "; aspf=s"),
        })
        .map((x) => `v=DMARC1; p=${x.p}${x.psd}${x.sp}${x.a}`),
    );
    const identifier = fc.constantFrom(...levels, "other.example", "x.c.d.test");
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordText, { minLength: 5, maxLength: 5 }),
        fc.constantFrom(...levels.slice(0, 3)),
        identifier,
        identifier,
        fc.constantFrom<SpfResult["result"]>("pass", "fail", "temperror"),
        async (texts, from, spfDomain, dkimDomain, spfResult) => {
          const zone: Record<string, { TXT: string }> = {};
          texts.forEach((t, i) => {
            if (t !== undefined) zone[`_dmarc.${levels[i]}`] = { TXT: t };
          });
          const author = authorOf(from);
          const spf = { result: spfResult, domain: spfDomain } as SpfResult;
          const dkim = [{ result: "pass", domain: dkimDomain, selector: "s" } as DkimResult];
          const memory = await checkDmarc({ author, spf, dkim }, { resolver: new FixtureResolver(zoneFromObject(zone)) });
          const network = new RoundTripResolver(new FixtureResolver(zoneFromObject(zone)));
          const ahead = await network.run(() => checkDmarc({ author, spf, dkim }, { resolver: network }));
          expect(ahead).toEqual(memory);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("records already settled are read without an await", () => {
  const levels = ["a.b.c.d.test", "b.c.d.test", "c.d.test", "d.test", "test"];
  /** The zone's resolver, answering an error (a failed lookup) at the names in `failing`. */
  function failingAt(zone: Record<string, { TXT: string }>, failing: ReadonlySet<string>): Resolver {
    const inner = new FixtureResolver(zoneFromObject(zone));
    return {
      txt: (n) => (failing.has(n) ? Promise.resolve({ kind: "error", reason: "SERVFAIL" }) : inner.txt(n)),
      a: (n) => inner.a(n),
      aaaa: (n) => inner.aaaa(n),
      mx: (n) => inner.mx(n),
      ptr: (n) => inner.ptr(n),
    };
  }

  it("settled() is undefined until record() resolves, then the very object it resolved to", async () => {
    const lookups = new DmarcLookups(new FixtureResolver(zoneFromObject({ "_dmarc.example.org": { TXT: "v=DMARC1; p=none" } })));
    const p = lookups.record("example.org");
    expect(lookups.settled("example.org")).toBeUndefined();
    const r = await p;
    expect(lookups.settled("example.org")).toBe(r);
    expect(lookups.settled("other.example")).toBeUndefined();
  });

  it("checkDmarc with records settled beforehand (as authenticate() asks for them) decides as with none", async () => {
    const recordText = fc.oneof(
      fc.constant(undefined),
      fc
        .record({
          p: fc.constantFrom("none", "quarantine", "reject", "bogus"),
          psd: fc.constantFrom("", "; psd=y", "; psd=n"),
          sp: fc.constantFrom("", "; sp=reject"),
          a: fc.constantFrom("", "; adkim=s", "; aspf=s"),
        })
        .map((x) => `v=DMARC1; p=${x.p}${x.psd}${x.sp}${x.a}`),
    );
    const identifier = fc.constantFrom(...levels, "other.example", "x.c.d.test");
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordText, { minLength: 5, maxLength: 5 }),
        fc.subarray(levels),
        fc.constantFrom(...levels.slice(0, 3)),
        identifier,
        identifier,
        fc.subarray(levels),
        async (texts, failing, from, spfDomain, dkimDomain, settledFirst) => {
          const zone: Record<string, { TXT: string }> = {};
          texts.forEach((t, i) => {
            if (t !== undefined) zone[`_dmarc.${levels[i]}`] = { TXT: t };
          });
          const fails = new Set(failing.map((d) => `_dmarc.${d}`));
          const author = authorOf(from);
          const spf = { result: "pass", domain: spfDomain } as SpfResult;
          const dkim = [{ result: "pass", domain: dkimDomain, selector: "s" } as DkimResult];
          const fresh = await checkDmarc({ author, spf, dkim }, { resolver: failingAt(zone, fails) });
          const lookups = new DmarcLookups(failingAt(zone, fails));
          await Promise.all([from, ...settledFirst].map((d) => lookups.record(d)));
          const early = await checkDmarc({ author, spf, dkim }, { resolver: failingAt(zone, fails), lookups });
          expect(early).toEqual(fresh);
          expect(JSON.stringify(early)).toBe(JSON.stringify(fresh)); // the same keys in the same order
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("an organizational domain whose walk has settled is decided without an await", () => {
  const levels = ["a.b.c.d.test", "b.c.d.test", "c.d.test", "d.test", "test"];
  it("settledTreeWalk gives treeWalk's result when every record it reads has settled, else undefined with nothing sent", async () => {
    const recordText = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        "v=DMARC1; p=none",
        "v=DMARC1; p=reject; psd=y",
        "v=DMARC1; p=none; psd=n",
        "v=DMARC1; p=bogus",
        "v=DMARC1; p=reject; psd=u",
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordText, { minLength: 5, maxLength: 5 }),
        fc.subarray(levels),
        fc.constantFrom(...levels),
        fc.subarray(levels),
        async (texts, failing, from, settledFirst) => {
          const zone: Record<string, { TXT: string }> = {};
          texts.forEach((t, i) => {
            if (t !== undefined) zone[`_dmarc.${levels[i]}`] = { TXT: t };
          });
          const fails = new Set(failing.map((d) => `_dmarc.${d}`));
          const resolverOf = (sent: string[]): Resolver => {
            const inner = new FixtureResolver(zoneFromObject(zone));
            return logging(
              {
                txt: (n) => (fails.has(n) ? Promise.resolve({ kind: "error", reason: "SERVFAIL" }) : inner.txt(n)),
                a: (n) => inner.a(n),
                aaaa: (n) => inner.aaaa(n),
                mx: (n) => inner.mx(n),
                ptr: (n) => inner.ptr(n),
              },
              sent,
            );
          };
          const sent: string[] = [];
          const lookups = new DmarcLookups(resolverOf(sent));
          await Promise.all(settledFirst.map((d) => lookups.record(d)));
          const before = sent.length;
          const walk = settledTreeWalk(lookups, from);
          const expected = await treeWalk(new DmarcLookups(resolverOf([])), from);
          if (walk === undefined) {
            expect(sent.length).toBe(before);
            // It could not have been decided: a record the walk reads had not settled.
            expect(levels.slice(levels.indexOf(from)).some((d) => lookups.settled(d) === undefined)).toBe(true);
          } else {
            expect(walk).toEqual(expected);
            expect(JSON.stringify(walk)).toBe(JSON.stringify(expected));
          }
          // OrgDomains: settledOf, then of(), agree with a fresh of().
          const orgs = new OrgDomains("rfc9989", lookups);
          const now = orgs.settledOf(from);
          const later = await orgs.of(from);
          const fresh = await new OrgDomains("rfc9989", new DmarcLookups(resolverOf([]))).of(from);
          expect(later).toEqual(fresh);
          if (now !== undefined) expect(now).toEqual(fresh);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("under rfc7489 the PSL's answer, as of() gives it", async () => {
    const lookups = new DmarcLookups(new FixtureResolver(zoneFromObject({})));
    const orgs = new OrgDomains("rfc7489", lookups);
    expect(orgs.settledOf("mail.example.co.uk")).toEqual(await new OrgDomains("rfc7489", lookups).of("mail.example.co.uk"));
    expect(await orgs.of("mail.example.co.uk")).toEqual({ org: "example.co.uk" });
  });
});
