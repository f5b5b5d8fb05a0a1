import { generateKeyPairSync } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { sealArc } from "../arc/seal.js";
import { authenticate } from "../authenticate.js";
import { signDkim } from "../dkim/sign.js";
import { checkDmarc } from "../dmarc/evaluate.js";
import { loadZone } from "../dns/load.js";
import { NodeResolver } from "../dns/node.js";
import { RecordingResolver } from "../dns/recorder.js";
import type { Resolver } from "../dns/types.js";
import { FixtureResolver } from "../dns/zone.js";
import { checkSpf } from "../spf/check.js";
import { receivedSpf } from "../spf/received-spf.js";

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, fail: 1, usage: 2, temperror: 3, input: 4 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<Buffer>;
  /** Seconds clock, for progress. */
  now?: () => number;
  /** The resolver when no --zone is given (tests inject one). */
  resolver?: () => Resolver;
}

class UsageError extends Error {}

const USAGE = `usage: msgauth <command> [options]

  check <file.eml|folder|mbox|->...  authenticate messages (SPF, DKIM, ARC, DMARC)
      --ip <addr> --helo <name> --mail-from <addr> --authserv-id <id> [--zone <file>]... [--json]
      [--dmarc-mode rfc9989|rfc7489]
  sign <file|->                      DKIM-sign; prints the signed message
      --domain <d> (--selector <s> --key <pem>)... [--canonicalization relaxed/relaxed] [--body-length]
  seal <file|->                      add an ARC set; prints the sealed message
      --domain <d> --selector <s> --key <pem> --authserv-id <id> [--ip --helo --mail-from] [--zone <file>]...
  spf <ip> <mail-from> [--helo <name>] [--zone <file>]... [--json]
  dmarc <domain> [--zone <file>]... [--dmarc-mode rfc9989|rfc7489] [--json]
  keygen [--type rsa|ed25519] [--bits 2048] [--selector <s>] [--domain <d>] [--out <file>]
  record --out <zone.yaml|zone.json> -- <check|spf|dmarc ...>
                                     run a command on live DNS and save every answer as a fixture zone

exit codes: 0 pass/ok, 1 fail, 2 usage error, 3 temporary error, 4 unreadable input`;

const ip = z.string().regex(/^[0-9a-fA-F:.]+$/, "not an IP address");
const domain = z.string().regex(/^[A-Za-z0-9_.-]+\.?$/, "not a domain name");
const dmarcMode = z.enum(["rfc9989", "rfc7489"]);

function check<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`--${name}: ${r.error.issues[0]!.message}`);
  return r.data;
}

