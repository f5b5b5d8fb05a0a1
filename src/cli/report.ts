import { spawn } from "node:child_process";
import type { Stats } from "node:fs";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { NodeResolver } from "../dns/node.js";
import type { Resolver } from "../dns/types.js";
import { FixtureResolver } from "../dns/zone.js";
import { describeError } from "../errors.js";
import { reportEmail } from "../report/email.js";
import { summaryHtml } from "../report/html.js";
import { parseAggregateReport } from "../report/parse.js";
import { AggregateReporter, type ReportTransport, safeAddress } from "../report/reporter.js";
import { summarizeReports, summaryText } from "../report/summary.js";
import type { AggregateReport } from "../report/types.js";
import { openRedisStore } from "../store/redis.js";
import { openSqliteStore } from "../store/sqlite.js";
import type { Store } from "../store/types.js";
import { displayName, escapeText, safeJson } from "./escape.js";
import { FILE_LIMITS, readRegularFile, readReportInput, readZoneFile } from "./inputs.js";
import type { CliIo } from "./main.js";
import { looksLikeMbox, splitMbox } from "./mbox.js";

// The exit codes of main.ts's EXIT (not imported: main.ts imports this module).
const OK = 0;
const FAIL = 1;
const USAGE_ERROR = 2;
const INPUT = 4;

export const REPORT_HELP = `usage: msgauth report <parse|summary|html|send> ... (msgauth report --help)

Domain owner (reading the DMARC aggregate reports you receive):
  parse <file|folder|mbox|->...    each report as one JSON line: bare XML, .xml.gz, .zip, or the
                                   report email; RFC 9990 and RFC 7489 schemas
  summary <...> [--json]           volume and DKIM/SPF/DMARC pass rates by source IP and domain,
                                   and the sources that fail alignment
  html <...> [--title <t>]         one self-contained HTML page (charts of pass rates over time, the
                                   failing sources); nothing fetched when it is opened

Receiver (sending the reports for what you collected, see docs/reports.md):
  send --store <sqlite:FILE|redis://HOST:PORT> --org-name <name> --email <addr> --receiver <domain>
       [--dkim-domain <d> --dkim-selector <s> --dkim-key <pem>] [--zone <file>]...
       (--dry-run <folder> | --sendmail <path>) [--grace-seconds <n>]
       --dry-run writes each closed period's report (.xml.gz) and email (.eml) to the folder and
       leaves the store as it is; --sendmail hands each email to that program (sendmail -i -f ...).

A folder means every regular file in it (not recursing); a file starting "From " is an mbox.
exit: 0 every input read as a report (send: all delivered); 1 send: a delivery failed;
4 an input was unreadable or refused (a warning on stderr names it; it is skipped and summary/html
still print what the other inputs held); 2 usage error.`;

function kindOf(s: Stats): string {
  if (s.isDirectory()) return "a folder";
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice() || s.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Every input document: files, folders (their regular files), mbox messages, stdin. In a folder,
 * what is not a regular file (links followed) is skipped with a `warning`, as `check` does; a folder
 * with no regular file at all is an `error` (exit 4), not an empty success.
 */
async function* documents(paths: string[], io: CliIo): AsyncGenerator<{ name: string; data?: Buffer; error?: string; warning?: string }> {
  for (const path of paths) {
    const s = path === "-" ? undefined : await stat(path).catch(() => undefined);
    let files = [path];
    if (s?.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(path)).sort();
      } catch (err) {
        yield { name: displayName(path), error: `cannot list folder (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
        continue;
      }
      files = [];
      for (const entry of entries) {
        const full = join(path, entry);
        const t = await stat(full).catch(() => undefined);
        if (t?.isFile()) files.push(full);
        else yield { name: displayName(full), warning: `skipped: ${t ? kindOf(t) : "a dangling link"}, not a regular file` };
      }
      if (files.length === 0) {
        yield { name: displayName(path), error: "no regular file in this folder: nothing to read" };
        continue;
      }
    }
    for (const file of files) {
      const name = file === "-" ? "<stdin>" : displayName(file);
      let data: Buffer;
      try {
        data = await readReportInput(file, io.stdin);
      } catch (err) {
        yield { name, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
        continue;
      }
      if (looksLikeMbox(data)) {
        for (const [i, m] of splitMbox(data).entries()) yield { name: `${name}#${i + 1}`, data: m };
      } else yield { name, data };
    }
  }
}

