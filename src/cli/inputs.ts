import { constants } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { formatFromPath, parseZone } from "../dns/load.js";
import type { Zone } from "../dns/zone.js";
import { displayName } from "./escape.js";
import { looksLikeMbox, readMbox } from "./mbox.js";

/** One message to check, or one input that could not be checked (and why, for stderr). */
export type Input =
  /** `name` is escaped for display; `file` is the name as it is (for JSON). */
  | {
      kind: "message";
      name: string;
      /** The name as it is when it is UTF-8; otherwise its escaped form (`\xff`), as `name` shows it. */
      file: string;
      /** Only for a name that is not UTF-8: its bytes, in hex (`file` cannot hold them). */
      fileBytes?: string;
      data: Buffer;
    }
  /** `error`: counts as unreadable input (exit 4); `warning`: skipped without changing the exit code. */
  | { kind: "problem"; name: string; why: string; severity: "error" | "warning" };

export interface InputOptions {
  /** Standard input, read only when "-" is given. */
  stdin: () => AsyncIterable<Uint8Array>;
  /** Per-message size cap in bytes. */
  maxBytes: number;
}

const CHUNK = 64 * 1024;

function typeOf(s: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (s.isDirectory()) return "a folder";
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice() || s.isBlockDevice()) return "a device";
  return "not a regular file";
}

async function* chunksOf(handle: FileHandle): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

/** A byte count as given to --max-message-size: 64 MiB, 4 KiB, 1000 bytes. */
const mib = (n: number) =>
  n % 1073741824 === 0
    ? `${n / 1073741824} GiB`
    : n % 1048576 === 0
      ? `${n / 1048576} MiB`
      : n % 1024 === 0
        ? `${n / 1024} KiB`
        : `${n} bytes`;

/**
 * The messages of one source: an mbox (it starts with "From ") one message at a time, otherwise
 * one message, read up to the cap.
 */
async function* messagesOf(name: string, file: string, source: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Input> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  // Enough bytes to tell an mbox.
  while (size < 5) {
    const next = await it.next();
    if (next.done) break;
    const b = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.length);
    parts.push(b);
    size += b.length;
  }
  const first = Buffer.concat(parts, size);
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: () => it.next(),
      return: async () => (await it.return?.()) ?? { done: true, value: undefined },
    }),
  };
  if (looksLikeMbox(first)) {
    let n = 0;
    const all = (async function* () {
      yield first;
      yield* rest;
    })();
    for await (const item of readMbox(all, maxBytes)) {
      n++;
      const part = `${name}#${n}`;
      if (item.kind === "message") {
        yield { kind: "message", name: part, file: `${file}#${n}`, data: item.data };
      } else if (item.kind === "too-large") {
        yield {
          kind: "problem",
          name: part,
          why: `message is over the ${mib(maxBytes)} limit (--max-message-size); skipped`,
          severity: "error",
        };
      } else {
        yield { kind: "problem", name: part, why: "empty message (a From line with nothing after it: truncated mbox?)", severity: "error" };
      }
    }
    if (n === 0) yield { kind: "problem", name, why: "no messages found in this mbox (truncated?)", severity: "error" };
    return;
  }
  const body: Buffer[] = [first];
  let total = first.length;
  for await (const chunk of rest) {
    total += chunk.length;
    if (total > maxBytes) {
      // Stop reading: the rest would only be dropped.
      await it.return?.();
      yield { kind: "problem", name, why: `message is over the ${mib(maxBytes)} limit (--max-message-size); skipped`, severity: "error" };
      return;
    }
    body.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  if (total > maxBytes) {
    yield { kind: "problem", name, why: `message is over the ${mib(maxBytes)} limit (--max-message-size); skipped`, severity: "error" };
    return;
  }
  if (total === 0) {
    yield { kind: "problem", name, why: "empty (0 bytes)", severity: "error" };
    return;
  }
  yield { kind: "message", name, file, data: Buffer.concat(body, total) };
}

/**
 * Opens a path only if it is a regular file. O_NONBLOCK makes opening a FIFO return at once (instead
 * of waiting for a writer), and the type is checked again on the open descriptor (fstat), so a name
 * swapped between the first check and the open cannot slip a FIFO or a device through. Symbolic links are followed:
 * a link to a regular file is read, a link to anything else is skipped like its target.
 */
/**
 * Node decodes the command line as UTF-8: a byte that is not UTF-8 arrives as U+FFFD, so such a name
 * cannot be opened from the command line (there is no way to get the raw bytes back). Say so.
 */
const NOT_UTF8 =
  "no such file (the name holds U+FFFD: a name that is not valid UTF-8 cannot be given on the command line; give the folder holding it)";

async function openRegular(path: string | Buffer): Promise<{ handle: FileHandle } | { why: string }> {
  // What is plainly not a regular file is not even opened (opening some devices has effects).
  const before = await stat(path).catch(() => undefined);
  if (before && !before.isFile()) return { why: `skipped: ${typeOf(before)}, not a regular file` };
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && typeof path === "string" && path.includes("\ufffd")) return { why: NOT_UTF8 };
    return { why: code === "ENOENT" ? "no such file" : `cannot open (${code ?? String(err)})` };
  }
  const s = await handle.stat();
  if (!s.isFile()) {
    await handle.close();
    return { why: `skipped: ${typeOf(s)}, not a regular file` };
  }
  return { handle };
}

