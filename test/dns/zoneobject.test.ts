import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FixtureResolver, loadZone, parseZone, ZoneError, zoneFromObject, zoneToYaml } from "../../src/dns/index.js";

const YAML = `# a fixture zone
example.org:
  TXT:
    - "v=spf1 mx -all"
    - ["two ", "chunks"]
  MX: [[10, mx.example.org.], "20 mx2.example.org", { priority: 30, exchange: mx3.example.org }]
mx.example.org:
  A: 192.0.2.1
alias.example.org: { CNAME: example.org }
empty.example.org: {}
dead.example.org: { timeout: true }
null-mx.example.net:
  MX: [[0, "."]]
`;

describe("YAML and JSON zones", () => {
  it("reads every record form", async () => {
    const r = new FixtureResolver(await parseZone(YAML, "yaml", "z.yaml"));
    expect(await r.txt("example.org")).toEqual({ kind: "ok", records: ["v=spf1 mx -all", "two chunks"] });
    expect(await r.mx("alias.example.org")).toEqual({
      kind: "ok",
      records: [
        { priority: 10, exchange: "mx.example.org" },
        { priority: 20, exchange: "mx2.example.org" },
        { priority: 30, exchange: "mx3.example.org" },
      ],
    });
    expect(await r.a("mx.example.org")).toEqual({ kind: "ok", records: ["192.0.2.1"] });
    expect(await r.txt("empty.example.org")).toEqual({ kind: "nodata" });
    expect(await r.a("dead.example.org")).toEqual({ kind: "error", reason: "ETIMEOUT" });
    expect(await r.mx("null-mx.example.net")).toEqual({ kind: "ok", records: [{ priority: 0, exchange: "" }] });
  });

  it("writes YAML that reads back to the same zone", async () => {
    const zone = await parseZone(YAML, "yaml");
    expect(await parseZone(zoneToYaml(zone), "yaml")).toEqual(zone);
  });

  const bad: Array<[string, string, "yaml" | "json", number | undefined, RegExp]> = [
    ["a bad IPv4 address names its line", "a.example:\n  TXT: x\n  A: [192.0.2.1, 1.2.3]\n", "yaml", 3, /IPv4/],
    ["an unknown key is refused", "a.example:\n  TXTX: x\n", "yaml", 2, /TXTX|unrecognized/i],
    ["a CNAME beside data is refused", "a.example: { CNAME: b.example, A: 192.0.2.1 }\n", "yaml", 1, /CNAME/],
    ["YAML syntax errors name the line", "a.example:\n  TXT: a: b\nb.example: {}\n", "yaml", 2, /./],
    ["a duplicate name is refused", "a.example: {}\na.example: {}\n", "yaml", 2, /unique|duplicate/i],
    ["JSON errors name the line too", '{\n  "a.example": {\n    "A": ["no"]\n  }\n}', "json", 3, /IPv4/],
    ["a bad timeout type", "a.example: { timeout: [SOA] }\n", "yaml", 1, /timeout/],
  ];
  for (const [name, text, format, line, why] of bad) {
    it(name, async () => {
      const err = await parseZone(text, format, "f").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZoneError);
      expect((err as ZoneError).line).toBe(line);
      expect((err as ZoneError).message).toMatch(why);
    });
  }

  it("zoneFromObject builds a zone from code", async () => {
    const r = new FixtureResolver(zoneFromObject({ "Example.COM.": { TXT: "hello" } }));
    expect(await r.txt("example.com")).toEqual({ kind: "ok", records: ["hello"] });
  });

  it("loadZone picks the format by extension and reports missing files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "msgauth-zone-"));
    await writeFile(join(dir, "z.json"), JSON.stringify({ "a.example": { TXT: "j" } }));
    await writeFile(join(dir, "z.zone"), 'a.example. TXT "z"\n');
    expect(await new FixtureResolver(await loadZone(join(dir, "z.json"))).txt("a.example")).toEqual({ kind: "ok", records: ["j"] });
    expect(await new FixtureResolver(await loadZone(join(dir, "z.zone"))).txt("a.example")).toEqual({ kind: "ok", records: ["z"] });
    const err = await loadZone(join(dir, "missing.yaml")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZoneError);
    expect((err as Error).message).toMatch(/ENOENT/);
  });
});
