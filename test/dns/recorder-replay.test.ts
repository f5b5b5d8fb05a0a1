import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DnsAnswer,
  FixtureResolver,
  loadZone,
  parseZone,
  parseZoneFile,
  RecordingResolver,
  type RecordType,
  type Resolver,
  ZoneError,
} from "../../src/dns/index.js";

type Query = { type: RecordType; name: string };

/** A resolver that answers from a table; anything not in it is NXDOMAIN. */
function tableResolver(table: Map<string, DnsAnswer<unknown>>): Resolver {
  const get = (type: RecordType, name: string) => async () => (table.get(`${type} ${name}`) ?? { kind: "nxdomain" }) as never;
  return {
    txt: (n) => get("TXT", n)(),
    a: (n) => get("A", n)(),
    aaaa: (n) => get("AAAA", n)(),
    mx: (n) => get("MX", n)(),
    ptr: (ip) => get("PTR", ip)(),
  };
}

function ask(r: Resolver, q: Query): Promise<DnsAnswer<unknown>> {
  switch (q.type) {
    case "TXT":
      return r.txt(q.name);
    case "A":
      return r.a(q.name);
    case "AAAA":
      return r.aaaa(q.name);
    case "MX":
      return r.mx(q.name);
    default:
      return r.ptr(q.name);
  }
}

/** Errors replay as ETIMEOUT: the kind is kept, not the reason. */
const comparable = (a: DnsAnswer<unknown>) => (a.kind === "error" ? { kind: "error" } : a);

const dir = await mkdtemp(join(tmpdir(), "msgauth-record-"));

async function roundTrip(table: Map<string, DnsAnswer<unknown>>, queries: Query[], ext: "yaml" | "json") {
  const recorder = new RecordingResolver(tableResolver(table));
  const live: DnsAnswer<unknown>[] = [];
  for (const q of queries) live.push(await ask(recorder, q));
  const file = join(dir, `z${Math.random().toString(36).slice(2)}.${ext}`);
  await recorder.save(file);
  const replay = new FixtureResolver(await loadZone(file));
  const replayed: DnsAnswer<unknown>[] = [];
  for (const q of queries) replayed.push(await ask(replay, q));
  return { live: live.map(comparable), replayed: replayed.map(comparable) };
}

