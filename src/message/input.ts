import type { ParsedHeaders, ParsedMessage, SplitLimits } from "./split.js";
import { checkSplitLimits, findHeaderEnd, parseHeaderBlock, splitMessage } from "./split.js";

/** Everything msgauth accepts as a message: bytes, text (UTF-8), or a stream of chunks. */
export type MessageInput = Uint8Array | string | AsyncIterable<Uint8Array | string>;

export interface OpenedMessage extends ParsedHeaders {
  hasBody: boolean;
  /** The body, chunk by chunk, read once. For in-memory input it is one chunk. */
  body: AsyncIterable<Uint8Array>;
}

const encoder = new TextEncoder();
export function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? encoder.encode(chunk) : chunk;
}

/**
 * A stream chunk that is not a Uint8Array (Buffer) or a string: an ArrayBuffer, a DataView, a
 * Uint16Array, a number. Never skipped or reinterpreted (a Uint16Array's bytes read as a message
 * would be a NUL-prefixed header): the stream is unreadable. authenticate() reports it as
 * `message.error: "unreadable"`.
 */
export class StreamChunkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamChunkError";
  }
}

/** Consecutive empty chunks a stream may yield before it is taken as unreadable. */
export const MAX_EMPTY_CHUNK_RUN = 65_536;

function describeChunk(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  try {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return typeof name === "string" && name !== "" ? name : "an object";
  } catch {
    return "an object";
  }
}

/** A stream chunk as bytes; anything but a Uint8Array or a string throws StreamChunkError. */
function chunkBytes(value: unknown): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new StreamChunkError(`a message stream chunk must be a Uint8Array (Buffer) or a string, not ${describeChunk(value)}`);
}

/** Counts runs of empty chunks: an endless run of them is a stream that never delivers. */
function emptyRun(): (chunk: Uint8Array) => void {
  let run = 0;
  return (chunk) => {
    if (chunk.length > 0) run = 0;
    else if (++run > MAX_EMPTY_CHUNK_RUN)
      throw new StreamChunkError(`the message stream yielded more than ${MAX_EMPTY_CHUNK_RUN} empty chunks in a row`);
  };
}

export function isMessageInput(value: unknown): value is MessageInput {
  return (
    typeof value === "string" ||
    value instanceof Uint8Array ||
    (typeof value === "object" && value !== null && Symbol.asyncIterator in value)
  );
}

/** chunkBytes, telling the source to stop (not awaited) when the chunk is refused. */
function readChunk(value: unknown, iterator: AsyncIterator<unknown>): Uint8Array {
  try {
    return chunkBytes(value);
  } catch (err) {
    try {
      Promise.resolve(iterator.return?.()).catch(() => {});
    } catch {
      // a source whose return() throws is closed as far as we are concerned
    }
    throw err;
  }
}

async function* once(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  if (chunk.length > 0) yield chunk;
}

/**
 * openMessage for a message given whole (bytes or text): synchronous, the body one view of the
 * input. Spares a small message the async generator and the promise hops of reading one chunk.
 */
export function openWhole(input: Uint8Array | string, limits: SplitLimits = {}): ParsedMessage {
  return splitMessage(toBytes(input), limits);
}

/**
 * Reads the header block of a message and hands back the body as a stream, so a large message is
 * never held in memory whole. The caller's buffers are never modified.
 */
export async function openMessage(input: MessageInput, limits: SplitLimits = {}): Promise<OpenedMessage> {
  checkSplitLimits(limits);
  if (typeof input === "string" || input instanceof Uint8Array) {
    const m = openWhole(input, limits);
    return {
      headers: m.headers,
      defects: m.defects,
      ...(m.error ? { error: m.error } : {}),
      ...(m.beyondLimit ? { beyondLimit: m.beyondLimit } : {}),
      hasBody: m.hasBody,
      body: once(m.body),
    };
  }
  const maxHeaderBytes = limits.maxHeaderBytes ?? 4 * 1024 * 1024;
  const iterator = input[Symbol.asyncIterator]();
  let buf = new Uint8Array(16 * 1024);
  let len = 0;
  let end = -1;
  let done = false;
  const countEmpty = emptyRun();
  while (end < 0) {
    const step = await iterator.next();
    if (step.done) {
      done = true;
      break;
    }
    const chunk = readChunk(step.value, iterator);
    countEmpty(chunk);
    if (len + chunk.length > buf.length) {
      const grown = new Uint8Array(Math.max(buf.length * 2, len + chunk.length));
      grown.set(buf.subarray(0, len));
      buf = grown;
    }
    buf.set(chunk, len);
    const scanFrom = Math.max(0, len - 3);
    len += chunk.length;
    end = findHeaderEnd(buf.subarray(0, len), scanFrom);
    if (end < 0 && len > maxHeaderBytes) {
      await iterator.return?.();
      const parsed = parseHeaderBlock(buf.subarray(0, len), limits);
      // The rest of the header is not read: a From there cannot be seen (src/message/from.ts then
      // never lets the author pass, and DMARC applies reject).
      return {
        ...parsed,
        error: "header-too-large",
        beyondLimit: { from: parsed.beyondLimit?.from ?? [], complete: false },
        hasBody: false,
        body: once(new Uint8Array(0)),
      };
    }
  }
  if (end < 0) {
    const parsed = parseHeaderBlock(buf.subarray(0, len), limits);
    return { ...parsed, hasBody: false, body: once(new Uint8Array(0)) };
  }
  const parsed = parseHeaderBlock(buf.subarray(0, end), limits);
  const first = buf.slice(end, len);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const step = await iterator.next();
      if (step.done) return;
      const chunk = readChunk(step.value, iterator);
      countEmpty(chunk);
      if (chunk.length > 0) yield chunk;
    }
  }
  return { ...parsed, hasBody: true, body: rest() };
}
