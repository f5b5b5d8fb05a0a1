import { afterEach, beforeEach } from "vitest";
import type { Resolver } from "../../src/index.js";

/**
 * The unhandled rejections seen during each test of the calling file (cleared before each): a test
 * asserts it stays empty. Call once at the top level of a test file.
 */
export function collectUnhandled(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeEach(() => {
    unhandled.length = 0;
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(() => {
    process.off("unhandledRejection", onUnhandled);
  });
  return unhandled;
}

/** A resolver that never answers any query. */
export const neverAnswers: Resolver = {
  txt: () => new Promise(() => {}),
  a: () => new Promise(() => {}),
  aaaa: () => new Promise(() => {}),
  mx: () => new Promise(() => {}),
  ptr: () => new Promise(() => {}),
};