async function readReports(
  paths: string[],
  io: CliIo,
  each?: (name: string, r: AggregateReport) => Promise<void>,
): Promise<{ reports: AggregateReport[]; bad: number }> {
  const reports: AggregateReport[] = [];
  let bad = 0;
  for await (const doc of documents(paths, io)) {
    if (doc.warning) {
      io.stderr(`msgauth: warning: ${doc.name}: ${escapeText(doc.warning)}\n`);
      continue;
    }
    if (!doc.data) {
      io.stderr(`msgauth: ${doc.name}: ${escapeText(doc.error ?? "unreadable")}\n`);
      bad++;
      continue;
    }
    const r = await parseAggregateReport(doc.data);
    if (!r.ok) {
      io.stderr(`msgauth: ${doc.name}: ${r.error.code}: ${escapeText(r.error.message)}\n`);
      bad++;
      continue;
    }
    if (each) await each(doc.name, r.report);
    else reports.push(r.report);
  }
  return { reports, bad };
}

async function openStore(spec: string): Promise<Store> {
  if (/^rediss?:\/\//i.test(spec)) return openRedisStore({ url: spec });
  return openSqliteStore(spec.replace(/^sqlite:/i, ""));
}

function sendmailTransport(program: string): ReportTransport {
  return ({ from, to, raw }) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(program, ["-i", "-f", from, "--", to], { stdio: ["pipe", "ignore", "pipe"] });
      let err = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-500)));
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        code === 0 ? resolve() : reject(new Error(`${program} exited ${code}: ${err.trim()}`));
      });
      child.stdin.end(raw);
    });
}

