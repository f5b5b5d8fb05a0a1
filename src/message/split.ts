import { ArgumentError } from "../errors.js";
import { checkOptionKeys } from "../options.js";
import type { HeaderField } from "./header.js";
import { fromValuesIn } from "./scan.js";

const SPLIT_LIMITS = ["maxHeaderBytes", "maxHeaderFields"];

/** Refuses a limits object with a key other than maxHeaderBytes and maxHeaderFields (OptionsError). */
export function checkSplitLimits(limits: SplitLimits): void {
  checkOptionKeys(limits, SPLIT_LIMITS, "limits", (k) => `limits.${k}: unknown limit (known: ${SPLIT_LIMITS.join(", ")})`);
}

export interface SplitLimits {
  /** Most bytes in the header block. Default 4 MiB. */
  maxHeaderBytes?: number;
  /** Most header fields. Default 20,000. */
  maxHeaderFields?: number;
}

export interface ParsedHeaders {
  headers: HeaderField[];
  /** Set when a limit was passed; headers then holds what was read before it. */
  error?: "header-too-large" | "too-many-fields";
  /** Lines that were not well-formed fields, kept in place with `malformed: true`. */
  defects: number;
  /**
   * With `error`: the From fields a reader could see in the part of the header that was not parsed
   * into `headers` (found by a scan of the whole header that no limit stops, src/message/scan.ts), so
   * that a From placed past the limits still counts. `complete` is false when the rest of the header
   * was never read (a stream past maxHeaderBytes): a From there could not be seen.
   */
  beyondLimit?: { from: string[]; complete: boolean };
}