async function readInput(path: string, io: CliIo): Promise<Buffer> {
  if (path === "-") return io.readStdin();
  try {
    return await readFile(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

class InputError extends Error {}

async function resolverFrom(zones: string[] | undefined, io: CliIo): Promise<Resolver> {
  if (zones && zones.length > 0) return new FixtureResolver(await Promise.all(zones.map((z) => loadZone(z))));
  return io.resolver?.() ?? new NodeResolver();
}

/** Splits an mbox into messages at "From " lines (mboxrd: ">From " lines are unescaped). */
export function splitMbox(data: Buffer): Buffer[] {
  const text = data.toString("latin1");
  const out: Buffer[] = [];
  const starts: number[] = [];
  const re = /^From [^\r\n]*\r?\n/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index, m.index + m[0].length);
  for (let i = 0; i < starts.length; i += 2) {
    const bodyStart = starts[i + 1]!;
    const end = i + 2 < starts.length ? starts[i + 2]! : text.length;
    const message = text.slice(bodyStart, end).replace(/^>(>*From )/gm, "$1");
    out.push(Buffer.from(message, "latin1"));
  }
  return out;
}

async function expandInputs(paths: string[], io: CliIo): Promise<Array<{ name: string; data: Buffer }>> {
  const out: Array<{ name: string; data: Buffer }> = [];
  for (const path of paths) {
    if (path !== "-" && (await stat(path).catch(() => undefined))?.isDirectory()) {
      for (const entry of (await readdir(path)).filter((f) => f.endsWith(".eml")).sort())
        out.push({ name: join(path, entry), data: await readInput(join(path, entry), io) });
      continue;
    }
    const data = await readInput(path, io);
    if (data.subarray(0, 5).toString("latin1") === "From ") {
      for (const [i, m] of splitMbox(data).entries()) out.push({ name: `${path}#${i + 1}`, data: m });
    } else out.push({ name: path === "-" ? "<stdin>" : path, data });
  }
  return out;
}

type Parsed = ReturnType<typeof parseArgs>;
const str = (v: Parsed["values"][string]): string | undefined => (typeof v === "string" ? v : undefined);
const strs = (v: Parsed["values"][string]): string[] =>
  Array.isArray(v) ? (v.filter((x) => typeof x === "string") as string[]) : typeof v === "string" ? [v] : [];

async function cmdCheck(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ip: { type: "string" },
      helo: { type: "string", default: "" },
      "mail-from": { type: "string", default: "" },
      "authserv-id": { type: "string", default: "msgauth.invalid" },
      zone: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      "dmarc-mode": { type: "string", default: "rfc9989" },
    },
  });
  if (positionals.length === 0) throw new UsageError("check needs a message file, a folder, an mbox, or -");
  const address = check(ip, values.ip, "ip");
  const mode = check(dmarcMode, values["dmarc-mode"], "dmarc-mode");
  const resolver = resolverOverride ?? (await resolverFrom(strs(values.zone), io));
  const inputs = await expandInputs(positionals, io);
  const now = io.now ?? (() => Date.now() / 1000);
  const started = now();
  let worst = 0;
  let done = 0;
  for (const input of inputs) {
    const r = await authenticate(
      input.data,
      { ip: address, helo: str(values.helo) ?? "", mailFrom: str(values["mail-from"]) ?? "" },
      { resolver, authservId: str(values["authserv-id"])!, dmarcMode: mode },
    );
    const dmarc = r.dmarc?.result ?? "none";
    const code = dmarc === "fail" || dmarc === "permerror" ? EXIT.fail : dmarc === "temperror" ? EXIT.temperror : EXIT.ok;
    worst = Math.max(worst, code);
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ file: input.name, spf: r.spf, dkim: r.dkim.map(({ field: _f, ...d }) => d), arc: r.arc, dmarc: r.dmarc && { ...r.dmarc, record: r.dmarc.record?.text }, authenticationResults: r.headers.authenticationResults })}\n`,
      );
    } else {
      const lines = [`${input.name}:`, `  SPF    ${r.spf?.result ?? "-"} ${r.spf ? `(${r.spf.reason})` : ""}`];
      for (const d of r.dkim) lines.push(`  DKIM   ${d.result} d=${d.domain} s=${d.selector} (${d.reason})`);
      if (r.dkim.length === 0) lines.push("  DKIM   none");
      if (r.arc) lines.push(`  ARC    ${r.arc.result} (${r.arc.reason})`);
      lines.push(
        `  DMARC  ${dmarc}${r.dmarc ? ` for ${r.dmarc.fromDomain}: policy ${r.dmarc.policy}, disposition ${r.dmarc.disposition}` : ""}`,
      );
      lines.push(r.headers.authenticationResults, "");
      io.stdout(lines.join("\n"));
    }
    done++;
    if (inputs.length > 1 && now() - started > 1) io.stderr(`\r${done}/${inputs.length} messages`);
  }
  if (inputs.length > 1 && now() - started > 1) io.stderr("\n");
  return worst;
}

async function cmdSign(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      domain: { type: "string" },
      selector: { type: "string", multiple: true },
      key: { type: "string", multiple: true },
      canonicalization: { type: "string", default: "relaxed/relaxed" },
      "body-length": { type: "boolean", default: false },
    },
  });
  const d = check(domain, values.domain, "domain");
  const selectors = strs(values.selector);
  const keys = strs(values.key);
  if (selectors.length === 0 || selectors.length !== keys.length) throw new UsageError("sign needs --selector and --key in pairs");
  const canon = check(
    z.enum(["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"]),
    values.canonicalization,
    "canonicalization",
  );
  const message = await readInput(positionals[0] ?? "-", io);
  const pems = await Promise.all(keys.map((k) => readFile(k, "utf8").catch(() => Promise.reject(new InputError(`cannot read key ${k}`)))));
  const fields = await signDkim(
    message,
    selectors.map((s, i) => ({
      domain: d,
      selector: s,
      privateKey: pems[i]!,
      canonicalization: canon,
      bodyLength: values["body-length"] === true,
    })),
  );
  io.stdout(fields + message.toString("latin1"));
  return EXIT.ok;
}

async function cmdSeal(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      domain: { type: "string" },
      selector: { type: "string" },
      key: { type: "string" },
      "authserv-id": { type: "string" },
      ip: { type: "string" },
      helo: { type: "string", default: "" },
      "mail-from": { type: "string", default: "" },
      zone: { type: "string", multiple: true },
    },
  });
  const d = check(domain, values.domain, "domain");
  const selector = check(z.string().min(1), values.selector, "selector");
  const keyPath = check(z.string().min(1), values.key, "key");
  const authservId = check(z.string().min(1), values["authserv-id"], "authserv-id");
  const resolver = resolverOverride ?? (await resolverFrom(strs(values.zone), io));
  const message = await readInput(positionals[0] ?? "-", io);
  const privateKey = await readFile(keyPath, "utf8").catch(() => Promise.reject(new InputError(`cannot read key ${keyPath}`)));
  const address = values.ip === undefined ? undefined : check(ip, values.ip, "ip");
  const r = address
    ? await authenticate(
        message,
        { ip: address, helo: str(values.helo) ?? "", mailFrom: str(values["mail-from"]) ?? "" },
        { resolver, authservId },
      )
    : undefined;
  const seal = await sealArc(message, {
    domain: d,
    selector,
    privateKey,
    authservId,
    resolver,
    ...(r ? { authResults: r.headers.authenticationResults, chain: r.arc! } : {}),
  });
  if (!seal.sealed) {
    io.stderr(`not sealed: ${seal.reason}\n`);
    io.stdout(message.toString("latin1"));
    return EXIT.fail;
  }
  io.stdout(seal.headers + message.toString("latin1"));
  return EXIT.ok;
}

async function cmdSpf(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { helo: { type: "string", default: "" }, zone: { type: "string", multiple: true }, json: { type: "boolean", default: false } },
  });
  if (positionals.length !== 2) throw new UsageError("spf needs <ip> <mail-from>");
  const address = check(ip, positionals[0], "ip");
  const resolver = resolverOverride ?? (await resolverFrom(strs(values.zone), io));
  const r = await checkSpf({ ip: address, mailFrom: positionals[1]!, helo: str(values.helo) ?? "" }, { resolver });
  io.stdout(values.json ? `${JSON.stringify(r)}\n` : `${r.result} (${r.reason})\n${receivedSpf(r)}\n`);
  return r.result === "fail" || r.result === "softfail" || r.result === "permerror"
    ? EXIT.fail
    : r.result === "temperror"
      ? EXIT.temperror
      : EXIT.ok;
}

async function cmdDmarc(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      zone: { type: "string", multiple: true },
      "dmarc-mode": { type: "string", default: "rfc9989" },
      json: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError("dmarc needs <domain>");
  const d = check(domain, positionals[0], "domain").toLowerCase().replace(/\.$/, "");
  const mode = check(dmarcMode, values["dmarc-mode"], "dmarc-mode");
  const resolver = resolverOverride ?? (await resolverFrom(strs(values.zone), io));
  // Evaluate a message from the domain with no authentication: shows the policy that would apply.
  const r = await checkDmarc(
    { author: { ok: true, mailbox: { local: "x", domain: d, address: `x@${d}` }, domain: d }, dkim: [] },
    { resolver, mode },
  );
  if (values.json)
    io.stdout(
      `${JSON.stringify({ domain: d, result: r.result === "fail" ? "record" : r.result, policyDomain: r.policyDomain, orgDomain: r.orgDomain, policy: r.policy, record: r.record?.text, warnings: r.record?.warnings })}\n`,
    );
  else if (!r.record) io.stdout(`${d}: no DMARC record (${r.reason})\n`);
  else
    io.stdout(
      `${d}: ${r.record.text}\n  found at ${r.policyDomain}, organizational domain ${r.orgDomain ?? "?"}\n  policy for ${d}: ${r.policy}${r.testing ? " (t=y: testing)" : ""}\n${r.record.warnings.map((w) => `  warning: ${w}\n`).join("")}`,
    );
  return r.result === "temperror" ? EXIT.temperror : r.record ? EXIT.ok : EXIT.fail;
}

async function cmdKeygen(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      type: { type: "string", default: "rsa" },
      bits: { type: "string", default: "2048" },
      selector: { type: "string", default: "default" },
      domain: { type: "string" },
      out: { type: "string" },
    },
  });
  const type = check(z.enum(["rsa", "ed25519"]), values.type, "type");
  const bits = check(z.coerce.number().int().min(1024).max(8192), values.bits, "bits");
  const pair = type === "rsa" ? generateKeyPairSync("rsa", { modulusLength: bits }) : generateKeyPairSync("ed25519");
  const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const der = pair.publicKey.export({ type: "spki", format: "der" });
  const p = (type === "rsa" ? der : der.subarray(12)).toString("base64");
  const value = `v=DKIM1; k=${type}; p=${p}`;
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 250) chunks.push(`"${value.slice(i, i + 250)}"`);
  const name = `${str(values.selector)}._domainkey${values.domain ? `.${str(values.domain)}.` : ""}`;
  const out = str(values.out);
  if (out) await writeFile(out, pem, { mode: 0o600 });
  else io.stdout(pem);
  io.stdout(`${name} IN TXT ( ${chunks.join("\n    ")} )\n`);
  return EXIT.ok;
}

async function cmdRecord(args: string[], io: CliIo): Promise<number> {
  const split = args.indexOf("--");
  if (split < 0) throw new UsageError("record needs -- before the command to run");
  const { values } = parseArgs({
    args: args.slice(0, split),
    options: { out: { type: "string" }, zone: { type: "string", multiple: true } },
  });
  const out = check(z.string().min(1), values.out, "out");
  const inner = args.slice(split + 1);
  const recorder = new RecordingResolver(await resolverFrom(strs(values.zone), io));
  const [command, ...rest] = inner;
  const runners: Record<string, (a: string[], io: CliIo, r: Resolver) => Promise<number>> = {
    check: cmdCheck,
    spf: cmdSpf,
    dmarc: cmdDmarc,
    seal: cmdSeal,
  };
  const run = command ? runners[command] : undefined;
  if (!run) throw new UsageError("record runs check, spf, dmarc or seal");
  const code = await run(
    rest.filter((a, i) => !(a === "--zone" || rest[i - 1] === "--zone")),
    io,
    recorder,
  );
  await recorder.save(out);
  io.stderr(`recorded ${recorder.size} answers to ${out}\n`);
  return code;
}

/** Runs the command line; returns the exit code. Never throws: every error is a line on stderr. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "check":
        return await cmdCheck(args, io);
      case "sign":
        return await cmdSign(args, io);
      case "seal":
        return await cmdSeal(args, io);
      case "spf":
        return await cmdSpf(args, io);
      case "dmarc":
        return await cmdDmarc(args, io);
      case "keygen":
        return await cmdKeygen(args, io);
      case "record":
        return await cmdRecord(args, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.stdout(`${USAGE}\n`);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`msgauth: ${(err as Error).message}\n${USAGE.split("\n")[0]}\n`);
      return EXIT.usage;
    }
    io.stderr(`msgauth: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.input;
  }
}