async function cmdSend(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      store: { type: "string" },
      "org-name": { type: "string" },
      email: { type: "string" },
      receiver: { type: "string" },
      "dkim-domain": { type: "string" },
      "dkim-selector": { type: "string" },
      "dkim-key": { type: "string" },
      zone: { type: "string", multiple: true },
      "dry-run": { type: "string" },
      sendmail: { type: "string" },
      "grace-seconds": { type: "string" },
    },
  });
  for (const k of ["store", "org-name", "email", "receiver"] as const)
    if (!values[k]) {
      io.stderr(`msgauth: report send needs --${k} (msgauth report --help)\n`);
      return USAGE_ERROR;
    }
  if (!values["dry-run"] === !values.sendmail) {
    io.stderr("msgauth: report send needs exactly one of --dry-run <folder> and --sendmail <path>\n");
    return USAGE_ERROR;
  }
  const dkimParts = [values["dkim-domain"], values["dkim-selector"], values["dkim-key"]];
  if (dkimParts.some(Boolean) && !dkimParts.every(Boolean)) {
    io.stderr("msgauth: --dkim-domain, --dkim-selector and --dkim-key go together\n");
    return USAGE_ERROR;
  }
  const grace = values["grace-seconds"] === undefined ? 300 : Number(values["grace-seconds"]);
  if (!Number.isInteger(grace) || grace < 0) {
    io.stderr("msgauth: --grace-seconds must be a whole number of seconds\n");
    return USAGE_ERROR;
  }
  const identity = { orgName: values["org-name"]!, email: values.email!, receiver: values.receiver! };
  const dkim = values["dkim-key"]
    ? {
        domain: values["dkim-domain"]!,
        selector: values["dkim-selector"]!,
        privateKey: await readRegularFile(values["dkim-key"], "key", FILE_LIMITS.key),
      }
    : undefined;
  const resolver: Resolver = values.zone?.length
    ? new FixtureResolver(await Promise.all(values.zone.map((z) => readZoneFile(z))))
    : (io.resolver?.() ?? new NodeResolver());
  const store = await openStore(values.store!);
  try {
    const now = io.now ? () => io.now!() * 1000 : Date.now;
    if (values["dry-run"]) {
      const dir = values["dry-run"];
      await mkdir(dir, { recursive: true });
      const reporter = new AggregateReporter({ store, identity, resolver, now, graceSeconds: grace, transport: async () => {} });
      const reports = await reporter.preview();
      for (const r of reports) {
        await writeFile(join(dir, basename(r.filename)), r.gzip);
        // The first rua= that is a plain address (a bad %-escape is skipped, never a URIError).
        const to =
          r.rua.map((u) => /^mailto:([^?]+)/i.exec(u.uri)?.[1]).find((a) => a !== undefined && safeAddress(a) !== undefined) ??
          `dmarc@${r.policyDomain}`;
        const eml = await reportEmail(r, safeAddress(to) ?? to, identity, { ...(dkim ? { dkim } : {}), now });
        await writeFile(join(dir, basename(r.filename).replace(/\.xml\.gz$/, ".eml")), eml);
        await io.stdout(
          `${safeJson({ policyDomain: r.policyDomain, begin: r.metadata.begin, end: r.metadata.end, records: r.records, messages: r.messages, file: join(dir, basename(r.filename)) })}\n`,
        );
      }
      return OK;
    }
    const reporter = new AggregateReporter({
      store,
      identity,
      resolver,
      now,
      graceSeconds: grace,
      transport: sendmailTransport(values.sendmail!),
      ...(dkim ? { dkim } : {}),
    });
    const outcomes = await reporter.run();
    for (const o of outcomes) await io.stdout(`${safeJson(o)}\n`);
    return outcomes.some((o) => o.state === "retry" || o.state === "dropped") ? FAIL : OK;
  } finally {
    await store.close();
  }
}

/** `msgauth report ...`: hooked into main.ts's dispatcher. */
export async function cmdReport(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help" || rest.includes("--help") || rest.includes("-h")) {
    await (sub === undefined ? io.stderr(`${REPORT_HELP}\n`) : io.stdout(`${REPORT_HELP}\n`));
    return sub === undefined ? USAGE_ERROR : OK;
  }
  try {
    if (sub === "send") return await cmdSend(rest, io);
    if (sub !== "parse" && sub !== "summary" && sub !== "html") {
      io.stderr(`msgauth: report needs parse, summary, html or send, not ${escapeText(sub)} (msgauth report --help)\n`);
      return USAGE_ERROR;
    }
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: sub === "summary" ? { json: { type: "boolean" } } : sub === "html" ? { title: { type: "string" } } : {},
    });
    if (positionals.length === 0) {
      io.stderr(`msgauth: report ${sub} needs report files, folders, an mbox or - (msgauth report --help)\n`);
      return USAGE_ERROR;
    }
    if (sub === "parse") {
      const { bad } = await readReports(positionals, io, async (name, report) => {
        await io.stdout(`${safeJson({ file: name, ...report })}\n`);
      });
      return bad ? INPUT : OK;
    }
    const { reports, bad } = await readReports(positionals, io);
    const summary = summarizeReports(reports);
    if (sub === "summary") await io.stdout(values.json ? `${safeJson(summary)}\n` : summaryText(summary, escapeText));
    else await io.stdout(summaryHtml(summary, typeof values.title === "string" ? { title: values.title } : {}));
    return bad ? INPUT : OK;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`msgauth: report ${escapeText(sub)}: ${escapeText(e.message.split("\n")[0] ?? "")}\n`);
      return USAGE_ERROR;
    }
    io.stderr(`msgauth: ${escapeText(describeError(err).split("\n")[0] ?? "")}\n`);
    return INPUT;
  }
}