export interface ParsedMessage extends ParsedHeaders {
  /** The body bytes after the blank line (a view into the input, not a copy). */
  body: Uint8Array;
  /** False when the message had no blank line: all of it was header. */
  hasBody: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

/**
 * Index just past the blank line that ends the header block, or -1 if there is none yet.
 * Accepts CRLF and bare LF line ends. `from` lets an incremental reader resume its scan.
 */
export function findHeaderEnd(buf: Uint8Array, from = 0): number {
  if (from === 0) {
    if (buf[0] === LF) return 1;
    if (buf[0] === CR && buf[1] === LF) return 2;
  }
  let i = buf.indexOf(LF, Math.max(0, from));
  while (i >= 0) {
    const next = buf[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && buf[i + 2] === LF) return i + 3;
    if (next === undefined || (next === CR && buf[i + 2] === undefined)) return -1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/**
 * Splits a header block (without the blank line) into fields. Linear in its length. Every line end
 * becomes CRLF in `raw`; continuation lines (starting with SP or HTAB) join the field above. Past a
 * limit, the rest of the block is still scanned for From fields (`beyondLimit`).
 */
export function parseHeaderBlock(block: Uint8Array, limits: SplitLimits = {}): ParsedHeaders {
  if (!(block instanceof Uint8Array)) throw new ArgumentError("parseHeaderBlock: block must be a Uint8Array");
  checkSplitLimits(limits);
  const maxBytes = limits.maxHeaderBytes ?? 4 * 1024 * 1024;
  const maxFields = limits.maxHeaderFields ?? 20_000;
  const cut = block.length > maxBytes;
  const { parsed, resume } = splitFields(cut ? block.subarray(0, maxBytes) : block, maxFields);
  if (!cut && parsed.error === undefined) return parsed;
  // The scan starts where the fields read end: at the field that did not fit, or at the last field
  // read when the byte limit may have cut it (a From cut there is then counted twice: only stricter).
  return {
    ...parsed,
    error: parsed.error ?? "header-too-large",
    beyondLimit: { from: fromValuesIn(block, block.length, resume), complete: true },
  };
}

/**
 * The fields of `block` up to its first blank line. `resume`: where a scan for From fields past a
 * limit starts; `end`: just past the blank line's LF, or -1 when the block has no blank line (what
 * findHeaderEnd would say of it).
 */
function splitFields(block: Uint8Array, maxFields: number): { parsed: ParsedHeaders; resume: number; end: number } {
  const headers: HeaderField[] = [];
  let defects = 0;
  let lastStart = 0;
  // The field being gathered: from the start of its first line to the end of its last line's content
  // (without the terminator); crlf while every line break inside it is exactly CRLF.
  let fieldStart = -1;
  let fieldEnd = 0;
  let crlf = true;
  let end = -1;
  let pos = 0;
  const n = block.length;
  while (pos < n) {
    let lineEnd = block.indexOf(LF, pos);
    let next: number;
    if (lineEnd < 0) {
      lineEnd = n;
      next = n;
    } else {
      next = lineEnd + 1;
    }
    let contentEnd = lineEnd;
    if (contentEnd > pos && block[contentEnd - 1] === CR) contentEnd--;
    if (contentEnd === pos) {
      // The blank line that ends the header block (a last "\r" with no LF is not one).
      if (lineEnd < n) end = lineEnd + 1;
      break;
    }
    const first = block[pos];
    if ((first === SP || first === TAB) && fieldStart >= 0) {
      // A continuation line joins the field above.
      if (crlf && !(block[fieldEnd] === CR && block[fieldEnd + 1] === LF && pos === fieldEnd + 2)) crlf = false;
      fieldEnd = contentEnd;
    } else {
      if (fieldStart >= 0) {
        if (headers.length >= maxFields) return { parsed: { headers, error: "too-many-fields", defects }, resume: fieldStart, end: -1 };
        const field = buildField(fieldBytes(block, fieldStart, fieldEnd, crlf));
        if (field.malformed) defects++;
        headers.push(field);
        lastStart = fieldStart;
      }
      fieldStart = pos;
      fieldEnd = contentEnd;
      crlf = true;
    }
    pos = next;
  }
  if (fieldStart >= 0) {
    if (headers.length >= maxFields) return { parsed: { headers, error: "too-many-fields", defects }, resume: fieldStart, end: -1 };
    const field = buildField(fieldBytes(block, fieldStart, fieldEnd, crlf));
    if (field.malformed) defects++;
    headers.push(field);
    lastStart = fieldStart;
  }
  return { parsed: { headers, defects }, resume: lastStart, end };
}

/**
 * The field's bytes [start, end) with CRLF between its lines: a view of the block when its lines
 * already end in CRLF (`crlf`, the usual case; never written to), else a copy with each line's
 * terminator (LF, or CR LF) made CRLF.
 */
function fieldBytes(block: Uint8Array, start: number, end: number, crlf: boolean): Uint8Array {
  if (crlf) return block.subarray(start, end);
  // Lines of the field: each ends at an LF inside [start, end), one CR before it dropped.
  const lines: number[] = [];
  let s = start;
  for (let lf = block.indexOf(LF, s); lf >= 0 && lf < end; lf = block.indexOf(LF, s)) {
    lines.push(s, lf > s && block[lf - 1] === CR ? lf - 1 : lf);
    s = lf + 1;
  }
  lines.push(s, end);
  let size = (lines.length / 2 - 1) * 2;
  for (let k = 0; k < lines.length; k += 2) size += lines[k + 1]! - lines[k]!;
  const raw = new Uint8Array(size);
  let o = 0;
  for (let k = 0; k < lines.length; k += 2) {
    if (k > 0) {
      raw[o++] = CR;
      raw[o++] = LF;
    }
    raw.set(block.subarray(lines[k]!, lines[k + 1]!), o);
    o += lines[k + 1]! - lines[k]!;
  }
  return raw;
}

/**
 * Field names already read, by a hash of their bytes: the same name in the next message gets the
 * same strings (no string built byte by byte, no toLowerCase; about 0.4 us for a small message's
 * header). Bounded: names up to 64 bytes, at most 512 of them (past that, names are built as before).
 */
const NAMES = new Map<number, { name: string; key: string }>();
const MAX_NAMES = 512;
const MAX_INTERNED_NAME = 64;

/**
 * The field of `raw` (the name is ftext, optionally followed by WSP before the colon: RFC 5322 4.5
 * obs-optional; anything else is malformed), in one pass over the name (no search for the
 * colon through the value), its strings shared with earlier fields of the same name.
 */
export function buildField(raw: Uint8Array): HeaderField {
  const n = raw.length;
  let i = 0;
  let hash = 0;
  let c = 0;
  // ftext up to the first byte that is not (the name), hashed as it goes.
  for (; i < n; i++) {
    c = raw[i]!;
    if (c < 33 || c > 126 || c === COLON) break;
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  const nameEnd = i;
  // Then optional WSP (obs-optional) and the colon; anything else (or no name) is a malformed line.
  while (i < n && (raw[i] === SP || raw[i] === TAB)) i++;
  if (nameEnd === 0 || i >= n || raw[i] !== COLON) return { name: "", key: "", raw, colon: -1, malformed: true };
  const colon = i;
  if (nameEnd <= MAX_INTERNED_NAME) {
    const known = NAMES.get(hash);
    if (known !== undefined && sameName(known.name, raw, nameEnd))
      return { name: known.name, key: known.key, raw, colon, malformed: false };
    let name = "";
    for (let k = 0; k < nameEnd; k++) name += String.fromCharCode(raw[k]!);
    const key = name.toLowerCase();
    if (known === undefined && NAMES.size < MAX_NAMES) NAMES.set(hash, { name, key });
    return { name, key, raw, colon, malformed: false };
  }
  let name = "";
  for (let k = 0; k < nameEnd; k++) name += String.fromCharCode(raw[k]!);
  return { name, key: name.toLowerCase(), raw, colon, malformed: false };
}

function sameName(name: string, raw: Uint8Array, end: number): boolean {
  if (name.length !== end) return false;
  for (let k = 0; k < end; k++) if (name.charCodeAt(k) !== raw[k]) return false;
  return true;
}

/** Splits a whole message held in memory into header fields and body. */
export function splitMessage(message: Uint8Array, limits: SplitLimits = {}): ParsedMessage {
  if (!(message instanceof Uint8Array))
    throw new ArgumentError("splitMessage: message must be a Uint8Array (Buffer.from(text) for a string)");
  checkSplitLimits(limits);
  const maxBytes = limits.maxHeaderBytes ?? 4 * 1024 * 1024;
  if (message.length <= maxBytes) {
    // One pass: the fields up to the blank line, which is also where the body starts (findHeaderEnd
    // and then splitting the block read the header twice). No byte limit can be passed here; past
    // the field limit, the general path below reads the whole header for From fields.
    const { parsed, end } = splitFields(message, limits.maxHeaderFields ?? 20_000);
    if (parsed.error === undefined) {
      const whole = parsed as ParsedMessage;
      whole.body = message.subarray(end < 0 ? message.length : end);
      whole.hasBody = end >= 0;
      return whole;
    }
  }
  const end = findHeaderEnd(message);
  // The block is everything before the blank line; the line end before it belongs to the last field.
  const parsed = parseHeaderBlock(end < 0 ? message : message.subarray(0, end), limits) as ParsedMessage;
  parsed.body = message.subarray(end < 0 ? message.length : end);
  parsed.hasBody = end >= 0;
  return parsed;
}
