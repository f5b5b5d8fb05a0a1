import { generateKeyPairSync } from "node:crypto";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import pkg from "../../package.json" with { type: "json" };
import { sealArc } from "../arc/seal.js";
import { authenticate } from "../authenticate.js";
import { signDkim } from "../dkim/sign.js";
import { checkDmarc } from "../dmarc/evaluate.js";
import { formatFromPath } from "../dns/load.js";
import { NodeResolver } from "../dns/node.js";
import { RecordingResolver } from "../dns/recorder.js";
import type { Resolver } from "../dns/types.js";
import { FixtureResolver } from "../dns/zone.js";
import { describeError } from "../errors.js";
import { checkSpf } from "../spf/check.js";
import { receivedSpf } from "../spf/received-spf.js";
import { escapeText, safeJson } from "./escape.js";
import { COMMAND_HELP, USAGE } from "./help.js";
import { FILE_LIMITS, FileInputError, readInputs, readRegularFile, readZoneFile } from "./inputs.js";
import { checkOutputPath, OutputError, writeOutputFile } from "./output.js";
import { cmdReport } from "./report.js";
import { cmdTlsrpt } from "./tlsrpt.js";

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, fail: 1, usage: 2, temperror: 3, input: 4 } as const;

export interface CliIo {
  /** Standard output; bytes are written as they are. May return a promise to apply backpressure. */
  stdout: (data: string | Uint8Array) => void | Promise<void>;
  stderr: (text: string) => void;
  /** Standard input as a stream of chunks (read only for "-"). */
  stdin: () => AsyncIterable<Uint8Array>;
  /** Seconds clock, for progress. */
  now?: () => number;
  /** The resolver when no --zone is given (tests inject one). */
  resolver?: () => Resolver;
}

/** A mistake in the command line: one line for stderr, exit 2. */
class UsageError extends Error {}
/** Input that cannot be read (file, key, message): one line for stderr, exit 4. */
class InputError extends Error {}
/** `--help` was asked for. */
class HelpRequest extends Error {}

const DEFAULT_MAX = 64 * 1024 * 1024;
const q = (s: string) => escapeText(s);
/** A header field for the terminal: folding (CRLF, then a space or tab) stays a line break; the rest is escaped. */
const field = (f: string) =>
  f
    .split(/\r\n(?=[ \t])/)
    .map((part, i) => (i === 0 ? q(part) : part[0] + q(part.slice(1))))
    .join("\n");

type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;
type Values = Record<string, string[] | boolean | undefined>;

/**
 * parseArgs in the user's terms: --help anywhere asks for help; unknown options, missing values and
 * repeated single options are one-line usage errors naming the option.
 */
function parse(command: string, args: string[], spec: OptionSpec, positionals: boolean) {
  const end = args.indexOf("--");
  const own = end < 0 ? args : args.slice(0, end);
  if (own.includes("--help") || own.includes("-h")) throw new HelpRequest(command);
  const options: Record<string, { type: "string" | "boolean"; multiple: boolean; short?: string }> = {};
  for (const [name, o] of Object.entries(spec)) options[name] = { ...o, multiple: o.type === "string" };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    const msg = (err as Error).message;
    const opt = /'(-[^' ]*)/.exec(msg)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`${command}: unknown option ${q(opt)}`);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (/does not take/.test(msg)) throw new UsageError(`${command}: ${q(opt)} takes no value`);
      // parseArgs reads "-1" after an option as another option: say what is wrong with the value.
      const next = args[args.indexOf(opt) + 1];
      if (next !== undefined && /^-[0-9.]/.test(next)) {
        const what = opt === "--max-message-size" ? "a positive size (bytes, or a number with K, M or G)" : "a positive value";
        throw new UsageError(`${command}: ${q(opt)} must be ${what}, not ${q(next)}`);
      }
      throw new UsageError(`${command}: ${q(opt)} needs a value`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new UsageError(`${command}: unexpected argument ${q(/'([^']*)'/.exec(msg)?.[1] ?? "")}`);
    }
    throw new UsageError(`${command}: ${q(msg.split("\n")[0]!)}`);
  }
  const values = parsed.values as Values;
  for (const [name, o] of Object.entries(spec)) {
    const v = values[name];
    if (!o.multiple && Array.isArray(v) && v.length > 1) throw new UsageError(`${command}: --${name} given more than once`);
  }
  return { values, positionals: parsed.positionals };
}

