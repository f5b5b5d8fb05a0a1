import { CANON_WASM_BASE64 } from "./canon-wasm.js";

/** Bytes the kernel takes per call; its output starts at OUTPUT. */
export const KERNEL_INPUT = 131072;
const OUTPUT = 131136;
const STATE = 131072;
/** Held-back empty lines the output area has room for (2 bytes each, besides 2 per input byte). */
export const KERNEL_MAX_PENDING = 32768;

/** The state BodyCanonicalizer carries between chunks, as the kernel reads and writes it. */
export interface KernelState {
  /** Relaxed: white space seen in the current line, emitted as one SP if content follows. */
  pendingSpace: boolean;
  /** The current line has content (a partial line was emitted). */
  midLine: boolean;
  /** A CR at the end of the last chunk, not yet known to be part of CRLF. */
  pendingCR: boolean;
  /** Empty lines seen but not yet emitted: they count only if content follows. */
  pendingLines: number;
}

/** The parts of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmExports {
  memory: { buffer: ArrayBuffer };
  canon: (n: number, relaxed: number, flags: number, pending: number) => number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

/** The WebAssembly body canonicalizer (canon.wat): same results as the JavaScript one, faster. */
export class CanonKernel {
  readonly #memory: Uint8Array;
  readonly #canon: WasmExports["canon"];
  /** The state the kernel leaves at STATE: flags, held-back empty lines. */
  readonly #state: Int32Array;

  constructor(exports: WasmExports) {
    this.#memory = new Uint8Array(exports.memory.buffer);
    this.#canon = exports.canon;
    this.#state = new Int32Array(exports.memory.buffer, STATE, 2);
  }

  /**
   * Canonicalizes `input` (at most KERNEL_INPUT bytes, state.pendingLines at most
   * KERNEL_MAX_PENDING), updating `state`. The result is a view of the kernel's memory, valid until
   * the next call.
   */
  run(input: Uint8Array, relaxed: boolean, state: KernelState): Uint8Array {
    this.#memory.set(input, 0);
    const flagsIn = (state.pendingSpace ? 1 : 0) | (state.midLine ? 2 : 0) | (state.pendingCR ? 4 : 0);
    const n = this.#canon(input.length, relaxed ? 1 : 0, flagsIn, state.pendingLines);
    const flags = this.#state[0]!;
    state.pendingSpace = (flags & 1) !== 0;
    state.midLine = (flags & 2) !== 0;
    state.pendingCR = (flags & 4) !== 0;
    state.pendingLines = this.#state[1]!;
    return this.#memory.subarray(OUTPUT, OUTPUT + n);
  }
}

let kernel: CanonKernel | null | undefined;

/** The shared kernel, or null where WebAssembly SIMD is not available (then JavaScript does the work). */
export function canonKernel(): CanonKernel | null {
  if (kernel === undefined) {
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const instance = new wasm.Instance(new wasm.Module(Buffer.from(CANON_WASM_BASE64, "base64")));
      kernel = new CanonKernel(instance.exports as WasmExports);
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

/** Turns the kernel off for the rest of the process (after a fault; tests). */
export function disableCanonKernel(): void {
  kernel = null;
}
