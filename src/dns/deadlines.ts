/**
 * One timer for every deadline msgauth waits on (DNS queries, their time budgets): a min-heap of
 * deadlines and a single setTimeout armed for the earliest. A setTimeout and a clearTimeout per
 * DNS query were a measurable share of a small message's time; adding and removing a deadline here
 * is a few heap steps, and the timer is re-armed only when a deadline earlier than the armed one
 * comes. While any deadline is pending the timer is armed and keeps the process alive (a caller
 * awaiting a result still does); once none is, the timer is cleared by the end of the event-loop
 * turn, so it never keeps a process alive longer than the waits it bounds.
 *
 * When the timer fires, the deadlines it finds due are expired in the check phase of that event-loop
 * turn (a setImmediate), not at once: timers due before it (a resolver answering by setTimeout) and
 * the I/O callbacks of that turn's poll phase (an answer that came while the loop was blocked) run
 * first, so an answer that was due before its deadline wins, as with a setTimeout per query.
 */

import { setImmediate as nodeSetImmediate } from "node:timers";

/** Something that must happen by a time. */
export interface Deadline {
  /** performance.now() milliseconds. */
  at: number;
  /** Its place in the heap while scheduled, -1 otherwise (owned by this module). */
  slot: number;
  /** Called once, when `at` has passed (unless removed first). Must not throw. */
  expire(): void;
}

/**
 * Timers fire on the event loop's millisecond clock, which can run up to a millisecond behind
 * performance.now(): a deadline within this of now when the timer fires is due.
 */
const SLACK_MS = 1;
/** The longest delay setTimeout takes (a longer one fires after 1 ms): longer waits are re-armed. */
const MAX_DELAY_MS = 2 ** 31 - 1;

const heap: Deadline[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
/** When the armed timer fires (Infinity when none is armed). */
let armedAt = Number.POSITIVE_INFINITY;
let idleCheck = false;
/**
 * The setTimeout and setImmediate the timer and the idle check were made with: a test suite that
 * switches between fake and real timers (vi.useFakeTimers, vi.useRealTimers) can leave a timer that
 * will never fire; a deadline added under other timers arms a new one.
 */
let armedWith: unknown;
let idleWith: unknown;
/** Deadlines at or before this (performance.now() ms) are expired by the pending expiry pass. */
let dueBy = Number.NEGATIVE_INFINITY;
/** Whether an expiry pass is scheduled (a setImmediate). */
let expiryPending = false;

/** Schedules `d` (not already scheduled) to expire at `d.at`; an infinite `at` is never scheduled. */
export function addDeadline(d: Deadline): void {
  if (!(d.at < Number.POSITIVE_INFINITY)) return;
  d.slot = heap.length;
  heap.push(d);
  up(d.slot);
  if (d.at < armedAt) arm(d.at);
  else if (armedWith !== setTimeout) arm(heap[0]!.at);
}

/** Unschedules `d` if it is scheduled. */
export function removeDeadline(d: Deadline): void {
  const i = d.slot;
  if (i < 0) return;
  d.slot = -1;
  const last = heap.pop()!;
  if (i < heap.length) {
    heap[i] = last;
    last.slot = i;
    down(i);
    up(last.slot);
  }
  // The timer stays armed for the moment (queries sent one after the other would otherwise clear
  // and re-arm it each time); it is cleared at the end of the turn if nothing is pending by then.
  if (heap.length === 0 && timer !== undefined && (!idleCheck || idleWith !== setImmediate)) {
    idleCheck = true;
    idleWith = setImmediate;
    setImmediate(disarmIfIdle);
  }
}

/** Deadlines scheduled and whether the timer is armed: for tests. */
export function scheduledDeadlines(): { pending: number; armed: boolean } {
  return { pending: heap.length, armed: timer !== undefined };
}

function disarmIfIdle(): void {
  idleCheck = false;
  if (heap.length === 0 && timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
    armedAt = Number.POSITIVE_INFINITY;
  }
}

function arm(at: number): void {
  // A timer of other timers (fake ones now gone, or real ones under fake) is left to fire: fire()
  // only looks at the heap, so a late or extra call does no harm.
  if (timer !== undefined && armedWith === setTimeout) clearTimeout(timer);
  const delay = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(at - performance.now())));
  armedAt = at;
  armedWith = setTimeout;
  // Not unref'd: a caller awaiting a result keeps the process alive until its waits end.
  // Given the setImmediate of the same timers (real, fake, or wrapped by an instrumentation agent):
  // a real timer firing after a switch to fake ones must not wait on a fake immediate.
  timer = setTimeout(fire, delay, setImmediate);
}

function fire(immediate: typeof setImmediate): void {
  timer = undefined;
  armedAt = Number.POSITIVE_INFINITY;
  const now = performance.now() + SLACK_MS;
  // Fake timers (@sinonjs/fake-timers as in vi.useFakeTimers and Jest's, or Jest's legacy mocks):
  // time moves only when the test advances it, timers run one by one in time order, and a fake
  // immediate would run late or never; expire what is due at once.
  if (immediate !== nodeSetImmediate && ("clock" in immediate || "_isMockFunction" in immediate)) return expireBy(now);
  // What is due now is expired in this turn's check phase, after the timers and I/O callbacks that
  // were due with it: an answer delivered by one of them settles its query first and wins.
  if (now > dueBy) dueBy = now;
  if (!expiryPending) {
    expiryPending = true;
    immediate(expireDue);
  }
}

function expireDue(): void {
  const by = dueBy;
  dueBy = Number.NEGATIVE_INFINITY;
  expiryPending = false;
  // Only what was due when the timer fired: a deadline that came due since (a long callback in
  // between) may have its answer in the next turn's timers; it is re-armed.
  expireBy(by);
}

function expireBy(by: number): void {
  // Each deadline leaves the heap before it expires: an expiry that schedules or removes others
  // (a resolver's abort listener starting a query) finds the heap consistent.
  while (heap.length > 0 && heap[0]!.at <= by) {
    const d = heap[0]!;
    removeDeadline(d);
    d.expire();
  }
  if (heap.length > 0 && (heap[0]!.at < armedAt || armedWith !== setTimeout)) arm(heap[0]!.at);
}

function up(i: number): void {
  const d = heap[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = heap[p]!;
    if (parent.at <= d.at) break;
    heap[i] = parent;
    parent.slot = i;
    i = p;
  }
  heap[i] = d;
  d.slot = i;
}

function down(i: number): void {
  const d = heap[i]!;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && heap[r]!.at < heap[l]!.at ? r : l;
    const child = heap[c]!;
    if (child.at >= d.at) break;
    heap[c] = d;
    heap[i] = child;
    child.slot = i;
    i = c;
  }
  heap[i] = d;
  d.slot = i;
}
