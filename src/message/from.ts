import { type Mailbox, parseAddressList } from "./address.js";
import { fieldText, fieldValue, type HeaderField, unfold } from "./header.js";
import { readerDomains, recoverDomains } from "./recover.js";
import { lenientFieldName } from "./scan.js";

export type AuthorDefect =
  | "no-from"
  | "multiple-from"
  | "no-mailbox"
  | "empty-group"
  | "syntax"
  | "bad-domain"
  | "ambiguous-local-part"
  | "group-name"
  | "header-not-read";

/**
 * The author of a message (RFC 5322 From), as DMARC needs it. Anything but exactly one From field
 * holding exactly one mailbox with a plain domain is reported, never silently narrowed to one guess.
 *
 * Two kinds of failure: "multiple-mailboxes" and "group" are a From that parsed, holding several
 * mailboxes (RFC 5322 3.6.2, RFC 6854), each with a plain domain: DMARC can evaluate each. Every
 * other reason is a From that is absent, repeated, or not a valid mailbox list: the author is in
 * doubt, and `domains` then holds every domain a mail reader could show for it (the strict parse
 * where a field parses, a lenient recovery where it does not), so that DMARC can apply the strictest
 * policy among them, never a pass.
 */
export type AuthorResult =
  | { ok: true; mailbox: Mailbox /** A-label, lower case */; domain: string }
  | {
      ok: false;
      reason: AuthorDefect | "multiple-mailboxes" | "group";
      detail: string;
      /** The mailboxes found, where the fields could be parsed. */
      mailboxes: Mailbox[];
      /** Every distinct author domain a reader could be shown, in A-label form, top field first. */
      domains: string[];
      /** Those of `domains` found only by the lenient recovery (src/message/recover.ts). */
      recovered?: string[];
      /**
       * Set when part of the header was never read (a stream past maxHeaderBytes): an author domain
       * may be there unseen, so DMARC applies reject (a domain not evaluated never counts as passed).
       */
      unseen?: string;
    };

interface FieldReading {
  mailboxes: Mailbox[];
  groups: number;
  /** Domains of strictly parsed mailboxes with plain domains. */
  plain: string[];
  /** Domains recovered leniently. */
  recovered: string[];
  defect?: { reason: AuthorDefect; detail: string };
}

/** A From field as a reader could see it: a real one, or one hidden in another line. */
interface FromText {
  text: string;
  /**
   * Malformed lines right below it (a continuation that lost its leading white space, or the rest of
   * a field cut by a line break inside it: "ceo@ba<CRLF>nk.example").
   */
  tail: string[];
  /** Found after a bare CR inside another field, or in a malformed line: not a field to us. */
  hidden: boolean;
}

const decoder = new TextDecoder("utf-8");
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;

/**
 * From fields a reader could see that the header reader did not: the text after a bare CR (which
 * some readers and MTAs take as a line break: "Subject: hi<CR>From: ceo@bank.example"), and a
 * malformed line that still reads as a From field (" From: ..." at the top). Linear in the field.
 */
function hiddenFroms(field: HeaderField, out: FromText[]): void {
  const raw = field.raw;
  if (field.malformed) fromLine(raw, 0, out);
  for (let i = raw.indexOf(CR); i >= 0; i = raw.indexOf(CR, i + 1)) if (raw[i + 1] !== LF) fromLine(raw, i + 1, out);
}

/**
 * The value of the line starting at `start`, when it reads as a From field to a lenient reader (the
 * name matching of src/message/scan.ts, shared with the border filter: "From\0:", " From :").
 */
