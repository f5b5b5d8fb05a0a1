import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where the external conformance suites live: $MSGAUTH_SUITES, or ../shared/suites beside the
 * project. They are never copied into the project.
 */
export const SUITES_DIR = resolve(process.env.MSGAUTH_SUITES ?? fileURLToPath(new URL("../../../shared/suites", import.meta.url)));

export function suitePath(relative: string): { path: string; present: boolean; message: string } {
  const path = join(SUITES_DIR, relative);
  const present = existsSync(path);
  return {
    path,
    present,
    message: present ? `reading ${path}` : `SUITE ABSENT: ${path} not found; set MSGAUTH_SUITES to the folder holding ${relative}`,
  };
}
