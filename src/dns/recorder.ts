import { writeFile } from "node:fs/promises";
import { formatFromPath } from "./load.js";
import { reverseName } from "./reverse.js";
import type { DnsAnswer, RecordType, Resolver } from "./types.js";
import { normalizeName } from "./types.js";
import type { Zone, ZoneEntry } from "./zone.js";
import { zoneToObject, zoneToYaml } from "./zoneobject.js";

/**
 * Wraps any resolver and remembers every answer it passes on, NXDOMAIN and NODATA included, so that
 * live DNS can be recorded once and replayed by FixtureResolver in tests forever.
 */
export class RecordingResolver implements Resolver {
  readonly #inner: Resolver;
  readonly #answers = new Map<string, Map<RecordType, DnsAnswer<unknown>>>();

  constructor(inner: Resolver) {
    this.#inner = inner;
  }

  async #record<T>(name: string, type: RecordType, work: Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    const answer = await work;
    const key = normalizeName(name);
    let byType = this.#answers.get(key);
    if (!byType) {
      byType = new Map();
      this.#answers.set(key, byType);
    }
    byType.set(type, answer);
    return answer;
  }

  txt(name: string) {
    return this.#record(name, "TXT", this.#inner.txt(name));
  }
  a(name: string) {
    return this.#record(name, "A", this.#inner.a(name));
  }
  aaaa(name: string) {
    return this.#record(name, "AAAA", this.#inner.aaaa(name));
  }
  mx(name: string) {
    return this.#record(name, "MX", this.#inner.mx(name));
  }
  ptr(ip: string) {
    return this.#record(reverseName(ip) ?? ip, "PTR", this.#inner.ptr(ip));
  }

  /** How many distinct (name, type) answers were seen. */
  get size(): number {
    let n = 0;
    for (const m of this.#answers.values()) n += m.size;
    return n;
  }

  /**
   * The recorded answers as a fixture zone that replays them answer by answer: names that answered
   * NXDOMAIN are written `nxdomain: true` (so that a recorded name below them cannot turn them into
   * NODATA on replay), or `nxdomain: [types]` when other types of the name had answers; names that
   * answered NODATA are kept with no records; failures become `timeout` for that type (replayed as
   * an ETIMEOUT error: same kind, the original reason is not kept).
   */
  toZone(): Zone {
    const zone: Zone = new Map();
    for (const [name, byType] of this.#answers) {
      const entry: ZoneEntry = {};
      const timeouts: RecordType[] = [];
      const missing: RecordType[] = [];
      for (const [type, ans] of byType) {
        if (ans.kind === "nxdomain") {
          missing.push(type);
          continue;
        }
        if (ans.kind === "error") timeouts.push(type);
        if (ans.kind !== "ok") continue;
        if (type === "TXT") entry.TXT = (ans.records as string[]).map((r) => [r]);
        else if (type === "MX") entry.MX = ans.records as ZoneEntry["MX"] & object;
        else entry[type] = ans.records as string[];
      }
      if (timeouts.length > 0) entry.timeout = timeouts;
      if (missing.length > 0) entry.nxdomain = missing.length === byType.size ? true : missing;
      zone.set(name, entry);
    }
    return zone;
  }

  toYaml(): string {
    return `# recorded by msgauth RecordingResolver\n${zoneToYaml(this.toZone())}`;
  }

  toJson(): string {
    return `${JSON.stringify(zoneToObject(this.toZone()), null, 2)}\n`;
  }

  /** Writes the recording: JSON for a .json path, YAML otherwise. */
  async save(path: string): Promise<void> {
    await writeFile(path, formatFromPath(path) === "json" ? this.toJson() : this.toYaml());
  }
}
