import type { XMLParser } from "fast-xml-parser";
import type PostalMime from "postal-mime";
import { z } from "zod";
import { fastXmlParser, postalMime } from "../deps.js";
import { ArgumentError } from "../errors.js";
import { checkOptionKeys } from "../options.js";
import { mimeTooComplex } from "./mime-guard.js";
import type { AggregateRecord, AggregateReport, PolicyOverride } from "./types.js";
import { DEFAULT_UNPACK_LIMITS, gunzipCapped, isGzip, isZip, UnpackError, type UnpackLimits, unzipCapped } from "./unpack.js";
import { DEFAULT_XML_LIMITS, decodeXmlText, guardXml, type ScanMeter, type XmlLimits } from "./xml-guard.js";

export type ReportParseErrorCode =
  | "too-large"
  | "decompression-bomb"
  | "malformed-archive"
  | "malformed-mime"
  | "mime-limits"
  | "no-report"
  | "dtd"
  | "entity"
  | "nesting"
  | "malformed-xml"
  | "schema"
  | "date-range"
  | "too-many-records";

export interface ReportParseError {
  code: ReportParseErrorCode;
  message: string;
}

export type AggregateParse =
  | { ok: true; report: AggregateReport; container: "xml" | "gzip" | "zip"; email: boolean; filename?: string }
  | { ok: false; error: ReportParseError };

export interface ParseLimits extends UnpackLimits, XmlLimits {
  /** Most records in one report. Default 2,000,000. */
  maxRecords: number;
}

const LIMIT_KEYS = new Set(["maxInputBytes", "maxXmlBytes", "maxZipEntries", "maxDepth", "maxTagBytes", "maxElements", "maxRecords"]);

const ARRAYS = new Set([
  "feedback.record",
  "feedback.report_metadata.error",
  "feedback.record.row.policy_evaluated.reason",
  "feedback.record.auth_results.dkim",
  "feedback.record.auth_results.spf",
]);

// Made on first use: importing msgauth does not load the XML parser (see deps.ts).
let xmlParser: XMLParser | undefined;
const parser = (): XMLParser =>
  (xmlParser ??= new (fastXmlParser().XMLParser)({
    ignoreAttributes: true,
    removeNSPrefix: true,
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, jpath) => ARRAYS.has(String(jpath)),
  }));

// Text values: trimmed, entities decoded; enumerations compared in lower case (reporters vary).
const text = z.preprocess((v) => (typeof v === "string" ? decodeXmlText(v).trim() : v === "" ? "" : v), z.string().max(4096));
const lower = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess((v) => (typeof v === "string" ? decodeXmlText(v).trim().toLowerCase() : v), z.enum(values));
const int = z.preprocess((v) => (typeof v === "string" && /^\s*[0-9]{1,15}\s*$/.test(v) ? Number(v) : v), z.number().int().min(0));
const opt = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === "" ? undefined : v), t.optional());

const disposition = lower(["none", "quarantine", "reject"] as const);
const authWords = ["none", "pass", "fail", "softfail", "policy", "neutral", "temperror", "permerror"] as const;

const schema = z.object({
  feedback: z.object({
    version: opt(text),
    report_metadata: z.object({
      org_name: text,
      email: text,
      extra_contact_info: opt(text),
      report_id: text,
      date_range: z.object({ begin: int, end: int }),
      error: opt(z.array(text)),
      generator: opt(text),
    }),
    policy_published: z.object({
      domain: text,
      p: disposition,
      sp: opt(disposition),
      np: opt(disposition),
      adkim: opt(lower(["r", "s"] as const)),
      aspf: opt(lower(["r", "s"] as const)),
      discovery_method: opt(lower(["psl", "treewalk"] as const)),
      fo: opt(text),
      testing: opt(lower(["y", "n"] as const)),
      pct: opt(int),
    }),
    record: z
      .array(
        z.object({
          row: z.object({
            source_ip: text,
            count: int,
            policy_evaluated: z.object({
              disposition: lower(["none", "quarantine", "reject", "pass"] as const),
              dkim: lower(["pass", "fail"] as const),
              spf: lower(["pass", "fail"] as const),
              reason: opt(
                z.array(
                  z.object({
                    type: lower([
                      "local_policy",
                      "mailing_list",
                      "other",
                      "policy_test_mode",
                      "trusted_forwarder",
                      "forwarded",
                      "sampled_out",
                    ] as const),
                    comment: opt(text),
                  }),
                ),
              ),
            }),
          }),
          identifiers: z.object({ header_from: text, envelope_from: opt(text), envelope_to: opt(text) }),
          auth_results: z.preprocess(
            (v) => (v === "" ? {} : v),
            z.object({
              dkim: opt(z.array(z.object({ domain: text, selector: opt(text), result: lower(authWords), human_result: opt(text) }))),
              spf: opt(
                z.array(
                  z.object({
                    domain: text,
                    scope: opt(lower(["mfrom", "helo"] as const)),
                    result: lower(authWords),
                    human_result: opt(text),
                  }),
                ),
              ),
            }),
          ),
        }),
      )
      .optional(), // RFC 9990 requires a record; a report without one is read as empty
  }),
});