function fromLine(raw: Uint8Array, start: number, out: FromText[]): void {
  let end = start;
  while (end < raw.length && raw[end] !== CR && raw[end] !== LF) end++;
  const colon = lenientFieldName(raw, start, end, "from");
  if (colon < 0) return;
  // Its folded continuation lines too ("\0From: CEO<CRLF> <ceo@bank.example>"): up to a line end
  // not followed by white space, or a bare CR.
  let stop = end;
  for (;;) {
    const next = raw[stop] === CR && raw[stop + 1] === LF ? stop + 2 : raw[stop] === LF ? stop + 1 : -1;
    if (next < 0 || (raw[next] !== SP && raw[next] !== TAB)) break;
    stop = next;
    while (stop < raw.length && raw[stop] !== CR && raw[stop] !== LF) stop++;
  }
  const text = unfold(decoder.decode(raw.subarray(colon, stop))).trim();
  out.push({ text, tail: [], hidden: true });
  // A malformed line read as a From: also whole, to the field's end, as the header reader would
  // read it ("<ceo@<CR>bank.example>"). Not after a bare CR: that reader cuts there, and the rest of
  // the field decoded once per bare CR would be quadratic.
  if (start === 0 && stop < raw.length) {
    const whole = unfold(decoder.decode(raw.subarray(colon))).trim();
    if (whole !== text) out.push({ text: whole, tail: [], hidden: true });
  }
}

/** Whether a malformed line's first line reads as a From field to a lenient reader. */
function readsAsFrom(raw: Uint8Array): boolean {
  let end = 0;
  while (end < raw.length && raw[end] !== CR && raw[end] !== LF) end++;
  return lenientFieldName(raw, 0, end, "from") >= 0;
}

/**
 * The malformed lines below field `i`, up to one that is itself read as a From (it has its own
 * tail): each line is in one tail at most, so this stays linear.
 */
function linesBelow(headers: readonly HeaderField[], i: number): string[] {
  const lines: string[] = [];
  for (let j = i + 1; j < headers.length && headers[j]!.malformed; j++) {
    if (readsAsFrom(headers[j]!.raw)) break;
    const line = unfold(decoder.decode(headers[j]!.raw)).trim();
    if (line !== "") lines.push(line);
  }
  return lines;
}

/**
 * fieldText(field), its unfolding (a regular expression) skipped for a value on one line, as most
 * From fields are (test/message/from-fast.test.ts holds the two together).
 */
export function fromFieldText(field: HeaderField): string {
  const value = fieldValue(field);
  return (value.includes("\n") ? unfold(value) : value).trim();
}

/** The From fields a reader could see, top to bottom. */
function fromTexts(headers: readonly HeaderField[]): FromText[] {
  const out: FromText[] = [];
  for (let i = 0; i < headers.length; i++) {
    const f = headers[i]!;
    if (f.key === "from") out.push({ text: fromFieldText(f), tail: linesBelow(headers, i), hidden: false });
    const found = out.length;
    hiddenFroms(f, out);
    // The malformed lines below join the end of the field: the last From found in it (the bottom
    // segment after a bare CR, or the malformed line itself, read whole).
    if (out.length > found) out[out.length - 1]!.tail = linesBelow(headers, i);
  }
  return out;
}

/**
 * Whether a local part holds '@', "=?" or a control or format character: what
 * `local.includes("@") || local.includes("=?") || (!/^[\x20-\x7e]*$/.test(local) && /[\p{Cc}\p{Cf}]/u.test(local))`
 * decides, in one pass over the characters, the Unicode class looked up only past printable ASCII
 * (test/message/from-fast.test.ts holds the two together).
 */
export function localShowsMore(local: string): boolean {
  let printable = true;
  for (let i = 0; i < local.length; i++) {
    const c = local.charCodeAt(i);
    if (c === 0x40 || (c === 0x3d && local.charCodeAt(i + 1) === 0x3f)) return true;
    if (c < 0x20 || c > 0x7e) printable = false;
  }
  return !printable && /[\p{Cc}\p{Cf}]/u.test(local);
}

function flag(reading: FieldReading, reason: AuthorDefect, detail: string): void {
  reading.defect ??= { reason, detail };
}

/** The domains the lenient recovery finds in a From field and the malformed lines below it. */
function recoverField(from: FromText): string[] {
  const { text, tail } = from;
  if (tail.length === 0) return recoverDomains(text);
  // A reader may join the lines cut by a line break with a space, or with nothing between them.
  return [...new Set([...recoverDomains(`${text} ${tail.join(" ")}`), ...recoverDomains(text + tail.join(""))])];
}

