/** DMARC policy records (RFC 9989 4.7, RFC 7489 6.3). */

export type DmarcPolicy = "none" | "quarantine" | "reject";
export type AlignmentMode = "r" | "s";

export interface DmarcUri {
  uri: string;
  /** RFC 7489 "!size" limit, bytes. */
  maxSize?: number;
}

export interface DmarcRecord {
  /** p=, or undefined when absent or invalid (then see `policyFallback`). */
  p?: DmarcPolicy;
  sp?: DmarcPolicy;
  np?: DmarcPolicy;
  adkim: AlignmentMode;
  aspf: AlignmentMode;
  /** RFC 7489 pct= (0-100); historic in RFC 9989. */
  pct: number;
  /** RFC 9989 t=y: the domain is testing its policy. */
  testing: boolean;
  /** RFC 9989 psd=: y (a public suffix domain), n (its own organizational domain), u (unknown). */
  psd: "y" | "n" | "u";
  rua: DmarcUri[];
  ruf: DmarcUri[];
  fo: string[];
  ri?: number;
  /** Problems that were ignored in favour of defaults (RFC 9989 4.7: syntax errors are discarded). */
  warnings: string[];
  /** p, sp or np tags present with an invalid value (RFC 9989 4.10.1 treats the record specially). */
  invalidPolicyTags: Array<"p" | "sp" | "np">;
  /** The record as published. */
  text: string;
}

export type DmarcRecordParse = { ok: true; record: DmarcRecord } | { ok: false; reason: string };

/** True when a TXT record is a DMARC record: it starts with the v tag "v=DMARC1" (case-sensitive). */
export function isDmarcRecord(txt: string): boolean {
  return /^v[ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/.test(txt);
}

const POLICIES = new Set(["none", "quarantine", "reject"]);

function parseUris(value: string, tag: string, warnings: string[]): DmarcUri[] {
  const out: DmarcUri[] = [];
  for (const raw of value.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const bang = item.lastIndexOf("!");
    let uri = item;
    let maxSize: number | undefined;
    if (bang > 0) {
      const m = /^([0-9]+)([kmgt]?)$/i.exec(item.slice(bang + 1));
      if (m) {
        const mult: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
        maxSize = Number(m[1]) * mult[m[2]!.toLowerCase()]!;
        uri = item.slice(0, bang);
      }
    }
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s,!]+$/.test(uri)) {
      warnings.push(`${tag}: ignored invalid URI ${JSON.stringify(item)}`);
      continue;
    }
    out.push(maxSize === undefined ? { uri } : { uri, maxSize });
  }
  return out;
}

/**
 * Parses a DMARC record. Only a missing or wrong v=DMARC1 (which must come first) makes it invalid;
 * other syntax errors fall back to defaults and are listed in `warnings`; unknown tags are ignored.
 */
export function parseDmarcRecord(text: string): DmarcRecordParse {
  // The same text always parses the same, and a domain's record repeats across messages: parsed once
  // (a parse and its objects cost a microsecond or more; a cache hit 0.01 us).
  const cached = parsedRecords.get(text);
  if (cached) return cached;
  const parsed = parseUncached(text);
  if (text.length > MAX_CACHED_CHARS) return deepFreeze(parsed); // frozen as the cached ones are
  if (parsedRecords.size >= MAX_CACHED_RECORDS) parsedRecords.delete(parsedRecords.keys().next().value as string);
  parsedRecords.set(text, deepFreeze(parsed));
  return parsed;
}

/** Parsed records by their exact text, oldest first out. */
const parsedRecords = new Map<string, DmarcRecordParse>();
const MAX_CACHED_RECORDS = 1000;
/** Longer texts (real records are a few hundred characters) are parsed each time: the cache stays a few MB at most. */
const MAX_CACHED_CHARS = 2048;

/** Cached results are shared (they end up in results): frozen, so no caller can change what the next one gets. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function parseUncached(text: string): DmarcRecordParse {
  if (!isDmarcRecord(text)) return { ok: false, reason: "not a DMARC record: v=DMARC1 must come first" };
  const record: DmarcRecord = {
    adkim: "r",
    aspf: "r",
    pct: 100,
    testing: false,
    psd: "u",
    rua: [],
    ruf: [],
    fo: ["0"],
    warnings: [],
    invalidPolicyTags: [],
    text,
  };
  const seen = new Set<string>();
  const parts = text.split(";");
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      record.warnings.push(`ignored ${JSON.stringify(part)}: not tag=value`);
      continue;
    }
    const tag = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!/^[a-z]+$/.test(tag)) {
      record.warnings.push(`ignored invalid tag name ${JSON.stringify(tag)}`);
      continue;
    }
    if (seen.has(tag)) {
      record.warnings.push(`ignored repeated tag ${tag}=`);
      continue;
    }
    seen.add(tag);
    const lower = value.toLowerCase();
    switch (tag) {
      case "p":
      case "sp":
      case "np":
        if (POLICIES.has(lower)) record[tag] = lower as DmarcPolicy;
        else {
          record.invalidPolicyTags.push(tag);
          record.warnings.push(`${tag}=${value} is not none, quarantine or reject`);
        }
        break;
      case "adkim":
      case "aspf":
        if (lower === "r" || lower === "s") record[tag] = lower;
        else record.warnings.push(`${tag}=${value} is not r or s; using r`);
        break;
      case "pct":
        if (/^[0-9]{1,3}$/.test(value) && Number(value) <= 100) record.pct = Number(value);
        else record.warnings.push(`pct=${value} is not 0-100; using 100`);
        break;
      case "t":
        if (lower === "y" || lower === "n") record.testing = lower === "y";
        else record.warnings.push(`t=${value} is not y or n; using n`);
        break;
      case "psd":
        if (lower === "y" || lower === "n" || lower === "u") record.psd = lower;
        else record.warnings.push(`psd=${value} is not y, n or u; using u`);
        break;
      case "rua":
      case "ruf":
        record[tag] = parseUris(value, tag, record.warnings);
        break;
      case "fo": {
        const opts = value.split(":").map((o) => o.trim().toLowerCase());
        if (opts.every((o) => ["0", "1", "d", "s"].includes(o))) record.fo = opts;
        else record.warnings.push(`fo=${value} has unknown options; using 0`);
        break;
      }
      case "ri":
        if (/^[0-9]{1,10}$/.test(value)) record.ri = Number(value);
        else record.warnings.push(`ri=${value} is not a number`);
        break;
      default:
        // Unknown tags MUST be ignored (RFC 9989 4.7; RFC 7489 6.3), rf= among them.
        break;
    }
  }
  return { ok: true, record };
}
