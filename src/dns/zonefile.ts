import { checkZoneFileOptions } from "../options.js";
import { RECORD_TYPES, type RecordType } from "./types.js";
import { validateRecord, type Zone, type ZoneEntry, ZoneError } from "./zone.js";

interface Token {
  text: string;
  quoted: boolean;
  line: number;
}
interface LogicalLine {
  tokens: Token[];
  /** The line began with white space: the owner is the previous record's. */
  inheritsOwner: boolean;
  line: number;
}

const CLASSES = new Set(["IN", "CH", "HS", "CS"]);
/** Types a fixture zone may hold that msgauth never queries: accepted and left out. */
const IGNORED_TYPES = new Set([
  "NS",
  "SOA",
  "SPF",
  "CAA",
  "SRV",
  "DS",
  "DNSKEY",
  "TLSA",
  "HINFO",
  "RRSIG",
  "NSEC",
  "NSEC3",
  "NSEC3PARAM",
  "SSHFP",
  "HTTPS",
  "SVCB",
  "NAPTR",
  "LOC",
  "DNAME",
  "SMIMEA",
  "OPENPGPKEY",
  "URI",
]);

/**
 * Splits master-file text into logical lines (RFC 1035 5.1): parentheses continue a line, ';' starts
 * a comment outside quotes, quoted strings keep spaces, `\X` and `\DDD` escape a byte.
 */
function tokenize(text: string, file: string): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  let depth = 0;
  let lineNo = 1;
  let i = 0;
  const n = text.length;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const startLine = (atLineStart: boolean) => {
    if (!current) {
      current = { tokens: [], inheritsOwner: atLineStart, line: lineNo };
    }
    return current;
  };
  let atLineStart = true;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      lineNo++;
      i++;
      if (depth === 0) {
        if (current && current.tokens.length > 0) lines.push(current);
        current = undefined;
        atLineStart = true;
      }
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      if (atLineStart && depth === 0 && !current) startLine(true);
      atLineStart = false;
      i++;
      continue;
    }
    atLineStart = false;
    if (c === ";") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "(") {
      startLine(false);
      depth++;
      i++;
      continue;
    }
    if (c === ")") {
      if (depth === 0) throw new ZoneError(file, lineNo, "')' without '('");
      depth--;
      i++;
      continue;
    }
    const line = startLine(false);
    const quoted = c === '"';
    const tokenLine = lineNo;
    if (quoted) i++;
    bytes.length = 0;
    for (;;) {
      if (i >= n) {
        if (quoted) throw new ZoneError(file, tokenLine, "unterminated quoted string");
        break;
      }
      const ch = text[i]!;
      if (quoted ? ch === '"' : " \t\r\n;()".includes(ch)) {
        if (quoted) i++;
        break;
      }
      if (quoted && ch === "\n") throw new ZoneError(file, tokenLine, "unterminated quoted string");
      if (ch === "\\") {
        const d = text.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(d)) {
          const v = Number(d);
          if (v > 255) throw new ZoneError(file, lineNo, `escape \\${d} is over 255`);
          bytes.push(v);
          i += 4;
          continue;
        }
        if (i + 1 >= n) throw new ZoneError(file, lineNo, "'\\' at end of input");
        const cp = text.codePointAt(i + 1)!;
        bytes.push(...encoder.encode(String.fromCodePoint(cp)));
        i += cp > 0xffff ? 3 : 2;
        continue;
      }
      const cp = text.codePointAt(i)!;
      if (cp < 0x80) bytes.push(cp);
      else bytes.push(...encoder.encode(String.fromCodePoint(cp)));
      i += cp > 0xffff ? 2 : 1;
    }
    if (bytes.length > 255 && quoted) {
      throw new ZoneError(file, tokenLine, `a character-string is ${bytes.length} bytes, over 255 (RFC 1035 3.3)`);
    }
    line.tokens.push({ text: decoder.decode(Uint8Array.from(bytes)), quoted, line: tokenLine });
  }
  if (depth > 0) throw new ZoneError(file, lineNo, "'(' without ')'");
  if (current && current.tokens.length > 0) lines.push(current);
  return lines;
}

function parseTtl(text: string): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const m = /^(?:[0-9]+[smhdw])+$/i.exec(text);
  if (!m) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const part of text.toLowerCase().matchAll(/([0-9]+)([smhdw])/g)) {
    total += Number(part[1]) * unit[part[2]!]!;
  }
  return total;
}

export interface ZoneFileOptions {
  /** Name used in error messages. */
  file?: string;
  /** Origin for relative names before any $ORIGIN. */
  origin?: string;
}

/**
 * Parses an RFC 1035 master file into a fixture zone: $ORIGIN, $TTL, relative names, '@', quoted
 * multi-string TXT, parentheses. msgauth extensions: the pseudo-type `TIMEOUT` (optionally followed by
 * record types) marks a name whose queries time out; `NXDOMAIN` (optionally followed by record
 * types) marks a name that does not exist (for those types), even when names below it do.
 */
