import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createGzip, gzipSync } from "node:zlib";
import type { DmarcUri } from "../dmarc/record.js";
import type { Store } from "../store/types.js";
import { decodeRecord } from "./collect.js";
import type { AggregateRecord, AggregateReport, PolicyPublished, ReportMetadata } from "./types.js";
import { XML_TAIL, xmlHead, xmlRecord } from "./xml.js";

/** Who sends the reports (report_metadata) and the receiver name in file names. */
export interface ReporterIdentity {
  /** org_name, e.g. "Example Mail". */
  orgName: string;
  /** email: the contact address, also the From of report emails. */
  email: string;
  /** The Mail Receiver's domain: the report file name and the Subject's Submitter. */
  receiver: string;
  extraContactInfo?: string;
  /** generator; default "msgauth". */
  generator?: string;
}

export interface GeneratedReport {
  policyDomain: string;
  policy: PolicyPublished;
  /** Where the domain asked reports to go (rua=), as last seen in the period. */
  rua: DmarcUri[];
  metadata: ReportMetadata;
  /** RFC 9990 3.5.2: receiver!policy-domain!begin!end!unique-id.xml.gz */
  filename: string;
  /** The XML, gzip-compressed. */
  gzip: Uint8Array;
  /** Uncompressed XML size, bytes. */
  xmlBytes: number;
  records: number;
  messages: number;
}

/** The report ID (RFC 9990 3.5.1, dot-atom@dot-atom) and the file name's unique-id (ALPHA / DIGIT). */
export function newReportId(policyDomain: string, begin: number, receiver: string): { reportId: string; uniqueId: string } {
  const uniqueId = randomBytes(8).toString("hex");
  return { reportId: `${begin}.${policyDomain}.${uniqueId}@${receiver}`, uniqueId };
}

/**
 * Streams XML text into gzip (node:zlib, native: about three times fflate's speed here), in ~64 KB
 * pieces with backpressure: bounded memory for the text however many records; the compressed
 * output is collected.
 */
class GzipSink {
  readonly #chunks: Buffer[] = [];
  readonly #gz = createGzip({ level: 6 });
  #pending = "";
  bytes = 0;

  constructor() {
    this.#gz.on("data", (c: Buffer) => this.#chunks.push(c));
  }
  async write(s: string): Promise<void> {
    this.#pending += s;
    if (this.#pending.length >= 65_536) await this.#flush();
  }
  async #flush(): Promise<void> {
    const b = Buffer.from(this.#pending, "utf8");
    this.bytes += b.length;
    this.#pending = "";
    if (!this.#gz.write(b)) await once(this.#gz, "drain");
  }
  async end(): Promise<Uint8Array> {
    await this.#flush();
    const ended = once(this.#gz, "end");
    this.#gz.end();
    await ended;
    return Buffer.concat(this.#chunks);
  }
}

/**
 * RFC 9990 3.5.2: receiver "!" policy-domain "!" begin "!" end "!" unique-id ".xml.gz". Names are
 * domain names; anything else (a slash, a "!") is replaced so the name is always one safe file name.
 */
export function reportFilename(receiver: string, domain: string, begin: number, end: number, uniqueId: string): string {
  const safe = (d: string) => d.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return `${safe(receiver)}!${safe(domain)}!${begin}!${end}!${uniqueId}.xml.gz`;
}

function metadataFor(identity: ReporterIdentity, reportId: string, begin: number, end: number, errors: string[] = []): ReportMetadata {
  const m: ReportMetadata = {
    orgName: identity.orgName,
    email: identity.email,
    reportId,
    begin,
    end,
    errors,
    generator: identity.generator ?? "msgauth",
  };
  if (identity.extraContactInfo !== undefined) m.extraContactInfo = identity.extraContactInfo;
  return m;
}

/** The XML of a report held in memory (small reports, tests, re-serializing a parsed report). */
export function aggregateXml(report: Pick<AggregateReport, "metadata" | "policy" | "records">): string {
  return xmlHead(report.metadata, report.policy) + report.records.map(xmlRecord).join("") + XML_TAIL;
}

/**
 * Generates one policy domain's report from a period map in the store (see AggregateCollector):
 * the policy most seen in the period, then every record, streamed into gzip. Two passes over the map
 * (the policy first: the XML needs it before the records). Undefined for an empty map.
 */
export async function generateFromStore(
  store: Store,
  map: string,
  period: { begin: number; seconds: number; domain: string },
  identity: ReporterIdentity,
  ids: { reportId: string; uniqueId: string } = newReportId(period.domain, period.begin, identity.receiver),
): Promise<GeneratedReport | undefined> {
  let best: { policy: PolicyPublished; rua: DmarcUri[] } | undefined;
  let bestCount = -1;
  for await (const [field, count] of store.entries(map)) {
    if (field[0] === "p" && count > bestCount) {
      best = JSON.parse(field.slice(1)) as { policy: PolicyPublished; rua: DmarcUri[] };
      bestCount = count;
    }
  }
  if (!best) return undefined;
  const end = period.begin + period.seconds - 1;
  const metadata = metadataFor(identity, ids.reportId, period.begin, end);
  const sink = new GzipSink();
  await sink.write(xmlHead(metadata, best.policy));
  let records = 0;
  let messages = 0;
  for await (const [field, count] of store.entries(map)) {
    if (field[0] !== "r" || count <= 0) continue;
    await sink.write(xmlRecord(decodeRecord(field, count)));
    records++;
    messages += count;
  }
  if (records === 0) return undefined;
  await sink.write(XML_TAIL);
  const gzip = await sink.end();
  return {
    policyDomain: period.domain,
    policy: best.policy,
    rua: best.rua,
    metadata,
    filename: reportFilename(identity.receiver, period.domain, period.begin, end, ids.uniqueId),
    gzip,
    xmlBytes: sink.bytes,
    records,
    messages,
  };
}

/** Generates a report from records in memory (for callers keeping their own counts). */
export function generateReport(
  policy: PolicyPublished,
  records: readonly AggregateRecord[],
  period: { begin: number; end: number },
  identity: ReporterIdentity,
): Omit<GeneratedReport, "rua"> {
  const ids = newReportId(policy.domain, period.begin, identity.receiver);
  const metadata = metadataFor(identity, ids.reportId, period.begin, period.end);
  const xml = Buffer.from(aggregateXml({ metadata, policy, records: [...records] }), "utf8");
  return {
    policyDomain: policy.domain,
    policy,
    metadata,
    filename: reportFilename(identity.receiver, policy.domain, period.begin, period.end, ids.uniqueId),
    gzip: gzipSync(xml),
    xmlBytes: xml.length,
    records: records.length,
    messages: records.reduce((n, r) => n + r.count, 0),
  };
}
