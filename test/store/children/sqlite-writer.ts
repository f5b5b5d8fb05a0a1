// Child for the durability test: increments counters, then acknowledges each write on stdout (waiting
// until the line is handed to the pipe), until killed or the parent goes away.
import { openSqliteStore } from "../../../src/store/sqlite.js";

const store = await openSqliteStore(process.argv[2]!);
process.stdout.on("error", () => process.exit(1));
for (let i = 1; i <= 100_000; i++) {
  await store.increment([
    { map: "period", field: `row${i % 7}`, by: 1 },
    { map: "period", field: "total", by: 1 },
  ]);
  await new Promise<void>((resolve) => process.stdout.write(`ack ${i}\n`, () => resolve()));
}
