import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { RecordType } from "../../src/dns/types.js";
import type { Zone, ZoneEntry } from "../../src/dns/zone.js";

export interface SpfSuiteCase {
  scenario: string;
  name: string;
  spec: string;
  helo: string;
  host: string;
  mailfrom: string;
  results: string[];
  explanation?: string;
  zone: Zone;
}

type RawRecord = string | Record<string, unknown>;

/**
 * Builds a fixture zone from a suite scenario's zonedata, as the suite's drivers do (SOURCES.md):
 * SPF records are served as TXT unless the name has TXT records of its own; NONE means no record;
 * TIMEOUT makes queries for types the name has no records of time out.
 */
export function zoneFromSuite(zonedata: Record<string, RawRecord[]>): Zone {
  const zone: Zone = new Map();
  for (const [rawName, records] of Object.entries(zonedata ?? {})) {
    const entry: ZoneEntry = {};
    const spf: string[][] = [];
    let hasTxt = false;
    for (const rec of records ?? []) {
      if (rec === "TIMEOUT") {
        entry.timeout = true;
        continue;
      }
      if (typeof rec !== "object" || rec === null) continue;
      for (const [type, value] of Object.entries(rec)) {
        const chunks = (v: unknown) => (Array.isArray(v) ? v.map(String) : [String(v)]);
        switch (type) {
          case "SPF":
            if (value !== "NONE") spf.push(chunks(value));
            break;
          case "TXT":
            hasTxt = true;
            if (value !== "NONE") (entry.TXT ??= []).push(chunks(value));
            break;
          case "MX": {
            const [priority, exchange] = value as [number, string];
            (entry.MX ??= []).push({ priority, exchange: String(exchange).replace(/\.$/, "") });
            break;
          }
          case "CNAME":
            entry.CNAME = String(value).toLowerCase().replace(/\.$/, "");
            break;
          case "A":
          case "AAAA":
          case "PTR":
            if (value !== "NONE") (entry[type as Exclude<RecordType, "TXT" | "MX">] ??= []).push(String(value).replace(/\.$/, ""));
            break;
          default:
            throw new Error(`suite record type ${type} at ${rawName} is not handled`);
        }
      }
    }
    if (!hasTxt && spf.length > 0) entry.TXT = spf;
    zone.set(rawName.toLowerCase().replace(/\.$/, ""), entry);
  }
  return zone;
}

export function loadSpfSuite(path: string): SpfSuiteCase[] {
  const cases: SpfSuiteCase[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
    if (!("toJS" in doc)) continue;
    const d = doc.toJS() as { description: string; tests: Record<string, Record<string, unknown>>; zonedata: Record<string, RawRecord[]> };
    if (!d?.tests) continue;
    const zone = zoneFromSuite(d.zonedata);
    for (const [name, t] of Object.entries(d.tests)) {
      const result = t.result as string | string[];
      const c: SpfSuiteCase = {
        scenario: d.description,
        name,
        spec: String(t.spec ?? ""),
        helo: String(t.helo ?? ""),
        host: String(t.host),
        mailfrom: String(t.mailfrom ?? ""),
        results: Array.isArray(result) ? result : [result],
        zone,
      };
      if (typeof t.explanation === "string") c.explanation = t.explanation;
      cases.push(c);
    }
  }
  return cases;
}
