#!/usr/bin/env node
import { main } from "./main.js";

// A closed pipe (`msgauth check ... | head`) ends the run quietly, as other command-line tools do.
// Any other write error (ENOSPC on /dev/full or a full disk, EIO) is one line on stderr and exit 4,
// the exit code for input and output that cannot be read or written.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  process.stderr.write(`msgauth: cannot write standard output (${err.code ?? "error"})\n`);
  process.exit(4);
});

main(process.argv.slice(2), {
  // Wait for the pipe to drain when it is full, so output never piles up in memory.
  stdout: (data) => (process.stdout.write(data) ? undefined : new Promise((resolve) => process.stdout.once("drain", resolve))),
  stderr: (text) => process.stderr.write(text),
  stdin: () => process.stdin,
}).then((code) => {
  process.exitCode = code;
});
