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
 */
export class MboxSplitter {
  readonly #maxBytes: number;
  // The message being read.
  #inMessage = false;
  #parts: Buffer[] = [];
  #size = 0;
  #blank = true; // only CR/LF so far
  // The line being read: its first bytes until its kind is known, then its kind.
  #head: Buffer[] = [];
  #headLen = 0;
  #kind: LineKind | undefined;
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

  #decided(kind: LineKind): void {
    this.#kind = kind;
    const line = Buffer.concat(this.#head, this.#headLen);
    this.#head = [];
    this.#headLen = 0;
    if (kind === "from") {
      this.#close();
      this.#inMessage = true;
    } else this.#add(kind === "quoted" ? line.subarray(1) : line);
  }

  #piece(bytes: Buffer, lineEnds: boolean): void {
    if (this.#kind === undefined) {
      this.#head.push(bytes);
      this.#headLen += bytes.length;
      const kind = classify(Buffer.concat(this.#head, this.#headLen), lineEnds);
      if (kind !== undefined) this.#decided(kind);
    } else if (this.#kind !== "from") this.#add(bytes);
    if (lineEnds) this.#kind = undefined;
  }

  /** Feeds a chunk; linear in its length. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(0x0a, pos);
      const end = nl < 0 ? buf.length : nl + 1;
      this.#piece(buf.subarray(pos, end), nl >= 0);
      pos = end;
    }
  }

  /** Ends the input: the last message is complete. */
  end(): void {
    if (this.#kind === undefined && this.#headLen > 0) this.#decided(classify(Buffer.concat(this.#head, this.#headLen), true)!);
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
