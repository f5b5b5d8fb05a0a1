import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HeaderField } from "../../src/message/header.js";
import { fromValuesIn } from "../../src/message/scan.js";
import { findHeaderEnd, type ParsedHeaders, parseHeaderBlock, splitMessage } from "../../src/message/split.js";

// The header splitter as it was before it stopped gathering one [start, end] pair per line (issue 19):
// the reference the current one must agree with, field for field.
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
function isFtext(b: number): boolean {
  return b >= 33 && b <= 126 && b !== COLON;
}
function oldSplitFields(block: Uint8Array, maxFields: number): { parsed: ParsedHeaders; resume: number } {
  const headers: HeaderField[] = [];
  let defects = 0;
  let lastStart = 0;
  // Collect [start, end) of each physical line, without its terminator.
  let fieldLines: Array<[number, number]> = [];
  const flush = (): boolean => {
    if (fieldLines.length === 0) return true;
    if (headers.length >= maxFields) return false;
    lastStart = fieldLines[0]![0];
    headers.push(buildField(block, fieldLines));
    if (headers[headers.length - 1]!.malformed) defects++;
    fieldLines = [];
    return true;
  };
  const tooMany = () => ({ parsed: { headers, error: "too-many-fields" as const, defects }, resume: fieldLines[0]![0] });
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
    if (contentEnd === pos) break; // the blank line that ends the header block
    const first = block[pos];
    const continuation = (first === SP || first === TAB) && fieldLines.length > 0;
    if (!continuation && !flush()) return tooMany();
    fieldLines.push([pos, contentEnd]);
    pos = next;
  }
  if (!flush()) return tooMany();
  return { parsed: { headers, defects }, resume: lastStart };
}

/**
 * The field's bytes with CRLF between its lines: a view of the block when its lines already end in
 * CRLF (the usual case; never written to), else a copy.
 */
function fieldBytes(block: Uint8Array, lines: Array<[number, number]>): Uint8Array {
  const first = lines[0]![0];
  const last = lines[lines.length - 1]![1];
  let crlf = true;
  for (let k = 0; crlf && k < lines.length - 1; k++) {
    const e = lines[k]![1];
    crlf = block[e] === CR && block[e + 1] === LF && lines[k + 1]![0] === e + 2;
  }
  if (crlf) return block.subarray(first, last);
  let size = 0;
  for (const [s, e] of lines) size += e - s;
  size += (lines.length - 1) * 2;
  const raw = new Uint8Array(size);
  let o = 0;
  for (let k = 0; k < lines.length; k++) {
    const [s, e] = lines[k]!;
    if (k > 0) {
      raw[o++] = CR;
      raw[o++] = LF;
    }
    raw.set(block.subarray(s, e), o);
    o += e - s;
  }
  return raw;
}

function buildField(block: Uint8Array, lines: Array<[number, number]>): HeaderField {
  const raw = fieldBytes(block, lines);
  const colon = raw.indexOf(COLON);
  // A name is ftext, optionally followed by WSP before the colon (RFC 5322 4.5 obs-optional).
  let nameEnd = colon;
  while (nameEnd > 0 && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
  let valid = colon > 0 && nameEnd > 0 && raw[0] !== SP && raw[0] !== TAB;
  for (let i = 0; valid && i < nameEnd; i++) if (!isFtext(raw[i]!)) valid = false;
  if (!valid) return { name: "", key: "", raw, colon: -1, malformed: true };
  let name = "";
  for (let i = 0; i < nameEnd; i++) name += String.fromCharCode(raw[i]!);
  return { name, key: name.toLowerCase(), raw, colon, malformed: false };
}

function referenceParse(block: Uint8Array, maxFields: number, maxBytes = 4 * 1024 * 1024): ParsedHeaders {
  const cut = block.length > maxBytes;
  const { parsed, resume } = oldSplitFields(cut ? block.subarray(0, maxBytes) : block, maxFields);
  if (!cut && parsed.error === undefined) return parsed;
  return {
    ...parsed,
    error: parsed.error ?? "header-too-large",
    beyondLimit: { from: fromValuesIn(block, block.length, resume), complete: true },
  };
}

const plain = (h: HeaderField) => ({ ...h, raw: Buffer.from(h.raw).toString("latin1") });

/** Header text weighted towards line structure: CR, LF, CRLF, folding, colons, From fields. */
const headerText = fc
  .array(fc.constantFrom("\r\n", "\n", "\r", " ", "\t", ":", "a", "From", "From: x@y.example", "To", "\r\n ", "\n\t", "\xe9", "\r\n\r\n"), {
    maxLength: 40,
  })
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

describe("header splitting agrees with the previous splitter", () => {
  it("fields, defects, errors and From fields past the limit, for any text and field limit", () => {
    fc.assert(
      fc.property(headerText, fc.integer({ min: 1, max: 6 }), (text, maxHeaderFields) => {
        const got = parseHeaderBlock(text, { maxHeaderFields });
        const want = referenceParse(text, maxHeaderFields);
        expect({ ...got, headers: got.headers.map(plain) }).toEqual({ ...want, headers: want.headers.map(plain) });
      }),
      { numRuns: 3000 },
    );
  });

  it("splitMessage: the same fields, errors and body (from just past the first blank line), for any limits", () => {
    fc.assert(
      fc.property(
        headerText,
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 1, max: 120 })),
        (text, maxHeaderFields, maxHeaderBytes) => {
          const limits = maxHeaderBytes === null ? { maxHeaderFields } : { maxHeaderFields, maxHeaderBytes };
          const m = splitMessage(text, limits);
          const end = findHeaderEnd(text);
          const want = referenceParse(end < 0 ? text : text.subarray(0, end), maxHeaderFields, maxHeaderBytes ?? undefined);
          const { body, hasBody, ...headers } = m;
          expect({ ...headers, headers: headers.headers.map(plain) }).toEqual({ ...want, headers: want.headers.map(plain) });
          expect(hasBody).toBe(end >= 0);
          expect(Buffer.from(body).equals(text.subarray(end < 0 ? text.length : end))).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