describe("record then replay gives the same answers", () => {
  // Each case: answers live DNS gave, that the old recorder (NXDOMAIN names left out) replayed wrong.
  const table = new Map<string, DnsAnswer<unknown>>([
    ["TXT _dmarc.example.com", { kind: "ok", records: ["v=DMARC1; p=reject"] }],
    ["A example.com", { kind: "ok", records: ["192.0.2.1"] }],
    ["TXT example.com", { kind: "nodata" }],
    // NXDOMAIN for a name while a name below it answered: replayed as NODATA (empty non-terminal).
    ["TXT sub.example.org", { kind: "nxdomain" }],
    ["TXT sel._domainkey.sub.example.org", { kind: "ok", records: ["v=DKIM1; p="] }],
    // NXDOMAIN for one type, records for another (a changing zone): replayed as NODATA.
    ["A mixed.example.net", { kind: "ok", records: ["192.0.2.9"] }],
    ["TXT mixed.example.net", { kind: "nxdomain" }],
    ["MX mx.example.net", { kind: "ok", records: [{ priority: 10, exchange: "mail.example.net" }] }],
    ["TXT slow.example.net", { kind: "error", reason: "SERVFAIL" }],
    ["PTR 192.0.2.1", { kind: "ok", records: ["host.example.com"] }],
  ]);
  const queries: Query[] = [
    { type: "TXT", name: "_dmarc.example.com" },
    { type: "A", name: "example.com" },
    { type: "TXT", name: "example.com" },
    { type: "TXT", name: "sub.example.org" },
    { type: "TXT", name: "sel._domainkey.sub.example.org" },
    { type: "A", name: "mixed.example.net" },
    { type: "TXT", name: "mixed.example.net" },
    { type: "MX", name: "mx.example.net" },
    { type: "TXT", name: "slow.example.net" },
    { type: "PTR", name: "192.0.2.1" },
    { type: "PTR", name: "192.0.2.2" },
    { type: "A", name: "nowhere.invalid" },
  ];
  for (const ext of ["yaml", "json"] as const) {
    it(`answer by answer, through ${ext}`, async () => {
      const { live, replayed } = await roundTrip(table, queries, ext);
      for (const [i, q] of queries.entries()) expect([q, replayed[i]]).toEqual([q, live[i]]);
    });
  }

  it("writes NXDOMAIN answers into the file", async () => {
    const recorder = new RecordingResolver(tableResolver(table));
    for (const q of queries) await ask(recorder, q);
    const yaml = recorder.toYaml();
    expect(yaml).toContain('"nowhere.invalid":\n  nxdomain: true');
    expect(yaml).toContain('"mixed.example.net":\n  A:\n    - "192.0.2.9"\n  nxdomain:\n    - "TXT"');
  });

  it("holds for any recorded answers (property)", async () => {
    const names = ["example.com", "a.example.com", "b.a.example.com", "x.example.org", "example.org"];
    const types: RecordType[] = ["TXT", "A", "AAAA", "MX"];
    const answer = (type: RecordType): fc.Arbitrary<DnsAnswer<unknown>> =>
      fc.oneof(
        fc.constant({ kind: "nxdomain" as const }),
        fc.constant({ kind: "nodata" as const }),
        fc.constant({ kind: "error" as const, reason: "SERVFAIL" }),
        (type === "TXT"
          ? fc.array(fc.string(), { minLength: 1, maxLength: 3 })
          : type === "A"
            ? fc.array(fc.ipV4(), { minLength: 1, maxLength: 3 })
            : type === "AAAA"
              ? fc.constant(["2001:db8::1"])
              : fc.array(fc.record({ priority: fc.integer({ min: 0, max: 65535 }), exchange: fc.constantFrom("mx.example.com", "") }), {
                  minLength: 1,
                  maxLength: 2,
                })
        ).map((records) => ({ kind: "ok" as const, records })),
      );
    const entry = fc
      .tuple(fc.constantFrom(...names), fc.constantFrom(...types))
      .chain(([name, type]) => answer(type).map((a) => [`${type} ${name}`, a] as const));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(entry, { selector: ([k]) => k, maxLength: 12 }), async (entries) => {
        const t = new Map<string, DnsAnswer<unknown>>(entries);
        const qs = entries.map(([k]) => {
          const [type, name] = k.split(" ");
          return { type: type as RecordType, name: name! };
        });
        const { live, replayed } = await roundTrip(t, qs, "yaml");
        expect(replayed).toEqual(live);
      }),
      { numRuns: 60 },
    );
  });
});

describe("the nxdomain zone extension", () => {
  it("zone files: NXDOMAIN overrides the empty non-terminal; NXDOMAIN <types> for some types", async () => {
    const r = new FixtureResolver(
      parseZoneFile('$ORIGIN example.com.\nsub NXDOMAIN\nx.sub TXT "v=spf1 -all"\nhalf A 192.0.2.1\nhalf NXDOMAIN TXT\n'),
    );
    expect(await r.txt("sub.example.com")).toEqual({ kind: "nxdomain" });
    expect(await r.txt("x.sub.example.com")).toEqual({ kind: "ok", records: ["v=spf1 -all"] });
    expect(await r.txt("half.example.com")).toEqual({ kind: "nxdomain" });
    expect(await r.a("half.example.com")).toEqual({ kind: "ok", records: ["192.0.2.1"] });
    expect(await r.mx("half.example.com")).toEqual({ kind: "nodata" });
  });
  it("refuses NXDOMAIN for every type together with records, and unknown types", async () => {
    expect(() => parseZoneFile("a.example. NXDOMAIN\na.example. A 192.0.2.1\n")).toThrow(ZoneError);
    expect(() => parseZoneFile("a.example. NXDOMAIN SOA\n")).toThrow(/unknown type SOA/);
    await expect(parseZone("a.example: { nxdomain: true, A: 192.0.2.1 }", "yaml")).rejects.toThrow(/nxdomain: true holds no other data/);
    await expect(parseZone('{"a.example": {"nxdomain": ["SOA"]}}', "json")).rejects.toThrow(ZoneError);
  });
});
