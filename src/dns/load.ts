import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { Zone } from "./zone.js";
import { ZoneError } from "./zone.js";
import { parseZoneFile } from "./zonefile.js";
import { zoneFromObject } from "./zoneobject.js";

export type ZoneFormat = "zonefile" | "yaml" | "json";

export function formatFromPath(path: string): ZoneFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") return "yaml";
  if (ext === ".json") return "json";
  return "zonefile";
}

type YamlModule = typeof import("yaml");
async function loadYaml(): Promise<YamlModule | undefined> {
  try {
    return (await import("yaml")) as YamlModule;
  } catch {
    return undefined;
  }
}

/**
 * Parses fixture zone text. YAML needs the optional `yaml` package; JSON works without it (with it,
 * errors in JSON files also name the line).
 */
export async function parseZone(text: string, format: ZoneFormat, file = "<zone>"): Promise<Zone> {
  if (format === "zonefile") return parseZoneFile(text, { file });
  const yaml = await loadYaml();
  if (!yaml) {
    if (format === "yaml") {
      throw new ZoneError(file, undefined, "reading YAML zones needs the 'yaml' package: npm install yaml", "ERR_MSGAUTH_ZONE_UNREADABLE");
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new ZoneError(file, undefined, `invalid JSON: ${(err as Error).message}`);
    }
    return zoneFromObject(data, file);
  }
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const line = err.pos ? lineCounter.linePos(err.pos[0]).line : undefined;
    throw new ZoneError(file, line, err.message.split("\n")[0]!);
  }
  const lineOf = (path: PropertyKey[]) => {
    for (let depth = path.length; depth > 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === "object" && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved or exploding aliases ("*x", billion laughs) end here.
    throw new ZoneError(file, undefined, `invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return zoneFromObject(data, file, lineOf);
}

/** Reads a fixture zone file: an RFC 1035 master file, or .yaml/.yml/.json in the object form. */
export async function loadZone(path: string, format: ZoneFormat = formatFromPath(path)): Promise<Zone> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ZoneError(
      path,
      undefined,
      `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      "ERR_MSGAUTH_ZONE_UNREADABLE",
    );
  }
  return parseZone(text, format, path);
}
