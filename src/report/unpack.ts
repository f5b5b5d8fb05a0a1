import { fflate } from "../deps.js";

export interface UnpackLimits {
  /** Largest input accepted (compressed report or whole email), bytes. Default 20 MiB. */
  maxInputBytes: number;
  /** Largest XML after decompression, bytes (gzip and zip bombs). Default 100 MiB. */
  maxXmlBytes: number;
  /** Most entries read from a zip. Default 16. */
  maxZipEntries: number;
}

export const DEFAULT_UNPACK_LIMITS: UnpackLimits = { maxInputBytes: 20 * 1024 * 1024, maxXmlBytes: 100 * 1024 * 1024, maxZipEntries: 16 };

export class UnpackError extends Error {
  constructor(
    readonly code: "too-large" | "decompression-bomb" | "malformed-archive",
    message: string,
  ) {
    super(message);
  }
}

// Pushed to the decompressors in small pieces: one piece inflates to at most ~1032x its size, so the
// output cap is checked often and overshoots by a few MiB at most.
const PIECE = 4096;

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
export const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04;

/** Gunzips with a cap on the output, counted as it comes (the header's size field is not trusted). */
export function gunzipCapped(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  let ended = false;
  const gz = new (fflate().Gunzip)((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes) over = true;
    else chunks.push(chunk);
    if (final) ended = true;
  });
  try {
    for (let i = 0; i < data.length && !over; i += PIECE) gz.push(data.subarray(i, i + PIECE), i + PIECE >= data.length);
  } catch (err) {
    throw new UnpackError("malformed-archive", `not a valid gzip stream: ${(err as Error).message}`);
  }
  if (over) throw new UnpackError("decompression-bomb", `the gzip data expands past the limit of ${maxBytes} bytes`);
  if (!ended) throw new UnpackError("malformed-archive", "the gzip stream is truncated");
  return concat(chunks, total);
}

/**
 * Unzips the report from a zip: the first entry named *.xml (or the only entry), with a cap on the
 * expanded bytes and on the entry count. Stored sizes in the archive are not trusted.
 */
export function unzipCapped(data: Uint8Array, limits: Pick<UnpackLimits, "maxXmlBytes" | "maxZipEntries">): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let entries = 0;
  let chosen = false;
  let finished = false;
  let problem: UnpackError | undefined;
  const uz = new (fflate().Unzip)((file) => {
    entries++;
    if (entries > limits.maxZipEntries) {
      problem ??= new UnpackError("malformed-archive", `the zip has more than ${limits.maxZipEntries} entries`);
      return;
    }
    if (chosen || !/\.xml$/i.test(file.name)) return;
    if (file.compression !== 0 && file.compression !== 8) {
      problem ??= new UnpackError("malformed-archive", `zip entry ${file.name} uses unsupported compression ${file.compression}`);
      return;
    }
    chosen = true;
    file.ondata = (err, chunk, final) => {
      if (err) {
        problem ??= new UnpackError("malformed-archive", `zip entry ${file.name}: ${err.message}`);
        return;
      }
      total += chunk.length;
      if (total > limits.maxXmlBytes)
        problem ??= new UnpackError("decompression-bomb", `the zip entry expands past ${limits.maxXmlBytes} bytes`);
      else chunks.push(chunk);
      if (final) finished = true;
    };
    file.start();
  });
  uz.register(fflate().UnzipInflate);
  try {
    for (let i = 0; i < data.length && !problem; i += PIECE) uz.push(data.subarray(i, i + PIECE), i + PIECE >= data.length);
  } catch (err) {
    throw new UnpackError("malformed-archive", `not a valid zip: ${(err as Error).message}`);
  }
  if (problem) throw problem;
  if (!chosen) throw new UnpackError("malformed-archive", "the zip holds no .xml file");
  if (!finished) throw new UnpackError("malformed-archive", "the zip entry is truncated");
  return concat(chunks, total);
}