export function parseZoneFile(text: string, options: ZoneFileOptions = {}): Zone {
  checkZoneFileOptions(options);
  const file = options.file ?? "<zone>";
  const zone: Zone = new Map();
  let origin = options.origin ? options.origin.replace(/\.$/, "").toLowerCase() : "";
  let lastOwner: string | undefined;

  const absolute = (name: string, line: number): string => {
    if (name === "@") {
      if (!origin) throw new ZoneError(file, line, "'@' used with no $ORIGIN");
      return origin;
    }
    if (name.endsWith(".")) return name.slice(0, -1).toLowerCase();
    return (origin ? `${name}.${origin}` : name).toLowerCase();
  };
  const entryFor = (owner: string): ZoneEntry => {
    let e = zone.get(owner);
    if (!e) {
      e = {};
      zone.set(owner, e);
    }
    return e;
  };

  for (const { tokens, inheritsOwner, line } of tokenize(text, file)) {
    const first = tokens[0]!;
    if (!first.quoted && first.text.startsWith("$")) {
      const directive = first.text.toUpperCase();
      if (directive === "$ORIGIN") {
        const value = tokens[1];
        if (!value) throw new ZoneError(file, line, "$ORIGIN needs a name");
        origin = absolute(value.text.endsWith(".") ? value.text : `${value.text}.`, line);
      } else if (directive === "$TTL") {
        if (!tokens[1] || parseTtl(tokens[1].text) === undefined) {
          throw new ZoneError(file, line, "$TTL needs a time value");
        }
      } else if (directive === "$INCLUDE") {
        throw new ZoneError(file, line, "$INCLUDE is not supported in fixture zones");
      } else {
        throw new ZoneError(file, line, `unknown directive ${first.text}`);
      }
      continue;
    }
    let pos = 0;
    let owner: string;
    if (inheritsOwner) {
      if (lastOwner === undefined) throw new ZoneError(file, line, "record with no owner name");
      owner = lastOwner;
    } else {
      owner = absolute(first.text, line);
      pos = 1;
    }
    lastOwner = owner;
    // [TTL] [class] or [class] [TTL], then the type.
    for (let k = 0; k < 2; k++) {
      const t = tokens[pos];
      if (t && !t.quoted && (CLASSES.has(t.text.toUpperCase()) || parseTtl(t.text) !== undefined)) pos++;
    }
    const typeTok = tokens[pos++];
    if (!typeTok) throw new ZoneError(file, line, `no record type after ${owner}`);
    const type = typeTok.text.toUpperCase();
    const rdata = tokens.slice(pos);
    const entry = entryFor(owner);
    const need = (count: number) => {
      if (rdata.length !== count) {
        throw new ZoneError(file, line, `${type} needs ${count} value${count === 1 ? "" : "s"}, got ${rdata.length}`);
      }
    };
    switch (type) {
      case "A":
      case "AAAA": {
        need(1);
        const why = validateRecord(type, rdata[0]!.text);
        if (why) throw new ZoneError(file, line, why);
        (entry[type] ??= []).push(rdata[0]!.text);
        break;
      }
      case "TXT":
        if (rdata.length === 0) throw new ZoneError(file, line, "TXT needs at least one string");
        (entry.TXT ??= []).push(rdata.map((t) => t.text));
        break;
      case "MX": {
        need(2);
        const priority = Number(rdata[0]!.text);
        if (!/^[0-9]+$/.test(rdata[0]!.text) || priority > 65535) {
          throw new ZoneError(file, line, `MX preference must be 0-65535, got ${rdata[0]!.text}`);
        }
        const target = rdata[1]!.text === "." ? "" : absolute(rdata[1]!.text, line);
        (entry.MX ??= []).push({ priority, exchange: target });
        break;
      }
      case "PTR":
        need(1);
        (entry.PTR ??= []).push(absolute(rdata[0]!.text, line));
        break;
      case "CNAME":
        need(1);
        if (entry.CNAME !== undefined) throw new ZoneError(file, line, `a second CNAME for ${owner}`);
        entry.CNAME = absolute(rdata[0]!.text, line);
        break;
      case "TIMEOUT": {
        if (rdata.length === 0) {
          entry.timeout = true;
          break;
        }
        const types: RecordType[] = [];
        for (const t of rdata) {
          const up = t.text.toUpperCase() as RecordType;
          if (!RECORD_TYPES.includes(up)) throw new ZoneError(file, line, `TIMEOUT for unknown type ${t.text}`);
          types.push(up);
        }
        if (entry.timeout !== true) entry.timeout = [...(entry.timeout ?? []), ...types];
        break;
      }
      case "NXDOMAIN": {
        if (rdata.length === 0) {
          entry.nxdomain = true;
          break;
        }
        const types: RecordType[] = [];
        for (const t of rdata) {
          const up = t.text.toUpperCase() as RecordType;
          if (!RECORD_TYPES.includes(up)) throw new ZoneError(file, line, `NXDOMAIN for unknown type ${t.text}`);
          types.push(up);
        }
        if (entry.nxdomain !== true) entry.nxdomain = [...(entry.nxdomain ?? []), ...types];
        break;
      }
      default:
        if (!IGNORED_TYPES.has(type) && !/^TYPE[0-9]+$/.test(type)) {
          throw new ZoneError(file, line, `unknown record type ${typeTok.text}`);
        }
    }
  }
  for (const [name, entry] of zone) {
    if (entry.CNAME !== undefined && Object.keys(entry).length > 1) {
      throw new ZoneError(file, undefined, `${name} has a CNAME and other data (RFC 1034 3.6.2)`);
    }
    if (entry.nxdomain === true && Object.keys(entry).length > 1) {
      throw new ZoneError(file, undefined, `${name} is NXDOMAIN and has other data`);
    }
  }
  return zone;
}
