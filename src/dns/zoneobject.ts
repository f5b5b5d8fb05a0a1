import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { normalizeName, RECORD_TYPES, type RecordType } from "./types.js";
import type { Zone, ZoneEntry } from "./zone.js";
import { ZoneError } from "./zone.js";

const txtRecord = z.union([z.string(), z.array(z.string()).min(1)]);
const mxRecord = z.union([
  z.object({ priority: z.number().int().min(0).max(65535), exchange: z.string() }).strict(),
  z.tuple([z.number().int().min(0).max(65535), z.string()]),
  z.string().regex(/^[0-9]{1,5} +\S+$/, "MX as text is 'preference exchange'"),
]);
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);

const entrySchema = z
  .object({
    TXT: oneOrMany(txtRecord).optional(),
    A: oneOrMany(z.string().refine((v) => isIPv4(v), "not an IPv4 address")).optional(),
    AAAA: oneOrMany(z.string().refine((v) => isIPv6(v), "not an IPv6 address")).optional(),
    MX: oneOrMany(mxRecord).optional(),
    PTR: oneOrMany(z.string()).optional(),
    CNAME: z.string().optional(),
    timeout: z.union([z.literal(true), z.array(z.enum(RECORD_TYPES as [RecordType, ...RecordType[]]))]).optional(),
    nxdomain: z.union([z.literal(true), z.array(z.enum(RECORD_TYPES as [RecordType, ...RecordType[]]))]).optional(),
  })
  .strict()
  .refine((e) => e.CNAME === undefined || Object.keys(e).length === 1, "a CNAME name holds no other data")
  .refine((e) => e.nxdomain !== true || Object.keys(e).length === 1, "a name with nxdomain: true holds no other data");

/**
 * The object form of a fixture zone (what a YAML or JSON fixture file holds): owner names as keys,
 * each with record lists by type. A name mapped to `{}` exists with no records (NODATA).
 *
 * ```yaml
 * example.com:
 *   TXT: "v=spf1 ip4:192.0.2.0/24 -all"
 *   MX: [[10, mx.example.com]]
 * sel._domainkey.example.com:
 *   TXT: [["v=DKIM1; k=ed25519; ", "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]]
 * slow.example.com: { timeout: true }
 * gone.example.com: { nxdomain: true } # NXDOMAIN even if names below it exist; or nxdomain: [TXT]
 * ```
 */
export const zoneObjectSchema = z.record(
  z.string(),
  z.preprocess((v) => v ?? {}, entrySchema),
);
export type ZoneObject = z.input<typeof zoneObjectSchema>;

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
const stripDot = (name: string) => (name === "." ? "" : normalizeName(name));

/** Builds a zone from its object form; invalid data throws a ZoneError naming the path and why. */
export function zoneFromObject(data: unknown, file = "<zone>", lineOf?: (path: PropertyKey[]) => number | undefined): Zone {
  const parsed = zoneObjectSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map(String).join(".");
    throw new ZoneError(file, lineOf?.(issue.path), `${where ? `${where}: ` : ""}${issue.message}`);
  }
  const zone: Zone = new Map();
  for (const [rawName, raw] of Object.entries(parsed.data)) {
    const entry: ZoneEntry = {};
    const e = raw;
    const txt = e.TXT === undefined ? undefined : typeof e.TXT === "string" ? [e.TXT] : e.TXT;
    if (txt) entry.TXT = txt.map((r) => (typeof r === "string" ? [r] : r));
    const a = list(e.A);
    if (a) entry.A = a;
    const aaaa = list(e.AAAA);
    if (aaaa) entry.AAAA = aaaa;
    const mx = list(e.MX);
    if (mx) {
      entry.MX = mx.map((m) => {
        if (typeof m === "string") {
          const [p, x] = m.split(/ +/);
          return { priority: Number(p), exchange: stripDot(x!) };
        }
        if (Array.isArray(m)) return { priority: m[0], exchange: stripDot(m[1]) };
        return { priority: m.priority, exchange: stripDot(m.exchange) };
      });
    }
    const ptr = list(e.PTR);
    if (ptr) entry.PTR = ptr.map(normalizeName);
    if (e.CNAME !== undefined) entry.CNAME = normalizeName(e.CNAME);
    if (e.timeout !== undefined) entry.timeout = e.timeout;
    if (e.nxdomain !== undefined) entry.nxdomain = e.nxdomain;
    const name = normalizeName(rawName);
    const prev = zone.get(name);
    zone.set(name, prev ? { ...prev, ...entry } : entry);
  }
  return zone;
}

function quote(s: string): string {
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(s);
}

/** The object form of a zone, ready for JSON.stringify. */
export function zoneToObject(zone: Zone): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of [...zone.keys()].sort()) {
    const e = zone.get(name)!;
    const o: Record<string, unknown> = {};
    if (e.CNAME !== undefined) o.CNAME = e.CNAME;
    if (e.TXT) o.TXT = e.TXT.map((chunks) => (chunks.length === 1 ? chunks[0] : chunks));
    if (e.A) o.A = e.A;
    if (e.AAAA) o.AAAA = e.AAAA;
    if (e.MX) o.MX = e.MX.map((m) => [m.priority, m.exchange === "" ? "." : m.exchange]);
    if (e.PTR) o.PTR = e.PTR;
    if (e.timeout !== undefined) o.timeout = e.timeout;
    if (e.nxdomain !== undefined) o.nxdomain = e.nxdomain;
    out[name] = o;
  }
  return out;
}

/** Writes a zone in the YAML form, readable by people and by loadZone. */
export function zoneToYaml(zone: Zone): string {
  const obj = zoneToObject(zone);
  const lines: string[] = [];
  for (const [name, entry] of Object.entries(obj)) {
    const keys = Object.keys(entry);
    if (keys.length === 0) {
      lines.push(`${quote(name)}: {}`);
      continue;
    }
    lines.push(`${quote(name)}:`);
    for (const key of keys) {
      const v = entry[key];
      if (Array.isArray(v)) {
        lines.push(`  ${key}:`);
        for (const item of v) lines.push(`    - ${JSON.stringify(item)}`);
      } else {
        lines.push(`  ${key}: ${JSON.stringify(v)}`);
      }
    }
  }
  // An empty zone is "{}": an empty YAML document would read back as null, not as a zone.
  return lines.length === 0 ? "{}\n" : `${lines.join("\n")}\n`;
}
