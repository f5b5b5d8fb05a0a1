import { fieldText, getField, type HeaderField } from "../message/header.js";
import { toBytes } from "../message/input.js";
import { parseHeaderBlock, splitMessage } from "../message/split.js";

export interface ParsedDsnRecipient {
  finalRecipient: string;
  originalRecipient?: string;
  action: string;
  status: string;
  remoteMta?: string;
  diagnosticCode?: string;
  lastAttemptDate?: string;
}

export interface ParsedDsn {
  reportingMta?: string;
  originalEnvelopeId?: string;
  arrivalDate?: string;
  recipients: ParsedDsnRecipient[];
  /** Header fields of the returned message (text/rfc822-headers or message/rfc822), when present. */
  originalHeaders?: HeaderField[];
}

export type DsnParse = { ok: true; dsn: ParsedDsn } | { ok: false; reason: string };

/** Content-Type parameters, quoted strings understood. */
function params(value: string): { type: string; params: Map<string, string> } {
  const [type = "", ...rest] = value.split(";");
  const map = new Map<string, string>();
  const text = rest.join(";");
  // Sticky: each parameter must start where the last ended, so a failed match costs one scan, not
  // one per position (an unanchored /g search here was quadratic on a long hostile header).
  const re = /\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)\s*;?/y;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === "") break;
    map.set(m[1]!.toLowerCase(), m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/\\(.)/g, "$1") : m[2]!);
  }
  return { type: type.trim().toLowerCase(), params: map };
}

/** The parts of a multipart body between --boundary lines. */
function mimeParts(body: Uint8Array, boundary: string): Uint8Array[] {
  const text = Buffer.from(body).toString("latin1");
  const delim = `--${boundary}`;
  const parts: Uint8Array[] = [];
  let pos = text.indexOf(delim);
  while (pos >= 0) {
    const lineEnd = text.indexOf("\n", pos);
    if (lineEnd < 0 || text.startsWith(`${delim}--`, pos)) break;
    const next = text.indexOf(`\n${delim}`, lineEnd);
    const end = next < 0 ? text.length : next;
    parts.push(Buffer.from(text.slice(lineEnd + 1, end > 0 && text[end - 1] === "\r" ? end - 1 : end), "latin1"));
    if (next < 0) break;
    pos = next + 1;
  }
  return parts;
}

/** "type; value" fields: the value after the type. */
const typed = (v: string | undefined) => (v === undefined ? undefined : v.includes(";") ? v.slice(v.indexOf(";") + 1).trim() : v.trim());

/**
 * Reads a delivery status notification (RFC 3464 in RFC 6522 multipart/report) into a typed structure.
 * Anything else is reported as not a DSN.
 */
export function parseDsn(message: Uint8Array | string): DsnParse {
  const m = splitMessage(toBytes(message));
  const ct = getField(m.headers, "content-type");
  if (!ct) return { ok: false, reason: "no Content-Type" };
  const { type, params: p } = params(fieldText(ct));
  if (type !== "multipart/report") return { ok: false, reason: `not multipart/report: ${type}` };
  const boundary = p.get("boundary");
  if (!boundary) return { ok: false, reason: "multipart/report without a boundary" };
  let statusPart: Uint8Array | undefined;
  let originalHeaders: HeaderField[] | undefined;
  for (const part of mimeParts(m.body, boundary)) {
    const sp = splitMessage(part);
    const partType = params(getField(sp.headers, "content-type") ? fieldText(getField(sp.headers, "content-type")!) : "text/plain").type;
    if (partType === "message/delivery-status" || partType === "message/global-delivery-status") statusPart = sp.body;
    else if (partType === "text/rfc822-headers" || partType === "message/rfc822") originalHeaders = splitMessage(sp.body).headers;
  }
  if (!statusPart) return { ok: false, reason: "no message/delivery-status part" };
  // Groups of fields separated by blank lines: per-message first, then one per recipient.
  const groups = Buffer.from(statusPart)
    .toString("utf8")
    .split(/\r?\n(?:[ \t]*\r?\n)+/)
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) => parseHeaderBlock(Buffer.from(`${g}\r\n`)).headers);
  const [first, ...rest] = groups;
  if (!first) return { ok: false, reason: "empty delivery-status part" };
  const get = (fields: HeaderField[], name: string) => {
    const f = getField(fields, name);
    return f ? fieldText(f).replace(/\s+/g, " ") : undefined;
  };
  const dsn: ParsedDsn = { recipients: [] };
  const reportingMta = typed(get(first, "reporting-mta"));
  if (reportingMta) dsn.reportingMta = reportingMta;
  const envid = get(first, "original-envelope-id");
  if (envid) dsn.originalEnvelopeId = envid;
  const arrival = get(first, "arrival-date");
  if (arrival) dsn.arrivalDate = arrival;
  for (const g of rest) {
    const finalRecipient = typed(get(g, "final-recipient"));
    const action = get(g, "action");
    const status = get(g, "status");
    if (!finalRecipient || !action || !status) continue;
    const r: ParsedDsnRecipient = { finalRecipient, action: action.toLowerCase(), status };
    const orig = typed(get(g, "original-recipient"));
    if (orig) r.originalRecipient = orig;
    const remote = typed(get(g, "remote-mta"));
    if (remote) r.remoteMta = remote;
    const diag = typed(get(g, "diagnostic-code"));
    if (diag) r.diagnosticCode = diag;
    const last = get(g, "last-attempt-date");
    if (last) r.lastAttemptDate = last;
    dsn.recipients.push(r);
  }
  if (dsn.recipients.length === 0) return { ok: false, reason: "no per-recipient fields" };
  if (originalHeaders) dsn.originalHeaders = originalHeaders;
  return { ok: true, dsn };
}