type Raw = z.infer<typeof schema>["feedback"];

function normalize(f: Raw, namespaced: boolean): AggregateReport {
  const m = f.report_metadata;
  const pp = f.policy_published;
  const report: AggregateReport = {
    schema: namespaced ? "rfc9990" : "rfc7489",
    metadata: {
      orgName: m.org_name,
      email: m.email,
      reportId: m.report_id,
      begin: m.date_range.begin,
      end: m.date_range.end,
      errors: m.error ?? [],
    },
    policy: { domain: pp.domain.toLowerCase(), p: pp.p },
    records: (f.record ?? []).map((r): AggregateRecord => {
      const pe = r.row.policy_evaluated;
      const rec: AggregateRecord = {
        sourceIp: r.row.source_ip,
        count: r.row.count,
        disposition: pe.disposition,
        dkim: pe.dkim,
        spf: pe.spf,
        reasons: (pe.reason ?? []).map(
          (x): PolicyOverride => (x.comment === undefined ? { type: x.type } : { type: x.type, comment: x.comment }),
        ),
        headerFrom: r.identifiers.header_from.toLowerCase(),
        dkimResults: (r.auth_results.dkim ?? []).map((d) => {
          const o: AggregateRecord["dkimResults"][number] = {
            domain: d.domain.toLowerCase(),
            result: d.result === "softfail" ? "fail" : d.result,
          };
          if (d.selector !== undefined) o.selector = d.selector;
          if (d.human_result !== undefined) o.humanResult = d.human_result;
          return o;
        }),
        spfResults: (r.auth_results.spf ?? []).map((s) => {
          const o: AggregateRecord["spfResults"][number] = { domain: s.domain.toLowerCase(), result: s.result };
          if (s.scope !== undefined) o.scope = s.scope;
          if (s.human_result !== undefined) o.humanResult = s.human_result;
          return o;
        }),
      };
      if (r.identifiers.envelope_from !== undefined) rec.envelopeFrom = r.identifiers.envelope_from.toLowerCase();
      if (r.identifiers.envelope_to !== undefined) rec.envelopeTo = r.identifiers.envelope_to.toLowerCase();
      return rec;
    }),
  };
  if (f.version !== undefined) report.version = f.version;
  if (m.extra_contact_info !== undefined) report.metadata.extraContactInfo = m.extra_contact_info;
  if (m.generator !== undefined) report.metadata.generator = m.generator;
  for (const k of ["sp", "np", "adkim", "aspf", "fo", "testing", "pct"] as const)
    if (pp[k] !== undefined) (report.policy as unknown as Record<string, unknown>)[k] = pp[k];
  if (pp.discovery_method !== undefined) report.policy.discoveryMethod = pp.discovery_method;
  return report;
}

/** The last second of year 9999 UTC: the schema allows 15 digits, a date-time needs a real year. */
export const MAX_REPORT_TIME = 253_402_300_799;

/** begin and end are seconds since the epoch no later than 9999-12-31T23:59:59Z, begin <= end. */
function checkDateRange(r: { begin: number; end: number }): string | undefined {
  if (r.begin > MAX_REPORT_TIME || r.end > MAX_REPORT_TIME)
    return `date_range ${r.begin}..${r.end} is past 9999-12-31T23:59:59Z (${MAX_REPORT_TIME} seconds)`;
  if (r.begin > r.end) return `date_range begins (${r.begin}) after it ends (${r.end})`;
  return undefined;
}

function fail(code: ReportParseErrorCode, message: string): { ok: false; error: ReportParseError } {
  return { ok: false, error: { code, message } };
}

