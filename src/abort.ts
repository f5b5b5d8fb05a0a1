/**
 * A caller's AbortSignal, read through the platform's own accessors and methods, taken once here,
 * never through the signal's own properties: those may be set to anything on a real signal (a
 * `removeEventListener` that throws left a check waiting past its deadline with an unhandled
 * rejection; red team). `isAbortSignal` is the check the options use: an object that only inherits
 * from AbortSignal.prototype, or a Proxy whose traps hide the signal's state or throw, is refused as
 * a wrong option (a Proxy that passes a real signal's state through is a signal: Node's own check
 * reads that state through it). Should a signal's state become unreadable later (a Proxy's traps may change their mind),
 * it counts as aborted, and listening to it as done: every wait has its own deadline anyway.
 */
const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted")!.get!;
const reasonGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, "reason")!.get!;
const addListener = EventTarget.prototype.addEventListener;
const removeListener = EventTarget.prototype.removeEventListener;
const ONCE = Object.freeze({ once: true });

/** Whether `v` is a real AbortSignal (its internal state readable), whatever its own properties say. */
export function isAbortSignal(v: unknown): v is AbortSignal {
  try {
    // instanceof asks a Proxy's getPrototypeOf trap, which may throw (red team): a wrong option.
    if (!(v instanceof AbortSignal)) return false;
    abortedGetter.call(v);
    return true;
  } catch {
    return false;
  }
}

/** `signal.aborted`, by the platform's getter; true when it cannot be read (under doubt, stop). */
export function signalAborted(signal: AbortSignal): boolean {
  try {
    return abortedGetter.call(signal) === true;
  } catch {
    return true;
  }
}

/** `signal.reason`, by the platform's getter; undefined when it cannot be read. */
export function signalReason(signal: AbortSignal): unknown {
  try {
    return reasonGetter.call(signal);
  } catch {
    return undefined;
  }
}

/** `signal.addEventListener("abort", listener, { once: true })`, by the platform's method. */
export function listenAbort(signal: AbortSignal, listener: () => void): void {
  try {
    addListener.call(signal, "abort", listener, ONCE);
  } catch {
    // Not listened to: the wait still ends at its deadline.
  }
}

/** `signal.removeEventListener("abort", listener)`, by the platform's method. */
export function unlistenAbort(signal: AbortSignal, listener: () => void): void {
  try {
    removeListener.call(signal, "abort", listener);
  } catch {
    // Nothing to undo that could be undone.
  }
}