async function* fileMessages(path: string | Buffer, name: string, maxBytes: number, inFolder: boolean): AsyncGenerator<Input> {
  const opened = await openRegular(path);
  if ("why" in opened) {
    // In a folder, skipping what is not a message file is normal; a name the user gave is an error.
    const skipped = opened.why.startsWith("skipped");
    yield { kind: "problem", name, why: opened.why, severity: inFolder && skipped ? "warning" : "error" };
    return;
  }
  // A name that is not UTF-8 would decode to U+FFFD: give its escaped form and its bytes instead.
  let file: string;
  let fileBytes: string | undefined;
  if (typeof path === "string") file = path;
  else {
    try {
      file = new TextDecoder("utf-8", { fatal: true }).decode(path);
    } catch {
      file = displayName(path);
      fileBytes = path.toString("hex");
    }
  }
  try {
    for await (const input of messagesOf(name, file, chunksOf(opened.handle), maxBytes))
      yield input.kind === "message" && fileBytes !== undefined ? { ...input, fileBytes } : input;
  } catch (err) {
    yield { kind: "problem", name, why: `read error (${(err as NodeJS.ErrnoException).code ?? String(err)})`, severity: "error" };
  } finally {
    await opened.handle.close();
  }
}

const EML = Buffer.from(".eml");

/**
 * Every message of the inputs, in order, one at a time: files, folders (each `*.eml` in them, not
 * recursing), mbox files and "-" for standard input. Names are display-safe (escaped).
 */
export async function* readInputs(paths: string[], options: InputOptions): AsyncGenerator<Input> {
  for (const path of paths) {
    if (path === "-") {
      yield* messagesOf("<stdin>", "<stdin>", options.stdin(), options.maxBytes);
      continue;
    }
    const name = displayName(path);
    const s = await stat(path).catch(() => undefined);
    if (!s?.isDirectory()) {
      yield* fileMessages(path, name, options.maxBytes, false);
      continue;
    }
    let entries: Buffer[];
    try {
      // Names as bytes: a name that is not UTF-8 can still be opened.
      entries = (await readdir(path, { encoding: "buffer" })).filter((e) => e.length > EML.length && e.subarray(-EML.length).equals(EML));
    } catch (err) {
      yield { kind: "problem", name, why: `cannot list folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`, severity: "error" };
      continue;
    }
    if (entries.length === 0) yield { kind: "problem", name, why: "no .eml files in this folder", severity: "warning" };
    entries.sort(Buffer.compare);
    const dir = Buffer.from(path.endsWith("/") ? path : `${path}/`);
    for (const entry of entries) {
      const full = Buffer.concat([dir, entry]);
      yield* fileMessages(full, displayName(full), options.maxBytes, true);
    }
  }
}

/** Caps for the files the CLI reads whole besides messages. */
export const FILE_LIMITS = {
  /** A private key (PEM or DER): real ones are a few KiB. */
  key: 1024 * 1024,
  /** A fixture zone (zone file, YAML, JSON). */
  zone: 64 * 1024 * 1024,
  /** A DMARC aggregate or TLS report, or a mail holding one. */
  report: 32 * 1024 * 1024,
} as const;

/** A file the CLI refused to read (not a regular file, too large, unreadable): exit 4 with its one-line message. */
export class FileInputError extends Error {
  override name = "FileInputError";
  constructor(
    message: string,
    /** Why, without the file's name: "a FIFO, not a regular file", "larger than 1 MiB". */
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * Reads one whole file the user named (a key, a zone, a report) with the same check as messages: only
 * a regular file is opened (a FIFO, socket or device is refused without waiting or reading), and
 * reading stops past `maxBytes`. Throws FileInputError with a one-line, display-safe message.
 */
export async function readRegularFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  const shown = `${what} ${displayName(path)}`;
  const opened = await openRegular(path);
  const refuse = (reason: string) => new FileInputError(`cannot read ${shown}: ${reason}`, reason);
  if ("why" in opened) throw refuse(opened.why.replace(/^skipped: /, ""));
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of chunksOf(opened.handle)) {
      total += chunk.length;
      if (total > maxBytes) throw refuse(`larger than ${mib(maxBytes)}`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof FileInputError) throw err;
    throw refuse(`read error (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  } finally {
    await opened.handle.close();
  }
  return Buffer.concat(chunks, total);
}

/**
 * A report input for `msgauth report` and `msgauth tlsrpt`: a regular file or "-" for standard input,
 * at most {@link FILE_LIMITS}.report bytes. Failures are plain Errors whose message is the reason.
 */
export async function readReportInput(path: string, stdin: () => AsyncIterable<Uint8Array>): Promise<Buffer> {
  const max = FILE_LIMITS.report;
  if (path !== "-") {
    // The CLI's one check for files: a FIFO, socket or device is refused unopened.
    return readRegularFile(path, "report", max).catch((err: unknown) => {
      throw err instanceof FileInputError ? new Error(err.reason) : err;
    });
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of stdin()) {
    size += c.length;
    if (size > max) throw new Error(`larger than ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** A fixture zone file, read through readRegularFile (format from the file name, as loadZone). */
export async function readZoneFile(path: string): Promise<Zone> {
  const text = (await readRegularFile(path, "zone", FILE_LIMITS.zone)).toString("utf8");
  return parseZone(text, formatFromPath(path), path);
}
