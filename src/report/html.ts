import { checkOptionKeys } from "../options.js";
import { type ReportSummary, utcDay } from "./summary.js";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const pct = (n: number, of: number) => (of === 0 ? 0 : (100 * n) / of);
const fmt = (n: number, of: number) => (of === 0 ? "-" : `${pct(n, of).toFixed(1)}%`);
const day = utcDay;

/** An inline SVG line chart of DMARC, DKIM and SPF pass rates by day (no script, no fonts fetched). */
function chart(s: ReportSummary): string {
  const W = 760;
  const H = 260;
  const L = 48;
  const R = 44; // room for the last date label
  const T = 16;
  const B = 40;
  const days = s.byDay;
  const x = (i: number) => (days.length <= 1 ? L + (W - L - R) / 2 : L + (i * (W - L - R)) / (days.length - 1));
  const y = (p: number) => T + ((100 - p) * (H - T - B)) / 100;
  const series = [
    { name: "DMARC", color: "#1b7f3b", dash: "", get: (d: (typeof days)[number]) => pct(d.dmarcPass, d.messages) },
    { name: "DKIM", color: "#1f5fbf", dash: "7 4", get: (d: (typeof days)[number]) => pct(d.dkimPass, d.messages) },
    { name: "SPF", color: "#c26a00", dash: "2 4", get: (d: (typeof days)[number]) => pct(d.spfPass, d.messages) },
  ];
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Pass rates by day">`;
  for (const p of [0, 25, 50, 75, 100]) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(p)}" y2="${y(p)}" class="grid"/><text x="${L - 6}" y="${y(p) + 4}" text-anchor="end" class="axis">${p}%</text>`;
  }
  const step = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    if (i % step === 0 || i === days.length - 1)
      svg += `<text x="${x(i)}" y="${H - B + 18}" text-anchor="middle" class="axis">${day(d.day)}</text>`;
  });
  for (const se of series) {
    const pts = days.map((d, i) => `${x(i).toFixed(1)},${y(se.get(d)).toFixed(1)}`);
    if (pts.length > 1)
      svg += `<polyline fill="none" stroke="${se.color}" stroke-width="2.5"${se.dash ? ` stroke-dasharray="${se.dash}"` : ""} points="${pts.join(" ")}"/>`;
    days.forEach((d, i) => {
      svg += `<circle cx="${x(i).toFixed(1)}" cy="${y(se.get(d)).toFixed(1)}" r="3.5" fill="${se.color}"><title>${se.name} ${day(d.day)}: ${fmt(se.name === "DMARC" ? d.dmarcPass : se.name === "DKIM" ? d.dkimPass : d.spfPass, d.messages)} of ${d.messages}</title></circle>`;
    });
  }
  series.forEach((se, i) => {
    svg += `<rect x="${L + 10 + i * 90}" y="${H - 14}" width="12" height="12" fill="${se.color}"/><text x="${L + 26 + i * 90}" y="${H - 4}" class="axis">${se.name}</text>`;
  });
  return `${svg}</svg>`;
}

/** A horizontal bar: the pass rate as a filled share. */
const bar = (n: number, of: number) => `<span class="bar"><span style="width:${pct(n, of).toFixed(1)}%"></span></span> ${fmt(n, of)}`;

/**
 * One self-contained HTML page for a summary: totals, a chart of pass rates over time, the failing
 * sources and the sources by IP and by domain. Inline CSS and SVG only: nothing is fetched, no script.
 */
export function summaryHtml(s: ReportSummary, options: { title?: string } = {}): string {
  checkOptionKeys(options, ["title"], "options", (k) => `options.${k}: unknown option (known: title)`);
  const title = options.title ?? `DMARC reports for ${s.policyDomains.join(", ") || "-"}`;
  const range = s.begin !== undefined ? `${day(s.begin)} to ${day(s.end! + 1)}` : "no reports";
  const failing = s.failing
    .slice(0, 200)
    .map(
      (f) =>
        `<tr><td>${esc(f.sourceIp)}</td><td>${esc(f.headerFrom)}</td><td class="n">${f.messages}</td><td>${esc(f.dkim.join(", ") || "none")}</td><td>${esc(f.spf.join(", ") || "none")}</td><td>${esc(
          Object.entries(f.dispositions)
            .map(([k, v]) => `${k} ${v}`)
            .join(", "),
        )}</td><td>${esc(f.reporters.join(", "))}</td></tr>`,
    )
    .join("");
  const sources = (list: ReportSummary["bySourceIp"]) =>
    list
      .slice(0, 200)
      .map(
        (x) =>
          `<tr><td>${esc(x.key)}</td><td class="n">${x.messages}</td><td>${bar(x.dmarcPass, x.messages)}</td><td>${bar(x.dkimPass, x.messages)}</td><td>${bar(x.spfPass, x.messages)}</td><td>${esc(x.related.join(", "))}</td></tr>`,
      )
      .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5b6475;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:10px 16px;min-width:140px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;background:#fff;border:1px solid #dde2ea;width:100%;max-width:1200px}
th,td{padding:5px 10px;border-bottom:1px solid #eef1f5;text-align:left;vertical-align:top}th{background:#f1f4f8;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;width:70px;height:8px;background:#f3d3d3;border-radius:4px;overflow:hidden;vertical-align:middle}
.bar span{display:block;height:100%;background:#3a9a5b}
svg{background:#fff;border:1px solid #dde2ea;border-radius:8px}.grid{stroke:#e6e9ef}.axis{font-size:11px;fill:#5b6475}
.fail td:first-child{font-family:ui-monospace,monospace}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta">${s.reports} reports from ${esc(s.reporters.join(", ") || "-")}, ${esc(range)}</div>
<div class="cards">
<div class="card">messages<b>${s.messages}</b></div>
<div class="card">DMARC pass<b>${fmt(s.dmarcPass, s.messages)}</b></div>
<div class="card">DKIM aligned pass<b>${fmt(s.dkimPass, s.messages)}</b></div>
<div class="card">SPF aligned pass<b>${fmt(s.spfPass, s.messages)}</b></div>
<div class="card">failing sources<b>${s.failing.length}</b></div>
</div>
<h2>Pass rates by day</h2>
${chart(s)}
<h2>Failing sources: who sends as you and fails</h2>
<table class="fail"><thead><tr><th>source IP</th><th>header from</th><th>messages</th><th>DKIM</th><th>SPF</th><th>disposition</th><th>reported by</th></tr></thead><tbody>${failing || '<tr><td colspan="7">none</td></tr>'}</tbody></table>
<h2>By source IP</h2>
<table><thead><tr><th>source IP</th><th>messages</th><th>DMARC</th><th>DKIM</th><th>SPF</th><th>header from</th></tr></thead><tbody>${sources(s.bySourceIp)}</tbody></table>
<h2>By header From domain</h2>
<table><thead><tr><th>domain</th><th>messages</th><th>DMARC</th><th>DKIM</th><th>SPF</th><th>source IPs</th></tr></thead><tbody>${sources(s.byHeaderFrom)}</tbody></table>
</body></html>
`;
}