const one = (v: Values, name: string): string | undefined => {
  const x = v[name];
  return Array.isArray(x) ? x[0] : undefined;
};
const many = (v: Values, name: string): string[] => {
  const x = v[name];
  return Array.isArray(x) ? x : [];
};
function required(command: string, v: Values, name: string, what: string): string {
  const x = one(v, name);
  if (x === undefined || x === "") throw new UsageError(`${command}: --${name} is required (${what})`);
  return x;
}
function ipAddress(command: string, value: string, name = "--ip"): string {
  if (isIP(value) === 0) throw new UsageError(`${command}: ${name} ${q(value)} is not an IP address`);
  return value;
}
function domainName(command: string, value: string, name: string): string {
  // A-labels or U-labels: letters of any script, digits, '-', '_' and dots; no spaces or controls.
  if (value.length > 253 || !/^(?:[\p{L}\p{N}_-](?:[\p{L}\p{N}\p{M}_-]*)\.?)+$/u.test(value)) {
    throw new UsageError(`${command}: ${name} ${q(value)} is not a domain name`);
  }
  return value;
}
function oneOf<T extends string>(command: string, value: string, name: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${command}: ${name} must be ${allowed.join(", ").replace(/, ([^,]*)$/, " or $1")}, not ${q(value)}`);
  }
  return value as T;
}
function size(command: string, value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX;
  const m = /^([0-9]{1,12})([KMG]?)$/i.exec(value);
  const n = m ? Number(m[1]) * { "": 1, K: 1024, M: 1048576, G: 1073741824 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G"] : 0;
  if (!m || n < 1 || n > 2 ** 31) {
    throw new UsageError(`${command}: --max-message-size ${q(value)} is not a size (bytes, or a number with K, M or G, at most 2G)`);
  }
  return n;
}

async function resolverFrom(zones: string[], io: CliIo): Promise<Resolver> {
  if (zones.length > 0) return new FixtureResolver(await Promise.all(zones.map((z) => readZoneFile(z))));
  return io.resolver?.() ?? new NodeResolver();
}

/** One whole message for sign and seal: a file or "-", up to the cap. */
async function readMessage(path: string, io: CliIo, maxBytes: number): Promise<Buffer> {
  const shown = path === "-" ? "<stdin>" : q(path);
  let message: Buffer | undefined;
  for await (const input of readInputs([path], { stdin: io.stdin, maxBytes })) {
    if (input.kind === "problem") throw new InputError(`${input.name}: ${input.why}`);
    if (message) throw new InputError(`${shown}: holds more than one message (an mbox): give one message`);
    message = input.data;
  }
  if (!message) throw new InputError(`${shown}: no message`);
  return message;
}

async function readKey(path: string): Promise<Buffer> {
  // Bytes: the key may be PEM or DER; signDkim and sealArc tell which. Only a regular file, capped.
  return readRegularFile(path, "key", FILE_LIMITS.key);
}

/** Writes a message byte for byte: to --out (a regular or new file, see output.ts), or to standard output. */
async function writeMessage(out: string | undefined, bytes: Buffer, io: CliIo): Promise<void> {
  if (out === undefined) await io.stdout(bytes);
  else await writeOutputFile(out, bytes);
}

async function cmdCheck(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parse(
    "check",
    args,
    {
      ip: { type: "string" },
      helo: { type: "string" },
      "mail-from": { type: "string" },
      "authserv-id": { type: "string" },
      zone: { type: "string", multiple: true },
      json: { type: "boolean" },
      "dmarc-mode": { type: "string" },
      "max-message-size": { type: "string" },
    },
    true,
  );
  if (positionals.length === 0) throw new UsageError("check: give a message file, a folder, an mbox, or - for standard input");
  const address = ipAddress("check", required("check", values, "ip", "the IP address of the SMTP client"));
  const mode = oneOf("check", one(values, "dmarc-mode") ?? "rfc9989", "--dmarc-mode", ["rfc9989", "rfc7489"] as const);
  const maxBytes = size("check", one(values, "max-message-size"));
  const envelope = { ip: address, helo: one(values, "helo") ?? "", mailFrom: one(values, "mail-from") ?? "" };
  const authservId = one(values, "authserv-id") ?? "msgauth.invalid";
  const resolver = resolverOverride ?? (await resolverFrom(many(values, "zone"), io));
  const now = io.now ?? (() => Date.now() / 1000);
  const started = now();
  let progress = false;
  let worst = 0;
  let done = 0;
  // One message at a time: the next is read only when this one is checked and printed.
  for await (const input of readInputs(positionals, { stdin: io.stdin, maxBytes })) {
    if (input.kind === "problem") {
      io.stderr(`${progress ? "\n" : ""}msgauth: ${input.severity === "warning" ? "warning: " : ""}${input.name}: ${input.why}\n`);
      progress = false;
      if (input.severity === "error") worst = Math.max(worst, EXIT.input);
      continue;
    }
    const r = await authenticate(input.data, envelope, { resolver, authservId, dmarcMode: mode });
    const dmarc = r.dmarc?.result ?? "none";
    // The exit code follows DMARC alone: SPF or DKIM failing under a DMARC pass is still exit 0.
    const code = dmarc === "fail" || dmarc === "permerror" ? EXIT.fail : dmarc === "temperror" ? EXIT.temperror : EXIT.ok;
    worst = Math.max(worst, code);
    if (values.json) {
      await io.stdout(
        `${safeJson({ file: input.file, ...(input.fileBytes !== undefined ? { fileBytes: input.fileBytes } : {}), spf: r.spf, dkim: r.dkim.map(({ field: _f, ...d }) => d), arc: r.arc, dmarc: r.dmarc && { ...r.dmarc, record: r.dmarc.record?.text }, authenticationResults: r.headers.authenticationResults })}\n`,
      );
    } else {
      const lines = [`${input.name}:`, `  SPF    ${r.spf?.result ?? "-"} ${r.spf ? `(${q(r.spf.reason)})` : ""}`];
      for (const d of r.dkim) lines.push(`  DKIM   ${d.result} d=${q(d.domain)} s=${q(d.selector)} (${q(d.reason)})`);
      if (r.dkim.length === 0) lines.push("  DKIM   none");
      if (r.arc) lines.push(`  ARC    ${r.arc.result} (${q(r.arc.reason)})`);
      lines.push(
        `  DMARC  ${dmarc}${r.dmarc ? ` for ${q(r.dmarc.fromDomain)}: policy ${r.dmarc.policy}, disposition ${r.dmarc.disposition}` : ""}`,
      );
      lines.push(field(r.headers.authenticationResults), "");
      await io.stdout(lines.join("\n"));
    }
    done++;
    if (now() - started > 1) {
      io.stderr(`\r${done} messages checked`);
      progress = true;
    }
  }
  if (progress) io.stderr("\n");
  if (done === 0 && worst === EXIT.ok) {
    // Nothing was checked (an empty folder): not a pass.
    io.stderr("msgauth: no messages to check\n");
    return EXIT.input;
  }
  return worst;
}

async function cmdSign(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    "sign",
    args,
    {
      domain: { type: "string" },
      selector: { type: "string", multiple: true },
      key: { type: "string", multiple: true },
      canonicalization: { type: "string" },
      "body-length": { type: "boolean" },
      out: { type: "string" },
      "max-message-size": { type: "string" },
    },
    true,
  );
  if (positionals.length > 1) throw new UsageError("sign: give one message file, or - for standard input");
  const d = domainName("sign", required("sign", values, "domain", "the signing domain, d="), "--domain");
  const selectors = many(values, "selector");
  const keys = many(values, "key");
  if (selectors.length === 0 || selectors.length !== keys.length) {
    throw new UsageError("sign: give --selector and --key in pairs, one pair per signature");
  }
  const canon = oneOf("sign", one(values, "canonicalization") ?? "relaxed/relaxed", "--canonicalization", [
    "relaxed/relaxed",
    "simple/simple",
    "relaxed/simple",
    "simple/relaxed",
  ] as const);
  const maxBytes = size("sign", one(values, "max-message-size"));
  const out = one(values, "out");
  if (out !== undefined) await checkOutputPath(out); // before the work: a FIFO or a link is refused at once
  const message = await readMessage(positionals[0] ?? "-", io, maxBytes);
  const pems = await Promise.all(keys.map(readKey));
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
  // Bytes out as they came in: the fields (UTF-8) on top of the message's own bytes.
  await writeMessage(out, Buffer.concat([Buffer.from(fields, "utf8"), message]), io);
  return EXIT.ok;
}

async function cmdSeal(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parse(
    "seal",
    args,
    {
      domain: { type: "string" },
      selector: { type: "string" },
      key: { type: "string" },
      "authserv-id": { type: "string" },
      ip: { type: "string" },
      helo: { type: "string" },
      "mail-from": { type: "string" },
      zone: { type: "string", multiple: true },
      out: { type: "string" },
      "max-message-size": { type: "string" },
    },
    true,
  );
  if (positionals.length > 1) throw new UsageError("seal: give one message file, or - for standard input");
  const d = domainName("seal", required("seal", values, "domain", "the sealing domain, d="), "--domain");
  const selector = required("seal", values, "selector", "the selector, s=");
  const keyPath = required("seal", values, "key", "the private key file");
  const authservId = required("seal", values, "authserv-id", "this host's authserv-id");
  const ipValue = one(values, "ip");
  const address = ipValue === undefined ? undefined : ipAddress("seal", ipValue);
  const maxBytes = size("seal", one(values, "max-message-size"));
  const out = one(values, "out");
  if (out !== undefined) await checkOutputPath(out);
  const resolver = resolverOverride ?? (await resolverFrom(many(values, "zone"), io));
  const message = await readMessage(positionals[0] ?? "-", io, maxBytes);
  const privateKey = await readKey(keyPath);
  const r = address
    ? await authenticate(
        message,
        { ip: address, helo: one(values, "helo") ?? "", mailFrom: one(values, "mail-from") ?? "" },
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
    io.stderr(`msgauth: not sealed: ${q(seal.reason)}\n`);
    await writeMessage(out, message, io);
    return EXIT.fail;
  }
  await writeMessage(out, Buffer.concat([Buffer.from(seal.headers, "utf8"), message]), io);
  return EXIT.ok;
}

async function cmdSpf(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parse(
    "spf",
    args,
    { helo: { type: "string" }, zone: { type: "string", multiple: true }, json: { type: "boolean" } },
    true,
  );
  if (positionals.length !== 2) throw new UsageError("spf: give <ip> <mail-from>");
  const address = ipAddress("spf", positionals[0]!, "<ip>");
  const resolver = resolverOverride ?? (await resolverFrom(many(values, "zone"), io));
  const r = await checkSpf({ ip: address, mailFrom: positionals[1]!, helo: one(values, "helo") ?? "" }, { resolver });
  await io.stdout(values.json ? `${safeJson(r)}\n` : `${r.result} (${q(r.reason)})\n${field(receivedSpf(r))}\n`);
  return r.result === "fail" || r.result === "softfail" || r.result === "permerror"
    ? EXIT.fail
    : r.result === "temperror"
      ? EXIT.temperror
      : EXIT.ok;
}

async function cmdDmarc(args: string[], io: CliIo, resolverOverride?: Resolver): Promise<number> {
  const { values, positionals } = parse(
    "dmarc",
    args,
    { zone: { type: "string", multiple: true }, "dmarc-mode": { type: "string" }, json: { type: "boolean" } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError("dmarc: give one <domain>");
  const d = domainName("dmarc", positionals[0]!, "<domain>").toLowerCase().replace(/\.$/, "");
  const mode = oneOf("dmarc", one(values, "dmarc-mode") ?? "rfc9989", "--dmarc-mode", ["rfc9989", "rfc7489"] as const);
  const resolver = resolverOverride ?? (await resolverFrom(many(values, "zone"), io));
  // Evaluate a message from the domain with no authentication: shows the policy that would apply.
  const r = await checkDmarc(
    { author: { ok: true, mailbox: { local: "x", domain: d, address: `x@${d}` }, domain: d }, dkim: [] },
    { resolver, mode },
  );
  if (values.json)
    await io.stdout(
      `${safeJson({ domain: d, result: r.result === "fail" ? "record" : r.result, policyDomain: r.policyDomain, orgDomain: r.orgDomain, policy: r.policy, record: r.record?.text, warnings: r.record?.warnings })}\n`,
    );
  else if (!r.record) await io.stdout(`${q(d)}: no DMARC record (${q(r.reason)})\n`);
  else
    await io.stdout(
      `${q(d)}: ${q(r.record.text)}\n  found at ${q(r.policyDomain ?? "?")}, organizational domain ${q(r.orgDomain ?? "?")}\n  policy for ${q(d)}: ${r.policy}${r.testing ? " (t=y: testing)" : ""}\n${r.record.warnings.map((w) => `  warning: ${q(w)}\n`).join("")}`,
    );
  return r.result === "temperror" ? EXIT.temperror : r.record ? EXIT.ok : EXIT.fail;
}

async function cmdKeygen(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(
    "keygen",
    args,
    {
      type: { type: "string" },
      bits: { type: "string" },
      selector: { type: "string" },
      domain: { type: "string" },
      out: { type: "string" },
    },
    false,
  );
  const type = oneOf("keygen", one(values, "type") ?? "rsa", "--type", ["rsa", "ed25519"] as const);
  const bitsText = one(values, "bits") ?? "2048";
  const bits = /^[0-9]{1,5}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  if (!(bits >= 1024 && bits <= 8192)) throw new UsageError(`keygen: --bits must be 1024 to 8192 (2048 recommended), not ${q(bitsText)}`);
  const selector = one(values, "selector") ?? "default";
  const dom = one(values, "domain");
  if (dom !== undefined) domainName("keygen", dom, "--domain");
  const out = one(values, "out");
  if (out !== undefined) await checkOutputPath(out);
  const pair = type === "rsa" ? generateKeyPairSync("rsa", { modulusLength: bits }) : generateKeyPairSync("ed25519");
  const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const der = pair.publicKey.export({ type: "spki", format: "der" });
  const p = (type === "rsa" ? der : der.subarray(12)).toString("base64");
  const value = `v=DKIM1; k=${type}; p=${p}`;
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 250) chunks.push(`"${value.slice(i, i + 250)}"`);
  const name = `${q(selector)}._domainkey${dom ? `.${q(dom)}.` : ""}`;
  // A new file of mode 0600 renamed over the target: an old file's mode or a link is never kept.
  if (out !== undefined) await writeOutputFile(out, pem, 0o600);
  else await io.stdout(pem);
  await io.stdout(`${name} IN TXT ( ${chunks.join("\n    ")} )\n`);
  return EXIT.ok;
}

async function cmdRecord(args: string[], io: CliIo): Promise<number> {
  const split = args.indexOf("--");
  const { values, positionals } = parse(
    "record",
    split < 0 ? args : args.slice(0, split),
    { out: { type: "string" }, zone: { type: "string", multiple: true } },
    true,
  );
  if (positionals.length > 0) throw new UsageError(`record: unexpected argument ${q(positionals[0]!)} (the command to run goes after --)`);
  if (split < 0) throw new UsageError("record: put -- before the command to run, as in: msgauth record --out z.yaml -- spf ...");
  const out = required("record", values, "out", "the zone file to write");
  await checkOutputPath(out);
  const [command, ...rest] = args.slice(split + 1);
  const runners: Record<string, (a: string[], io: CliIo, r: Resolver) => Promise<number>> = {
    check: cmdCheck,
    spf: cmdSpf,
    dmarc: cmdDmarc,
    seal: cmdSeal,
  };
  const run = command ? runners[command] : undefined;
  if (!run) throw new UsageError(`record: runs check, spf, dmarc or seal${command ? `, not ${q(command)}` : ""}`);
  const innerEnd = rest.indexOf("--");
  if ((innerEnd < 0 ? rest : rest.slice(0, innerEnd)).some((a) => a === "--zone" || a.startsWith("--zone="))) {
    // Dropping it would record live DNS while the user believes the zone was used.
    throw new UsageError("record: put --zone before -- (the zones record reads from); after -- it would not be used");
  }
  const recorder = new RecordingResolver(await resolverFrom(many(values, "zone"), io));
  const code = await run(rest, io, recorder);
  await writeOutputFile(out, formatFromPath(out) === "json" ? recorder.toJson() : recorder.toYaml());
  io.stderr(`recorded ${recorder.size} answers to ${q(out)}\n`);
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
      case "tlsrpt":
        return await cmdTlsrpt(args, io);
      case "report":
        return await cmdReport(args, io);
      case "--version":
      case "-V":
      case "version":
        await io.stdout(`msgauth ${pkg.version}\n`);
        return EXIT.ok;
      case "help":
        if (args[0] === "tlsrpt") return await cmdTlsrpt(["--help"], io);
        if (args[0] === "report") return await cmdReport(["--help"], io);
        if (args[0] && Object.hasOwn(COMMAND_HELP, args[0])) throw new HelpRequest(args[0]);
        await io.stdout(`${USAGE}\n`);
        return EXIT.ok;
      case "--help":
      case "-h":
        await io.stdout(`${USAGE}\n`);
        return EXIT.ok;
      case undefined:
        io.stderr(`${USAGE}\n`);
        return EXIT.usage;
      default:
        throw new UsageError(`unknown command ${q(command)} (commands: check, sign, seal, spf, dmarc, keygen, record, tlsrpt, report)`);
    }
  } catch (err) {
    if (err instanceof HelpRequest) {
      await io.stdout(`${(Object.hasOwn(COMMAND_HELP, err.message) ? COMMAND_HELP[err.message] : undefined) ?? USAGE}\n`);
      return EXIT.ok;
    }
    if (err instanceof UsageError) {
      io.stderr(`msgauth: ${err.message}\n`);
      return EXIT.usage;
    }
    // These carry a message whose names are already escaped: escaping again would print `\\e`.
    if (err instanceof InputError || err instanceof FileInputError || err instanceof OutputError) {
      io.stderr(`msgauth: ${err.message.split("\n")[0] ?? ""}\n`);
      return EXIT.input;
    }
    // Unreadable input, bad keys, zone file errors: one line, in the words of the error.
    const message = describeError(err);
    io.stderr(`msgauth: ${q(message.split("\n")[0] ?? "")}\n`);
    return EXIT.input;
  }
}

/** Kept for callers of the first version (tests): splits a whole mbox in memory. */
export { splitMbox } from "./mbox.js";
