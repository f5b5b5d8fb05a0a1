import { listenAbort, signalAborted, signalReason, unlistenAbort } from "../abort.js";

/** Thrown by an abortable stream when its signal fires before the next chunk arrived. */
export class StreamAbortedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "StreamAbortedError";
  }
}

function reasonOf(signal: AbortSignal): string {
  const r = signalReason(signal);
  try {
    if (typeof r === "string") return r;
    if (r instanceof Error && r.name !== "AbortError" && typeof r.message === "string") return r.message;
  } catch {
    // a reason that throws when looked at (a Proxy): the generic text
  }
  return "the stream was abandoned: aborted";
}

/** A deadline checked by clock: `at` in Date.now() milliseconds. */
export interface ClockDeadline {
  at: number;
  reason: string;
}

/**
 * A view of a stream that stops waiting when `signal` aborts: a pending or later `next()` rejects
 * with StreamAbortedError, and the source is told to stop (`return()`, which destroys a Node
 * Readable) without waiting for it. A source that stalls forever can then hold up nothing.
 *
 * With `deadline`, every `next()` also checks the clock: a source whose chunks are all ready at once
 * (`async function* () { for (;;) yield "" }`) keeps the microtask queue busy, so no timer (the one
 * that aborts `signal`) can ever fire; the clock check ends it all the same.
 */
export function abortableStream<T>(source: AsyncIterable<T>, signal: AbortSignal, deadline?: ClockDeadline): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        try {
          // Not awaited: a stalled source may never answer this either.
          Promise.resolve(it.return?.()).catch(() => {});
        } catch {
          // A source whose return() throws is closed as far as we are concerned.
        }
      };
      return {
        next(): Promise<IteratorResult<T>> {
          if (signalAborted(signal)) {
            close();
            return Promise.reject(new StreamAbortedError(reasonOf(signal)));
          }
          if (deadline !== undefined && Date.now() >= deadline.at) {
            close();
            return Promise.reject(new StreamAbortedError(deadline.reason));
          }
          return new Promise<IteratorResult<T>>((resolve, reject) => {
            const onAbort = () => {
              close();
              reject(new StreamAbortedError(reasonOf(signal)));
            };
            listenAbort(signal, onAbort);
            let step: Promise<IteratorResult<T>>;
            try {
              step = Promise.resolve(it.next());
            } catch (err) {
              step = Promise.reject(err);
            }
            step.then(
              (r) => {
                unlistenAbort(signal, onAbort);
                resolve(r);
              },
              (err: unknown) => {
                unlistenAbort(signal, onAbort);
                reject(err);
              },
            );
          });
        },
        return(): Promise<IteratorResult<T>> {
          close();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
