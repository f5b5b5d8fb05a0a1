import { parseArgs } from "node:util";
import { NodeResolver } from "../dns/node.js";
import type { Resolver } from "../dns/types.js";
import { FixtureResolver } from "../dns/zone.js";
import { describeError } from "../errors.js";
import { parseTlsReport, parseTlsReportEmail, type TlsReportError } from "../tlsrpt/parse.js";
import { type TlsReport, tlsReportToJson } from "../tlsrpt/report.js";
import { escapeText, safeJson } from "./escape.js";
import { readReportInput, readZoneFile } from "./inputs.js";
import type { CliIo } from "./main.js";

// The exit codes of main.ts's EXIT (not imported: main.ts imports this module).
const OK = 0;
const USAGE_ERROR = 2;
const INPUT = 4;

export const TLSRPT_HELP = `usage: msgauth tlsrpt <parse|summary> <file|->... [options]

Reads received SMTP TLS reports (RFC 8460): JSON (.json), gzip (.json.gz) or a report email (.eml),
recognised by content. A report email must carry a DKIM signature of the submitter that passes
(RFC 8460 3); hostile input (gzip bombs, deep nesting, huge or mistyped fields) is refused.

  parse                      print each report as RFC 8460 JSON, one per line
  summary                    print each report's policies, session counts and failures
  --zone <file>              answer DNS (the DKIM check) from a fixture zone (repeatable)
  --no-dkim                  do not check DKIM on report emails (for mail verified upstream)

exit: 0 every input read as a report; 4 an input was unreadable or refused (the reason on stderr);
2 usage error.`;

type Parsed = { ok: true; report: TlsReport; source: string } | { ok: false; error: TlsReportError };

function looksLikeEmail(bytes: Uint8Array): boolean {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return false;
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a) continue;
    return b !== 0x7b; // JSON begins with "{"
  }
  return false;
}

async function parseOne(bytes: Uint8Array, resolver: Resolver | false): Promise<Parsed> {
  if (!looksLikeEmail(bytes)) {
    const r = parseTlsReport(bytes);
    return r.ok ? { ok: true, report: r.report, source: r.compressed ? "gzip" : "json" } : r;
  }
  const r = await parseTlsReportEmail(bytes, { resolver });
  return r.ok ? { ok: true, report: r.report, source: `email from ${r.submitter} about ${r.policyDomain}` } : r;
}

function summary(report: TlsReport): string {
  const q = escapeText;
  const lines = [
    `report ${q(report.reportId)} by ${q(report.organizationName)} <${q(report.contactInfo)}>`,
    `  ${q(report.dateRange.startDatetime)} to ${q(report.dateRange.endDatetime)}`,
  ];
  for (const p of report.policies) {
    const s = p.summary;
    lines.push(
      `  ${q(p.policy.domain)} ${p.policy.type}${p.policy.mxHost.length ? ` (mx ${p.policy.mxHost.map(q).join(", ")})` : ""}: ${s.totalSuccessfulSessionCount} successful, ${s.totalFailureSessionCount} failed`,
    );
    for (const f of p.failureDetails) {
      const where = [f.receivingMxHostname, f.receivingIp && `[${f.receivingIp}]`].filter(Boolean).join(" ");
      const extra = [f.sendingMtaIp && `from ${f.sendingMtaIp}`, f.failureReasonCode && `reason ${f.failureReasonCode}`]
        .filter(Boolean)
        .join(", ");
      lines.push(`    ${f.failedSessionCount} ${q(f.resultType)}${where ? ` at ${q(where)}` : ""}${extra ? ` (${q(extra)})` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** `msgauth tlsrpt parse|summary <file|->...`: returns the exit code; never throws. */
export async function cmdTlsrpt(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help" || rest.includes("--help") || rest.includes("-h")) {
    await io.stdout(`${TLSRPT_HELP}\n`);
    return OK;
  }
  if (sub !== "parse" && sub !== "summary") {
    io.stderr(`msgauth: tlsrpt needs parse or summary (msgauth tlsrpt --help)\n`);
    return USAGE_ERROR;
  }
  let values: { zone?: string[]; "no-dkim"?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { zone: { type: "string", multiple: true }, "no-dkim": { type: "boolean" } },
    }));
  } catch (err) {
    io.stderr(`msgauth: tlsrpt ${sub}: ${escapeText((err as Error).message.split("\n")[0] ?? "")}\n`);
    return USAGE_ERROR;
  }
  if (positionals.length === 0) {
    io.stderr(`msgauth: tlsrpt ${sub} needs a report file or - (msgauth tlsrpt --help)\n`);
    return USAGE_ERROR;
  }
  let resolver: Resolver | false;
  try {
    resolver = values["no-dkim"]
      ? false
      : values.zone?.length
        ? new FixtureResolver(await Promise.all(values.zone.map((z) => readZoneFile(z))))
        : (io.resolver?.() ?? new NodeResolver());
  } catch (err) {
    io.stderr(`msgauth: ${escapeText(describeError(err).split("\n")[0] ?? "")}\n`);
    return INPUT;
  }
  let worst = OK;
  for (const path of positionals) {
    const name = path === "-" ? "<stdin>" : escapeText(path);
    let bytes: Uint8Array;
    try {
      bytes = await readReportInput(path, io.stdin);
    } catch (err) {
      io.stderr(`msgauth: cannot read ${name}: ${escapeText((err as NodeJS.ErrnoException).code ?? (err as Error).message)}\n`);
      worst = Math.max(worst, INPUT);
      continue;
    }
    const r = await parseOne(bytes, resolver);
    if (!r.ok) {
      io.stderr(`msgauth: ${name}: not accepted as a TLS report (${r.error.code}): ${escapeText(r.error.message)}\n`);
      worst = Math.max(worst, INPUT);
      continue;
    }
    if (sub === "parse") await io.stdout(`${safeJson(tlsReportToJson(r.report))}\n`);
    else await io.stdout(`${name} (${r.source}):\n${summary(r.report)}`);
  }
  return worst;
}
