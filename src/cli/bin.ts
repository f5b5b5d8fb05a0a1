#!/usr/bin/env node
import { main } from "./main.js";

// A closed pipe (`msgauth check ... | head`) ends the run quietly, as other command-line tools do.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2), {
  // Wait for the pipe to drain when it is full, so output never piles up in memory.
  stdout: (data) => (process.stdout.write(data) ? undefined : new Promise((resolve) => process.stdout.once("drain", resolve))),
  stderr: (text) => process.stderr.write(text),
  stdin: () => process.stdin,
}).then((code) => {
  process.exitCode = code;
});
