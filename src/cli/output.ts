/**
 * Files the command line writes (`--out` of sign, seal, keygen, record). One rule for all: the
 * target must be absent or a regular file. A symbolic link, FIFO, socket, device or folder is refused
 * before anything is written (a FIFO would block the run until a reader comes; a link would be
 * followed to a file the user never named). The bytes go to a new file in the same folder, created
 * with O_CREAT | O_EXCL | O_NOFOLLOW and the mode asked for (a private key: 0600), then renamed over
 * the target: an existing file never keeps its old mode, and a run that fails leaves it untouched.
 */
import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { lstat, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { displayName } from "./escape.js";

/** An output the CLI refused or could not write: exit 4 with its one-line, display-safe message. */
export class OutputError extends Error {
  override name = "OutputError";
}

function kindOf(s: Stats): string {
  if (s.isSymbolicLink()) return "a symbolic link";
  if (s.isDirectory()) return "a folder";
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice() || s.isBlockDevice()) return "a device";
  return "not a regular file";
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/**
 * Checks that `path` can be written: absent, or a regular file (not followed if a link). Call it
 * before the work, so that a bad --out fails at once; writeOutputFile checks again.
 */
export async function checkOutputPath(path: string): Promise<void> {
  const shown = displayName(path);
  let s: Stats;
  try {
    s = await lstat(path);
  } catch (err) {
    if (codeOf(err) === "ENOENT") return;
    throw new OutputError(`cannot write ${shown} (${codeOf(err)})`);
  }
  if (!s.isFile()) throw new OutputError(`cannot write ${shown}: ${kindOf(s)}, not a regular file (refused)`);
}

/** Writes `data` to `path` as a new file of `mode` (before the umask) renamed over it. */
export async function writeOutputFile(path: string, data: string | Uint8Array, mode = 0o666): Promise<void> {
  await checkOutputPath(path);
  const shown = displayName(path);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, flags, mode);
    await handle.writeFile(data);
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw new OutputError(`cannot write ${shown} (${codeOf(err)})`);
  }
}
