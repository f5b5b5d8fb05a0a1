/**
 * An incremental mbox reader (RFC 4155 "default" format, mboxrd quoting): messages start at lines
 * beginning "From "; ">From ", ">>From " ... lines lose one '>'. It pulls chunks from a stream only
 * as far as the next message boundary and holds at most one message (up to the size cap) plus one
 * chunk, so memory does not grow with the size of the mailbox.
 */

export type MboxItem =
  | { kind: "message"; data: Buffer }
  /** The message was over `maxBytes`; its bytes were dropped as they came. */
  | { kind: "too-large"; bytes: number }
  /** A "From " line followed by nothing but blank lines (a truncated mailbox). */
  | { kind: "empty" };

/** Bytes of a line looked at to tell a "From " line or a quoted ">From " line. */
const HEAD = 256;
const FROM = Buffer.from("From ");

type LineKind = "from" | "quoted" | "plain";

function classify(head: Buffer, complete: boolean): LineKind | undefined {
  let i = 0;
  while (i < head.length && head[i] === 0x3e /* > */) i++;
  if (head.length - i < FROM.length && !complete && head.length < HEAD) return undefined; // need more
  const isFrom = head.subarray(i, i + FROM.length).equals(FROM);
  if (!isFrom) return "plain";
  return i === 0 ? "from" : "quoted";
}

/** True when the bytes start like an mbox ("From "). */
export function looksLikeMbox(start: Uint8Array): boolean {
  return Buffer.from(start.buffer, start.byteOffset, Math.min(start.length, FROM.length)).equals(FROM);
}

/**
 * The splitting state machine: feed chunks, take the messages completed so far. Bytes before the
 * first "From " line are not a message and are dropped.
 *
 * Only lines that start with "F" or ">" can be boundaries or quoted: the rest of the input is found
 * with native searches for "\nF" and "\n>" and passed on in whole runs, never a line at a time.
 */
export class MboxSplitter {
  readonly #maxBytes: number;
  // The message being read.
  #inMessage = false;
  #parts: Buffer[] = [];
  #size = 0;
  #blank = true; // only CR/LF so far
  /**
   * Where the next byte falls: at the start of a line; in a line whose first bytes are held in
   * `#head` until its kind is known; in a plain line; or in a "From " line (dropped).
   */
  #mode: "start" | "head" | "plain" | "from" = "start";
  #head: Buffer[] = [];
  #headLen = 0;
  #ready: MboxItem[] = [];

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxBytes = maxBytes;
  }

  #add(bytes: Buffer): void {
    if (!this.#inMessage || bytes.length === 0) return;
    if (this.#blank) this.#blank = bytes.every((b) => b === 0x0a || b === 0x0d);
    this.#size += bytes.length;
    if (this.#size > this.#maxBytes) this.#parts = [];
    else this.#parts.push(bytes);
  }

  #close(): void {
    if (!this.#inMessage) return;
    if (this.#size > this.#maxBytes) this.#ready.push({ kind: "too-large", bytes: this.#size });
    else if (this.#blank) this.#ready.push({ kind: "empty" });
    else this.#ready.push({ kind: "message", data: Buffer.concat(this.#parts, this.#size) });
    this.#parts = [];
    this.#size = 0;
    this.#blank = true;
  }

  /** The held line head is decided; `complete`: it holds the whole line, newline included. */
  #decide(kind: LineKind, complete: boolean): void {
    const line = Buffer.concat(this.#head, this.#headLen);
    this.#head = [];
    this.#headLen = 0;
    if (kind === "from") {
      this.#close();
      this.#inMessage = true;
    } else this.#add(kind === "quoted" ? line.subarray(1) : line);
    this.#mode = complete ? "start" : kind === "from" ? "from" : "plain";
  }

  /** Feeds a chunk; linear in its length. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    while (pos < buf.length) {
      switch (this.#mode) {
        case "start": {
          const c = buf[pos];
          this.#mode = c === 0x46 /* F */ || c === 0x3e /* > */ ? "head" : "plain";
          break;
        }
        case "head": {
          // Take the line up to its newline, or until HEAD bytes are held.
          const nl = buf.indexOf(0x0a, pos);
          const limit = pos + (HEAD - this.#headLen);
          const end = nl >= 0 && nl < limit ? nl + 1 : Math.min(buf.length, limit);
          this.#head.push(buf.subarray(pos, end));
          this.#headLen += end - pos;
          pos = end;
          const complete = buf[end - 1] === 0x0a;
          const kind = classify(Buffer.concat(this.#head, this.#headLen), complete);
          if (kind !== undefined) this.#decide(kind, complete);
          break;
        }
        case "from": {
          const nl = buf.indexOf(0x0a, pos);
          if (nl < 0) pos = buf.length;
          else {
            pos = nl + 1;
            this.#mode = "start";
          }
          break;
        }
        case "plain": {
          // The next line that starts with F or >; everything before it passes in one piece.
          const f = buf.indexOf("\nF", pos, "latin1");
          const q = buf.indexOf("\n>", pos, "latin1");
          const next = f < 0 ? q : q < 0 ? f : Math.min(f, q);
          if (next < 0) {
            this.#add(buf.subarray(pos));
            if (buf[buf.length - 1] === 0x0a) this.#mode = "start";
            pos = buf.length;
          } else {
            this.#add(buf.subarray(pos, next + 1));
            pos = next + 1;
            this.#mode = "head";
          }
          break;
        }
      }
    }
  }

  /** Ends the input: the last message is complete. */
  end(): void {
    if (this.#mode === "head") this.#decide(classify(Buffer.concat(this.#head, this.#headLen), true)!, true);
    this.#close();
  }

  /** The messages completed so far, in order; each is handed out once. */
  take(): MboxItem[] {
    const out = this.#ready;
    this.#ready = [];
    return out;
  }
}

/**
 * Splits an mbox stream into messages, one at a time: the next chunk is pulled only when every
 * message completed by the chunks so far has been taken.
 */
export async function* readMbox(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<MboxItem> {
  const splitter = new MboxSplitter(maxBytes);
  for await (const chunk of chunks) {
    splitter.push(chunk);
    yield* splitter.take();
  }
  splitter.end();
  yield* splitter.take();
}

/** Splits a whole mbox in memory (no size cap); an empty message is an empty Buffer. */
export function splitMbox(data: Uint8Array): Buffer[] {
  const splitter = new MboxSplitter();
  splitter.push(data);
  splitter.end();
  return splitter.take().map((m) => (m.kind === "message" ? m.data : Buffer.alloc(0)));
}