/** One From field: the strict parse, and where it fails or is doubtful, the lenient recovery. */
function readField(from: FromText): FieldReading {
  const { text } = from;
  if (from.hidden) {
    return {
      mailboxes: [],
      groups: 0,
      plain: [],
      recovered: recoverField(from),
      defect: { reason: "syntax", detail: "a From field hidden after a bare CR or in a malformed line" },
    };
  }
  const parsed = parseAddressList(text);
  if (!parsed.ok) {
    return {
      mailboxes: [],
      groups: 0,
      plain: [],
      recovered: recoverField(from),
      defect: { reason: "syntax", detail: `From: ${parsed.error} at ${parsed.position}` },
    };
  }
  const reading: FieldReading = { mailboxes: parsed.mailboxes, groups: parsed.groups, plain: [], recovered: [] };
  for (const m of parsed.mailboxes) {
    const r = readerDomains(m.domain);
    if (r.clean) reading.plain.push(r.domains[0]!);
    else {
      reading.recovered.push(...r.domains);
      flag(reading, "bad-domain", `From domain '${m.domain}' is not a plain domain name`);
    }
    // A quoted local part holding '@' ("ceo@bank.example"@evil.example) or hidden characters shows
    // a second address to the reader.
    // So does an encoded word there (RFC 2047 5 forbids it; some readers decode it anyway:
    // =?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=@evil.example shows as ceo@bank.example@evil.example).
    if (localShowsMore(m.local)) {
      reading.recovered.push(...recoverDomains(m.local));
      flag(reading, "ambiguous-local-part", `From local part '${m.local}' holds '@', an encoded word or hidden characters`);
    }
  }
  // A group's display name is shown by readers as a display name would be, but groups are not what
  // mailing lists use to name the original sender: a group name that reads as an address
  // ("ceo@bank.example": a@evil.example;, or an encoded word standing for one) is doubt.
  // (Only mailboxes inside a group have one: with no group syntax there is nothing to look at.)
  if (parsed.groups > 0)
    for (const name of new Set(parsed.mailboxes.map((m) => m.group).filter((g) => g !== undefined))) {
      const shown = recoverDomains(name);
      if (shown.length === 0) continue;
      reading.recovered.push(...shown);
      flag(reading, "group-name", `From group name '${name}' reads as an address`);
    }
  if (parsed.mailboxes.length === 0) flag(reading, "no-mailbox", "From holds no mailbox");
  // An empty group shows only its display name ("ceo@bank.example":;). Groups sharing a name count
  // once here, which can only make this stricter.
  if (parsed.groups > 0) {
    const filled = new Set(parsed.mailboxes.filter((m) => m.group !== undefined).map((m) => m.group)).size;
    if (parsed.groups > filled) flag(reading, "empty-group", "From holds an empty group, shown by its display name only");
  }
  // In doubt, the whole field as a reader shows it: an encoded word standing for the domain
  // (ceo@=?utf-8?q?bank.example?=), a display name of an empty group.
  if (from.tail.length > 0) flag(reading, "syntax", "From is followed by malformed lines a reader may join to it");
  if (reading.defect) reading.recovered.push(...recoverField(from));
  return reading;
}

/**
 * With no From field, readers show the author from Sender or Resent-From instead: their domains
 * are the ones a reader could be shown.
 */
function senderDomains(headers: readonly HeaderField[]): string[] {
  const out = new Set<string>();
  for (const f of headers) {
    if (f.key === "sender" || f.key === "resent-from") {
      for (const d of recoverDomains(fieldText(f))) out.add(d);
      continue;
    }
    if (!f.malformed) continue;
    // A malformed line a lenient reader takes as one of them ("\0Sender:", "Resent-\u200bFrom:").
    let end = 0;
    while (end < f.raw.length && f.raw[end] !== CR && f.raw[end] !== LF) end++;
    for (const name of ["sender", "resent-from"]) {
      const colon = lenientFieldName(f.raw, 0, end, name);
      if (colon >= 0) for (const d of recoverDomains(unfold(decoder.decode(f.raw.subarray(colon))))) out.add(d);
    }
  }
  return [...out];
}

