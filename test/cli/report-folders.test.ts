// `report parse|summary|html <folder>`: what is not a regular file in the folder is skipped with a
// warning (as `check` does), and a folder with nothing readable is exit 4, not an empty success.
// Before, special files were skipped silently and such a folder exited 0.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "msgauth-report-folders-"));

async function run(argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, {
    stdout: (t) => {
      out += typeof t === "string" ? t : Buffer.from(t).toString("utf8");
    },
    stderr: (t) => {
      err += t;
    },
    stdin: async function* () {},
  });
  return { code, out, err };
}

function folder(name: string, setup: (path: string) => void): string {
  const path = join(dir, name);
  mkdirSync(path);
  setup(path);
  return path;
}
const fifo = (path: string) => spawnSync("mkfifo", [path]);

describe("report <folder> with special files", () => {
  const onlySpecial = folder("only-special", (p) => {
    fifo(join(p, "a.xml"));
    mkdirSync(join(p, "sub"));
    symlinkSync(join(p, "nowhere"), join(p, "dangling.xml"));
  });
  const mixed = folder("mixed", (p) => {
    fifo(join(p, "a.xml"));
    copyFileSync(join(root, "fixtures/reports/google-style.xml"), join(p, "b.xml"));
  });

  for (const sub of ["parse", "summary", "html"]) {
    it(`report ${sub} <folder with nothing readable>: a warning for each entry, an error, exit 4`, async () => {
      const r = await run(["report", sub, onlySpecial]);
      expect(r.code).toBe(4);
      expect(r.err).toContain(`msgauth: warning: ${onlySpecial}/a.xml: skipped: a FIFO, not a regular file\n`);
      expect(r.err).toContain(`msgauth: warning: ${onlySpecial}/sub: skipped: a folder, not a regular file\n`);
      expect(r.err).toContain(`msgauth: warning: ${onlySpecial}/dangling.xml: skipped: a dangling link, not a regular file\n`);
      expect(r.err).toContain(`msgauth: ${onlySpecial}: no regular file in this folder: nothing to read\n`);
    });
  }

  it("report parse <folder with a FIFO and a report>: the report is read, the FIFO is a warning, exit 0", async () => {
    const r = await run(["report", "parse", mixed]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toHaveLength(1);
    expect(r.err).toBe(`msgauth: warning: ${mixed}/a.xml: skipped: a FIFO, not a regular file\n`);
  });

  it("an empty folder is exit 4 too", async () => {
    const empty = folder("empty", () => undefined);
    const r = await run(["report", "summary", empty]);
    expect(r.code).toBe(4);
    expect(r.err).toBe(`msgauth: ${empty}: no regular file in this folder: nothing to read\n`);
  });
});