/** Parses aggregate report XML text (either schema) with the guards first. */
export function parseAggregateXml(
  xml: string,
  limits: Partial<ParseLimits> = {},
): { ok: true; report: AggregateReport } | { ok: false; error: ReportParseError } {
  checkOptionKeys(limits, LIMIT_KEYS, "limits", (k) => `unknown limit ${k}`);
  const l = { ...DEFAULT_UNPACK_LIMITS, ...DEFAULT_XML_LIMITS, maxRecords: 2_000_000, ...limits };
  if (xml.length > l.maxXmlBytes) return fail("too-large", `the XML is over ${l.maxXmlBytes} bytes`);
  const start = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  const scan: ScanMeter = { steps: 0 };
  const guard = guardXml(start, l, scan);
  if (guard) return fail(guard.code, guard.message);
  let doc: unknown;
  try {
    doc = parser().parse(start, true);
  } catch (err) {
    return fail("malformed-xml", `not well-formed XML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null || !("feedback" in doc)) return fail("schema", "the root element is not <feedback>");
  const records = (doc as { feedback: { record?: unknown[] } }).feedback?.record;
  if (Array.isArray(records) && records.length > l.maxRecords) return fail("too-many-records", `more than ${l.maxRecords} records`);
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail("schema", `${issue.path.join(".")}: ${issue.message}`);
  }
  const range = checkDateRange(parsed.data.feedback.report_metadata.date_range);
  if (range) return fail("date-range", range);
  // The RFC 9990 namespace on the root element marks the new schema; without it, RFC 7489's.
  // (The root's start tag comes from the scan: a regex search for it rescans comment text: quadratic.)
  const root = scan.root ?? "";
  return { ok: true, report: normalize(parsed.data.feedback, root.includes("urn:ietf:params:xml:ns:dmarc-2.0")) };
}

const REPORT_TYPES = /^(?:application\/(?:x-)?(?:gzip|gzip-compressed|zip|x-zip-compressed|xml|octet-stream)|text\/xml)$/i;

function fromBytes(data: Uint8Array, l: ParseLimits, email: boolean, filename?: string): AggregateParse {
  try {
    let container: "xml" | "gzip" | "zip" = "xml";
    let xml = data;
    if (isGzip(data)) {
      container = "gzip";
      xml = gunzipCapped(data, l.maxXmlBytes);
    } else if (isZip(data)) {
      container = "zip";
      xml = unzipCapped(data, l);
    } else if (!looksLikeXml(data)) {
      return fail("malformed-archive", "not gzip, zip or XML");
    }
    if (xml.length > l.maxXmlBytes) return fail("too-large", `the XML is over ${l.maxXmlBytes} bytes`);
    const r = parseAggregateXml(new TextDecoder("utf-8").decode(xml), l);
    if (!r.ok) return r;
    return { ok: true, report: r.report, container, email, ...(filename ? { filename } : {}) };
  } catch (err) {
    if (err instanceof UnpackError) return fail(err.code, err.message);
    return fail("malformed-archive", (err as Error).message);
  }
}

/** True when the bytes start like XML (after a BOM and white space). */
function looksLikeXml(b: Uint8Array): boolean {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && i < 1024 && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return b[i] === 0x3c;
}

/**
 * Domain-owner side: parses an aggregate report as it arrives: bare XML, .xml.gz, .zip, or the whole
 * report email holding one of these; RFC 9990 and RFC 7489 schemas. Hostile input (DTDs, entities,
 * bombs, deep nesting, oversized tags, malformed MIME) gives { ok: false, error } with a code; never throws.
 */
export async function parseAggregateReport(input: Uint8Array | string, limits: Partial<ParseLimits> = {}): Promise<AggregateParse> {
  checkOptionKeys(limits, LIMIT_KEYS, "limits", (k) => `unknown limit ${k}`);
  const l: ParseLimits = { ...DEFAULT_UNPACK_LIMITS, ...DEFAULT_XML_LIMITS, maxRecords: 2_000_000, ...limits };
  const data = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  if (!(data instanceof Uint8Array)) throw new ArgumentError("input must be bytes or a string");
  if (data.length > l.maxInputBytes) return fail("too-large", `the input is ${data.length} bytes, over the limit of ${l.maxInputBytes}`);
  if (isGzip(data) || isZip(data) || looksLikeXml(data)) return fromBytes(data, l, false);
  const complex = mimeTooComplex(data);
  if (complex) return fail("mime-limits", complex);
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await postalMime().parse(data, { attachmentEncoding: "arraybuffer", maxNestingDepth: 20, maxHeadersSize: 256 * 1024 });
  } catch (err) {
    return fail("malformed-mime", `the email could not be parsed: ${(err as Error).message}`);
  }
  const candidates = email.attachments.filter((a) => REPORT_TYPES.test(a.mimeType) || /\.(?:xml|xml\.gz|gz|zip)$/i.test(a.filename ?? ""));
  if (candidates.length === 0) return fail("no-report", "the email has no report attachment (gzip, zip or XML)");
  let last: AggregateParse | undefined;
  for (const a of candidates.slice(0, 4)) {
    const bytes = new Uint8Array(a.content as ArrayBuffer);
    last = fromBytes(bytes, l, true, a.filename ?? undefined);
    if (last.ok) return last;
  }
  return last!;
}
