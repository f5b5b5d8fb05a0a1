import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver, type Resolver, zoneFromObject } from "../../src/dns/index.js";
import { checkSpf, type MacroPart, parseSpfRecord, type SpfResult } from "../../src/spf/index.js";

// check_host's include and redirect recursion runs on a stack in one async function, and the include
// targets written without macros are worked out once per parsed record (issue 19). This holds the
// result, the matched term, the explanation and the lookup counts to check_host written as the RFC
// reads, recursively, over random zones of includes, redirects, loops, missing and failing records.

const IP = [192, 0, 2, 1];
const MAX_LOOKUPS = 10;
const MAX_VOIDS = 2;

class Stop {
  constructor(readonly result: "temperror" | "permerror") {}
}

interface RefOutcome {
  result: string;
  mechanism?: string;
  explanation?: string;
}

const QUALIFIER: Record<string, string> = { "+": "pass", "-": "fail", "~": "softfail", "?": "neutral" };

/** The text of a domain-spec written without macros (the zones below hold no macro). */
function literal(parts: MacroPart[]): string {
  return parts.map((p) => (p.kind === "literal" ? p.text : "?")).join("");
}

/** A name as check_host takes it (4.3): lower case, no trailing dot, two labels at least. */
function hostName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, "");
  const labels = n.split(".");
  return labels.length >= 2 && labels.every((l) => l.length > 0 && l.length <= 63) ? n : undefined;
}

function inPrefix(text: string, bits: number): boolean {
  const b = text.split(".").map(Number);
  if (b.length !== 4) return false;
  for (let i = 0; i < 32 && i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((b[byte]! & mask) !== (IP[byte]! & mask)) return false;
  }
  return true;
}

/** check_host() (RFC 7208 4, 5, 6), recursive, written from the RFC for this test. */
async function reference(resolver: Resolver, domain: string): Promise<RefOutcome & { lookups: number; voids: number }> {
  let lookups = 0;
  let voids = 0;
  const count = () => {
    if (++lookups > MAX_LOOKUPS) throw new Stop("permerror");
  };
  const countVoid = () => {
    if (++voids > MAX_VOIDS) throw new Stop("permerror");
  };
  const explain = async (name: string): Promise<string | undefined> => {
    const n = hostName(name);
    if (n === undefined) return undefined;
    const a = await resolver.txt(n);
    return a.kind === "ok" && a.records.length === 1 ? a.records[0] : undefined;
  };
  const host = async (name: string, top: boolean): Promise<RefOutcome> => {
    const d = hostName(name);
    if (d === undefined) return { result: "none" };
    const answer = await resolver.txt(d);
    if (answer.kind === "error") return { result: "temperror" };
    if (answer.kind !== "ok") return { result: "none" };
    const spf = answer.records.filter((r) => /^v=spf1( |$)/i.test(r));
    if (spf.length === 0) return { result: "none" };
    if (spf.length > 1) return { result: "permerror" };
    const parsed = parseSpfRecord(spf[0]!);
    if (!parsed.ok) return { result: "permerror" };
    const record = parsed.record;
    for (const dir of record.directives) {
      const m = dir.mechanism;
      let hit = false;
      if (m.type === "all") hit = true;
      else if (m.type === "ip4") hit = inPrefix([...m.network].join("."), m.cidr);
      else if (m.type === "ip6") hit = false;
      else if (m.type === "include") {
        count();
        const inner = await host(literal(m.domain), false);
        if (inner.result === "temperror" || inner.result === "permerror") throw new Stop(inner.result);
        if (inner.result === "none") throw new Stop("permerror");
        hit = inner.result === "pass";
      } else if (m.type === "a" || m.type === "exists") {
        count();
        const target = hostName(m.domain ? literal(m.domain) : d)!;
        const a = await resolver.a(target);
        if (a.kind === "error") throw new Stop("temperror");
        if (a.kind !== "ok") countVoid();
        else hit = m.type === "exists" || a.records.some((r) => inPrefix(r, m.cidr4));
      } else throw new Error(`not in these zones: ${m.type}`);
      if (!hit) continue;
      const result = QUALIFIER[dir.qualifier]!;
      if (!top) return { result };
      const out: RefOutcome = { result, mechanism: dir.text };
      if (result === "fail" && record.exp) {
        const e = await explain(literal(record.exp));
        if (e !== undefined) out.explanation = e;
      }
      return out;
    }
    if (record.redirect && !record.hasAll) {
      count();
      const inner = await host(literal(record.redirect), top);
      return inner.result === "none" ? { result: "permerror" } : inner;
    }
    return { result: "neutral", mechanism: "default" };
  };
  try {
    return { ...(await host(domain, true)), lookups, voids };
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return { result: err.result, lookups, voids };
  }
}

