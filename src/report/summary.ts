import type { AggregateReport, EvaluatedDisposition } from "./types.js";

export interface SourceStats {
  /** A source IP, or a header From domain. */
  key: string;
  messages: number;
  /** Messages with an aligned DKIM pass, an aligned SPF pass, and either (DMARC pass). */
  dkimPass: number;
  spfPass: number;
  dmarcPass: number;
  dispositions: Partial<Record<EvaluatedDisposition, number>>;
  /** The other side: header From domains for an IP, source IPs for a domain (at most 20). */
  related: string[];
}

export interface FailingSource {
  sourceIp: string;
  headerFrom: string;
  /** Messages from this IP as this domain that failed DMARC (no aligned pass). */
  messages: number;
  /** DKIM d= and SPF domains seen, with results: what it authenticated as instead. */
  dkim: string[];
  spf: string[];
  dispositions: Partial<Record<EvaluatedDisposition, number>>;
  reporters: string[];
}

export interface DayStats {
  /** The UTC day (seconds since the epoch at 00:00). */
  day: number;
  messages: number;
  dkimPass: number;
  spfPass: number;
  dmarcPass: number;
}

export interface ReportSummary {
  reports: number;
  messages: number;
  dkimPass: number;
  spfPass: number;
  dmarcPass: number;
  /** Earliest begin and latest end of the reports. */
  begin?: number;
  end?: number;
  reporters: string[];
  policyDomains: string[];
  bySourceIp: SourceStats[];
  byHeaderFrom: SourceStats[];
  /** "Who sends as me and fails?": sources failing alignment, most messages first. */
  failing: FailingSource[];
  byDay: DayStats[];
}

const MAX_RELATED = 20;

function add(
  map: Map<string, SourceStats>,
  key: string,
  other: string,
  n: number,
  dkim: boolean,
  spf: boolean,
  disp: EvaluatedDisposition,
) {
  let s = map.get(key);
  if (!s) map.set(key, (s = { key, messages: 0, dkimPass: 0, spfPass: 0, dmarcPass: 0, dispositions: {}, related: [] }));
  s.messages += n;
  if (dkim) s.dkimPass += n;
  if (spf) s.spfPass += n;
  if (dkim || spf) s.dmarcPass += n;
  s.dispositions[disp] = (s.dispositions[disp] ?? 0) + n;
  if (s.related.length < MAX_RELATED && !s.related.includes(other)) s.related.push(other);
}

const push = (list: string[], v: string) => {
  if (list.length < MAX_RELATED && !list.includes(v)) list.push(v);
};

/**
 * Domain-owner side: totals, pass rates and failing sources over any number of aggregate reports, by
 * source IP, by header From domain and by UTC day (a report counts on the day its period begins).
 */