/** What the header reader reports besides the fields (src/message/split.ts ParsedHeaders). */
export interface HeaderReadInfo {
  error?: string | undefined;
  beyondLimit?: { from: string[]; complete: boolean } | undefined;
}

/**
 * The author of a message. Pass the header reader's result as `read` (openMessage, splitMessage):
 * when a limit stopped it (too many fields, too many bytes), the author is never `ok`: the From
 * fields found past the limit count too, every domain is judged, and DMARC cannot pass.
 */
export function parseAuthor(headers: readonly HeaderField[], read: HeaderReadInfo = {}): AuthorResult {
  const result = authorOf(headers, read.beyondLimit?.from ?? []);
  if (read.error === undefined) return result;
  // The header was not read whole: never a pass, whatever was found.
  const detail = `the header was not read whole (${read.error})${read.beyondLimit?.complete === false ? ", and a part of it was never read: an author domain there could not be seen" : ""}`;
  const out: AuthorResult = result.ok
    ? { ok: false, reason: "header-not-read", detail, mailboxes: [result.mailbox], domains: [result.domain] }
    : { ...result, reason: "header-not-read", detail: `${detail}; ${result.detail}` };
  if (read.beyondLimit?.complete === false) out.unseen = detail;
  return out;
}

/** At most a few names in a detail text: a hostile From with thousands of domains must not make it grow with them. */
function listSome(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function authorOf(headers: readonly HeaderField[], beyond: readonly string[]): AuthorResult {
  const fields = fromTexts(headers);
  for (const text of beyond) fields.push({ text, tail: [], hidden: false });
  if (fields.length === 0) {
    const shown = senderDomains(headers);
    const result: AuthorResult = { ok: false, reason: "no-from", detail: "the message has no From field", mailboxes: [], domains: shown };
    if (shown.length > 0) {
      result.recovered = shown;
      result.detail += `; Sender or Resent-From a reader could show instead: ${listSome(shown)}`;
    }
    return result;
  }
  const readings = fields.map(readField);
  const only = readings[0]!;
  if (readings.length === 1 && !only.defect && only.groups === 0 && only.mailboxes.length === 1)
    return { ok: true, mailbox: only.mailboxes[0]!, domain: only.plain[0]! }; // the usual case
  const mailboxes = readings.flatMap((r) => r.mailboxes);
  const plain = new Set(readings.flatMap((r) => r.plain));
  const domains = [...new Set(readings.flatMap((r) => [...r.plain, ...r.recovered]))];
  const recovered = domains.filter((d) => !plain.has(d));
  const fail = (reason: Extract<AuthorResult, { ok: false }>["reason"], detail: string): AuthorResult => {
    const result: AuthorResult = { ok: false, reason, detail, mailboxes, domains };
    if (recovered.length > 0) {
      result.recovered = recovered;
      result.detail += `; domains a reader could be shown: ${listSome(recovered)}`;
    } else if (domains.length === 0) {
      // Nothing in From to show ("From: undisclosed-recipients:;"): a reader may show Sender.
      const shown = senderDomains(headers);
      if (shown.length > 0) {
        result.domains = result.recovered = shown;
        result.detail += `; Sender or Resent-From a reader could show instead: ${listSome(shown)}`;
      }
    }
    return result;
  };
  if (fields.length > 1) {
    // Every field counts, parsed or not: a broken field is never dropped for a clean one.
    const broken = readings.filter((r) => r.defect).length;
    return fail(
      "multiple-from",
      `the message has ${fields.length} From fields (RFC 5322 3.6 allows one)${broken ? `, ${broken} of them not a valid mailbox list` : ""}`,
    );
  }
  if (only.defect) return fail(only.defect.reason, only.defect.detail);
  if (only.groups > 0) return fail("group", "From holds group syntax (RFC 6854: each mailbox is evaluated)");
  return fail("multiple-mailboxes", `From holds ${mailboxes.length} mailboxes`);
}
