/**
 * The bytes of one message while it arrives: copied into a few large blocks (growing from 64 KiB to
 * 4 MiB), never one buffer per line, so a message costs about its size plus one block however it is
 * cut into lines or chunks. `finish()` joins the blocks once (peak: twice the message size).
 */
export class MessageBuffer {
  /** Largest message; past it everything is dropped and `overflowed` is set. */
  readonly limit: number;
  #overflowed = false;
  #blocks: Uint8Array[] = [];
  #current: Uint8Array | undefined;
  #used = 0;
  #size = 0;

  constructor(limit = Number.POSITIVE_INFINITY) {
    this.limit = limit;
  }

  /** More than `limit` bytes were written: the content was dropped, later writes are ignored. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Bytes held so far. */
  get size(): number {
    return this.#size;
  }

  /** Number of blocks held (for tests and diagnostics: about size / 4 MiB, never per line). */
  get blockCount(): number {
    return this.#blocks.length + (this.#current ? 1 : 0);
  }

  /** Copies src[start, end) in. */
  write(src: Uint8Array, start = 0, end = src.length): void {
    if (this.#overflowed || start >= end) return;
    if (this.#size + (end - start) > this.limit) {
      this.discard();
      this.#overflowed = true;
      return;
    }
    while (start < end) {
      if (!this.#current || this.#used === this.#current.length) {
        if (this.#current) this.#blocks.push(this.#current);
        const next = Math.min(4 * 1024 * 1024, Math.max(64 * 1024, this.#size));
        this.#current = new Uint8Array(next);
        this.#used = 0;
      }
      const n = Math.min(end - start, this.#current.length - this.#used);
      this.#current.set(src.subarray(start, start + n), this.#used);
      this.#used += n;
      this.#size += n;
      start += n;
    }
  }

  /** The whole message in one array; the buffer is empty afterwards. */
  finish(): Uint8Array {
    const blocks = this.#current ? [...this.#blocks, this.#current.subarray(0, this.#used)] : this.#blocks;
    this.#blocks = [];
    this.#current = undefined;
    this.#used = 0;
    const size = this.#size;
    this.#size = 0;
    if (blocks.length === 1) return blocks[0]!;
    const out = new Uint8Array(size);
    let o = 0;
    for (const b of blocks) {
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  /** Drops everything held. */
  discard(): void {
    this.#blocks = [];
    this.#current = undefined;
    this.#used = 0;
    this.#size = 0;
  }
}