const NAMES = ["n0.example", "n1.example", "n2.example", "n3.example"];
const name = fc.constantFrom(...NAMES, "N1.EXAMPLE", "n2.example.", "nx.example", "err.example", "txt.example");
const term = fc.oneof(
  { weight: 4, arbitrary: name.map((n) => `include:${n}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("-", "~", "?", ""), name).map(([q, n]) => `${q}include:${n}`) },
  { weight: 2, arbitrary: name.map((n) => `redirect=${n}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("", "-"), name, fc.constantFrom("", "/24")).map(([q, n, c]) => `${q}a:${n}${c}`) },
  { weight: 1, arbitrary: fc.constantFrom("a", "-a", "a/24", "exists:n0.example", "exists:nx.example", "-exists:n3.example") },
  { weight: 2, arbitrary: fc.constantFrom("ip4:192.0.2.1", "-ip4:192.0.2.0/24", "~ip4:198.51.100.0/24", "ip6:2001:db8::/32") },
  { weight: 2, arbitrary: fc.constantFrom("all", "-all", "~all", "?all", "+all") },
  { weight: 1, arbitrary: fc.constantFrom("exp=why.example", "exp=nx.example", "exp=err.example", "include:", "x=y") },
);
const txt = fc.oneof(
  { weight: 8, arbitrary: fc.array(term, { maxLength: 5 }).map((t) => [`v=spf1 ${t.join(" ")}`]) },
  { weight: 1, arbitrary: fc.constant(["v=spf1 -all", "v=spf1 +all"]) },
  { weight: 1, arbitrary: fc.constant(["not spf"]) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const address = fc.constantFrom(["192.0.2.1"], ["198.51.100.9"], ["192.0.2.200"], undefined);
const zone = fc.tuple(fc.array(txt, { minLength: 4, maxLength: 4 }), fc.array(address, { minLength: 4, maxLength: 4 }));

function resolverOf([txts, addresses]: [(readonly string[] | undefined)[], (readonly string[] | undefined)[]]): Resolver {
  const z: Record<string, unknown> = {
    "why.example": { TXT: "not allowed" },
    "err.example": { timeout: true },
    "txt.example": { TXT: "hello", A: "192.0.2.1" },
  };
  NAMES.forEach((n, i) => {
    const entry: Record<string, unknown> = {};
    if (txts[i]) entry.TXT = txts[i];
    if (addresses[i]) entry.A = addresses[i];
    z[n] = entry;
  });
  return new FixtureResolver(zoneFromObject(z));
}

const seen = (r: SpfResult) => ({
  result: r.result,
  ...(r.mechanism !== undefined ? { mechanism: r.mechanism } : {}),
  ...(r.explanation !== undefined ? { explanation: r.explanation } : {}),
  lookups: r.lookups,
  voids: r.voidLookups,
});

describe("check_host on a stack decides as check_host written recursively", () => {
  it("the same result, term, explanation and counts, for random zones", async () => {
    const results = new Set<string>();
    await fc.assert(
      fc.asyncProperty(zone, async (z) => {
        const resolver = resolverOf(z);
        const want = await reference(resolver, "n0.example");
        results.add(want.result);
        // The client as a dotted quad (read as a number) and IPv4-mapped (parsed into bytes).
        for (const ip of ["192.0.2.1", "::ffff:192.0.2.1"]) {
          const got = await checkSpf({ ip, mailFrom: "a@n0.example", helo: "h.example" }, { resolver, prefetch: false });
          expect(seen(got)).toEqual(want);
        }
      }),
      { numRuns: 3000 },
    );
    // The zones reach every result (a property that only ever saw "none" would prove nothing).
    expect([...results].sort()).toEqual(["fail", "neutral", "none", "pass", "permerror", "softfail", "temperror"]);
  });

  it("a record reached twice (its plan made once) decides each time as the first", async () => {
    const resolver = new FixtureResolver(
      zoneFromObject({
        "n0.example": { TXT: "v=spf1 include:n1.example include:n1.example -all" },
        "n1.example": { TXT: "v=spf1 -ip4:192.0.2.0/24 include:n2.example" },
        "n2.example": { TXT: "v=spf1 ip4:192.0.2.1 -all" },
      }),
    );
    for (let i = 0; i < 3; i++) {
      const r = await checkSpf({ ip: "192.0.2.1", mailFrom: "a@n0.example" }, { resolver });
      expect(seen(r)).toEqual(await reference(resolver, "n0.example"));
      expect(r).toMatchObject({ result: "fail", mechanism: "-all", lookups: 2 });
    }
  });
});