export function summarizeReports(reports: readonly AggregateReport[]): ReportSummary {
  const byIp = new Map<string, SourceStats>();
  const byFrom = new Map<string, SourceStats>();
  const failing = new Map<string, FailingSource>();
  const days = new Map<number, DayStats>();
  const s: ReportSummary = {
    reports: reports.length,
    messages: 0,
    dkimPass: 0,
    spfPass: 0,
    dmarcPass: 0,
    reporters: [],
    policyDomains: [],
    bySourceIp: [],
    byHeaderFrom: [],
    failing: [],
    byDay: [],
  };
  for (const r of reports) {
    if (!s.reporters.includes(r.metadata.orgName)) s.reporters.push(r.metadata.orgName);
    if (!s.policyDomains.includes(r.policy.domain)) s.policyDomains.push(r.policy.domain);
    s.begin = Math.min(s.begin ?? r.metadata.begin, r.metadata.begin);
    s.end = Math.max(s.end ?? r.metadata.end, r.metadata.end);
    const dayKey = r.metadata.begin - (r.metadata.begin % 86400);
    let day = days.get(dayKey);
    if (!day) days.set(dayKey, (day = { day: dayKey, messages: 0, dkimPass: 0, spfPass: 0, dmarcPass: 0 }));
    for (const rec of r.records) {
      const n = rec.count;
      const dkim = rec.dkim === "pass";
      const spf = rec.spf === "pass";
      s.messages += n;
      day.messages += n;
      for (const t of [s, day]) {
        if (dkim) t.dkimPass += n;
        if (spf) t.spfPass += n;
        if (dkim || spf) t.dmarcPass += n;
      }
      add(byIp, rec.sourceIp, rec.headerFrom, n, dkim, spf, rec.disposition);
      add(byFrom, rec.headerFrom, rec.sourceIp, n, dkim, spf, rec.disposition);
      if (!dkim && !spf) {
        const key = `${rec.sourceIp}\u0000${rec.headerFrom}`;
        let f = failing.get(key);
        if (!f)
          failing.set(
            key,
            (f = { sourceIp: rec.sourceIp, headerFrom: rec.headerFrom, messages: 0, dkim: [], spf: [], dispositions: {}, reporters: [] }),
          );
        f.messages += n;
        f.dispositions[rec.disposition] = (f.dispositions[rec.disposition] ?? 0) + n;
        for (const d of rec.dkimResults) push(f.dkim, `${d.domain}=${d.result}`);
        for (const p of rec.spfResults) push(f.spf, `${p.domain}=${p.result}`);
        push(f.reporters, r.metadata.orgName);
      }
    }
  }
  const byMessages = <T extends { messages: number }>(a: T, b: T) => b.messages - a.messages;
  s.bySourceIp = [...byIp.values()].sort(byMessages);
  s.byHeaderFrom = [...byFrom.values()].sort(byMessages);
  s.failing = [...failing.values()].sort(byMessages);
  s.byDay = [...days.values()].sort((a, b) => a.day - b.day);
  return s;
}

/** YYYY-MM-DD of a time in seconds, or "?" when it is not a date (summaries take any report values). */
export function utcDay(seconds: number | undefined): string {
  const d = new Date((seconds ?? Number.NaN) * 1000);
  return Number.isNaN(d.getTime()) ? "?" : d.toISOString().slice(0, 10);
}

const pct = (n: number, of: number) => (of === 0 ? "-" : `${((100 * n) / of).toFixed(1)}%`);

/** A plain-text table of a summary, for a terminal. */
export function summaryText(s: ReportSummary, esc: (t: string) => string = (t) => t): string {
  const lines: string[] = [];
  const range = s.begin !== undefined ? `${utcDay(s.begin)} to ${utcDay(s.end! + 1)}` : "-";
  lines.push(
    `${s.reports} reports from ${s.reporters.map(esc).join(", ") || "-"} for ${s.policyDomains.map(esc).join(", ") || "-"}, ${range}`,
  );
  lines.push(
    `${s.messages} messages: DMARC pass ${pct(s.dmarcPass, s.messages)}, DKIM aligned pass ${pct(s.dkimPass, s.messages)}, SPF aligned pass ${pct(s.spfPass, s.messages)}`,
  );
  const table = (title: string, head: string[], rows: string[][]) => {
    lines.push("", title);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    // Numbers and percentages right-aligned, text left-aligned.
    const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^(?:[0-9.]+%?|-)$/.test(r[i]!)));
    const fmt = (r: string[]) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd();
    lines.push(fmt(head), ...rows.map(fmt));
    if (rows.length === 0) lines.push("(none)");
  };
  const statRows = (list: SourceStats[]) =>
    list
      .slice(0, 50)
      .map((x) => [esc(x.key), String(x.messages), pct(x.dmarcPass, x.messages), pct(x.dkimPass, x.messages), pct(x.spfPass, x.messages)]);
  table(
    "Failing sources (no aligned DKIM or SPF pass): who sends as you and fails",
    ["source IP", "header from", "messages", "DKIM", "SPF"],
    s.failing
      .slice(0, 50)
      .map((f) => [
        esc(f.sourceIp),
        esc(f.headerFrom),
        String(f.messages),
        esc(f.dkim.join(" ") || "none"),
        esc(f.spf.join(" ") || "none"),
      ]),
  );
  table("By source IP", ["source IP", "messages", "DMARC", "DKIM", "SPF"], statRows(s.bySourceIp));
  table("By header From domain", ["domain", "messages", "DMARC", "DKIM", "SPF"], statRows(s.byHeaderFrom));
  return `${lines.join("\n")}\n`;
}
