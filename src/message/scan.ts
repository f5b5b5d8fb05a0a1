import { unfold } from "./header.js";
import { foldName } from "./idna.js";

/**
 * A scan of a whole header block that no limit can stop: the border filter (removeAuthResults) and
 * the author-domain search past the header reader's limits (a From after 20,000 fields or 4 MiB)
 * both use it, so that they agree on what a field is. Linear in the block; it keeps no field, only
 * hands each one to a callback. A line ends at LF (CRLF or bare LF) or at a bare CR, as some readers
 * take it; a line starting with SP or HTAB continues the field above.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

/**
 * Where a field starting on the next line would be cut from, for a caller that removes it. "line":
 * that line starts a line for every reader (after LF, or after empty bare-CR lines that follow one):
 * cut from `pos`, line end included. "cr": a bare CR at `pos` ended a line with content: cut from
 * that CR and leave the field's own line end to that line.
 */
export interface FieldCut {
  mode: "line" | "cr";
  pos: number;
}

/** One field as the scan saw it: message[start, contentEnd) without its line end; next line at `next`. */
export interface ScannedField {
  cut: FieldCut;
  start: number;
  contentEnd: number;
  next: number;
}

/** Calls `onField` for each field of message[from, headerLen), top to bottom. `from` starts a line. */
export function scanHeaderFields(message: Uint8Array, headerLen: number, onField: (field: ScannedField) => void, from = 0): void {
  let cut: FieldCut = { mode: "line", pos: from };
  let field: ScannedField | undefined;
  let pos = from;
  while (pos < headerLen) {
    // One line: up to LF (CRLF or bare LF) or a bare CR.
    let contentEnd = headerLen;
    let next = headerLen;
    let bareCr = false;
    for (let i = pos; i < headerLen; i++) {
      const b = message[i];
      if (b === LF) {
        contentEnd = i > pos && message[i - 1] === CR ? i - 1 : i;
        next = i + 1;
        break;
      }
      if (b === CR && message[i + 1] !== LF) {
        contentEnd = i;
        next = i + 1;
        bareCr = true;
        break;
      }
    }
    const first = message[pos];
    if (contentEnd > pos && (first === SP || first === TAB) && field) {
      field.contentEnd = contentEnd; // a continuation line
      field.next = next;
    } else {
      if (field) onField(field);
      field = contentEnd > pos ? { cut, start: pos, contentEnd, next } : undefined;
    }
    if (!bareCr) cut = { mode: "line", pos: next };
    else if (contentEnd > pos) cut = { mode: "cr", pos: contentEnd };
    // An empty line ended by a bare CR extends the run: `cut` stays where it was.
    pos = next;
  }
  if (field) onField(field);
}

/**
 * Index just past the first ':' when message[start, end) is a field named `name` (lower case) as a
 * lenient reader sees it, else -1: the one field-name normaliser, shared by the author-domain search
 * (src/message/from.ts, fromValuesIn) and the border filter (removeAuthResults). The name (the bytes
 * before the colon) is compared after removing every character a reader may not draw, anywhere in
 * it (controls such as NUL and DEL, white space, NBSP, zero-width characters, BOM, soft hyphen,
 * U+0085, bidi controls, undecodable bytes: src/message/idna.ts foldName), after NFKC (fullwidth
 * `ＦＲＯＭ`) and case folding. "\0From:", "Fr\u200bom:", "From\0:" and " From :" read as From.
 */
export function lenientFieldName(message: Uint8Array, start: number, end: number, name: string): number {
  let colon = start;
  let plain = true; // only visible ASCII, space and tab: no decoding needed
  while (colon < end && message[colon] !== COLON) {
    const b = message[colon]!;
    if (b < 0x21 || b > 0x7e) {
      if (b !== SP && b !== TAB) plain = false;
    }
    colon++;
  }
  if (colon >= end) return -1;
  if (plain) {
    let k = 0;
    for (let i = start; i < colon; i++) {
      let b = message[i]!;
      if (b === SP || b === TAB) continue;
      if (b >= 0x41 && b <= 0x5a) b += 0x20;
      if (k >= name.length || b !== name.charCodeAt(k)) return -1;
      k++;
    }
    return k === name.length ? colon + 1 : -1;
  }
  // A name far longer than any we look for, once invisible characters are gone, is read anyway:
  // linear, and the caller reads each line once.
  return foldName(decoder.decode(message.subarray(start, colon))) === name ? colon + 1 : -1;
}

const decoder = new TextDecoder("utf-8");

/** Whether message[start, end) has a well-formed field name (RFC 5322 ftext, optional WSP, ':'). */
function wellFormedName(message: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && message[i]! >= 33 && message[i]! <= 126 && message[i] !== COLON) i++;
  if (i === start) return false;
  while (i < end && (message[i] === SP || message[i] === TAB)) i++;
  return i < end && message[i] === COLON;
}

/**
 * The values (unfolded, trimmed) of every From field a lenient reader sees in message[from,
 * headerLen): for the header a limit stopped the reader from parsing. Read as src/message/from.ts
 * reads the fields within the limits: a From field that starts a line is read twice when a bare CR
 * lies inside it, cut at the CR (as this scan reads it) and whole up to its LF (as the header
 * reader reads it: "From: ceo@ba<CR>nk.example"); malformed lines right below a From (a
 * continuation that lost its white space: "From: CEO<CRLF><ceo@bank.example>") are joined to it,
 * with a space and without. Linear: each line is read once or twice.
 */
export function fromValuesIn(message: Uint8Array, headerLen: number, from: number): string[] {
  const out: string[] = [];
  let last: { texts: string[]; tails: string[] } | undefined;
  const flush = () => {
    if (!last) return;
    for (const t of last.texts) {
      out.push(t);
      if (last.tails.length > 0) out.push(`${t} ${last.tails.join(" ")}`, `${t}${last.tails.join("")}`);
    }
    last = undefined;
  };
  scanHeaderFields(
    message,
    headerLen,
    (f) => {
      const colon = lenientFieldName(message, f.start, f.contentEnd, "from");
      if (colon < 0) {
        if (last && !wellFormedName(message, f.start, f.contentEnd))
          last.tails.push(unfold(decoder.decode(message.subarray(f.start, f.contentEnd))).trim());
        else flush();
        return;
      }
      flush();
      last = { texts: [unfold(decoder.decode(message.subarray(colon, f.contentEnd))).trim()], tails: [] };
      if (f.cut.mode !== "line" || message[f.next - 1] !== CR) return;
      // The field ended at a bare CR: its end for the header reader is the LF not followed by WSP.
      let end = f.next;
      for (;;) {
        const lf = message.indexOf(LF, end);
        if (lf < 0 || lf >= headerLen) {
          end = headerLen;
          break;
        }
        end = lf + 1;
        if (message[end] !== SP && message[end] !== TAB) break;
      }
      last.texts.push(unfold(decoder.decode(message.subarray(colon, end)).replace(/\r?\n$/, "")).trim());
    },
    from,
  );
  flush();
  return out;
}
