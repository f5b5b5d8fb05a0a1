// Runs the code blocks of docs/migrating-from-mailauth.md: the ```js blocks with mailauth, the ```ts
// blocks with msgauth, each after the "// setup" block, against the fixture DNS. A line
// `console.log(expr); // → value` asserts that expr equals the JSON value.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as msgauth from "../../src/index.js";
import { nodeAtLeast } from "../helpers/mailauth-peers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "docs/migrating-from-mailauth.md"), "utf8");

interface Block {
  lang: "ts" | "js";
  code: string;
  line: number;
  heading: string;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("#")) heading = l.replace(/^#+\s*/, "");
    const open = /^```(ts|js)\s*$/.exec(l);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== "```") end++;
    out.push({ lang: open[1] as "ts" | "js", code: lines.slice(start, end).join("\n"), line: start + 1, heading });
    i = end;
  }
  return out;
}

/** `import { a, b as c } from "m";` and `import d from "m";` become awaited look-ups (the blocks run in a function). */
function rewriteImports(code: string): string {
  return code.replace(
    /^import\s+(?:(\w+)|\{([^}]*)\})\s+from\s+"([^"]+)";$/gm,
    (_m, def: string | undefined, named: string | undefined, from: string) => {
      const mod = `(await __import(${JSON.stringify(from)}))`;
      if (def) return `const ${def} = ${mod}.default ?? ${mod};`;
      const names = named!
        .split(",")
        .map((n) => n.trim().replace(/^type\s+/, ""))
        .filter(Boolean)
        .map((n) => n.replace(/\s+as\s+/, ": "));
      return `const { ${names.join(", ")} } = ${mod};`;
    },
  );
}

/** `console.log(x); // → v` becomes an assertion that x equals the JSON value v. */
function rewriteChecks(code: string, block: Block): { code: string; checks: number } {
  let checks = 0;
  const lines = code.split("\n").map((l, i) => {
    const m = /^(\s*)console\.log\((.*)\);\s*\/\/ → (.*)$/.exec(l);
    if (!m) return l;
    checks++;
    return `${m[1]}__check((${m[2]}), ${JSON.stringify(m[3])}, ${JSON.stringify(`line ${block.line + i}`)});`;
  });
  return { code: lines.join("\n"), checks };
}

/** The mailauth blocks run with each mailauth installed that runs on this Node (7.x needs Node >= 22.19). */
const MAILAUTHS: Array<[string, Record<string, () => Promise<unknown>>]> = [
  ["mailauth 4", { mailauth: () => import("mailauth"), "mailauth/lib/dkim/sign.js": () => import("mailauth/lib/dkim/sign.js") }],
];
if (nodeAtLeast(22, 19))
  MAILAUTHS.push([
    "mailauth 7",
    { mailauth: () => import("mailauth7"), "mailauth/lib/dkim/sign.js": () => import("mailauth7/lib/dkim/sign.js") },
  ]);

async function run(block: Block, setup: Block, peer: Record<string, () => Promise<unknown>> = {}): Promise<number> {
  const imports: Record<string, () => Promise<unknown>> = { msgauth: async () => msgauth, "node:fs": () => import("node:fs"), ...peer };
  // The guide's paths are relative to the repository.
  const { code: before } = rewriteChecks(rewriteImports(setup.code), setup);
  const { code: body, checks } = rewriteChecks(rewriteImports(block.code), block);
  const code = `${before}\n${body}`.replaceAll('"fixtures/', `"${root}fixtures/`);
  const js = ts.transpileModule(`export default async function (__import, __check) {\n${code}\n}`, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  }).outputText;
  const module = { exports: {} as { default?: (i: unknown, c: unknown) => Promise<void> } };
  new Function("module", "exports", js)(module, module.exports);
  const __import = async (name: string) => {
    const load = imports[name];
    if (!load) throw new Error(`the guide imports ${name}: add it to the test's import map`);
    return load();
  };
  const __check = (actual: unknown, expected: string, where: string) => {
    expect({ where, value: JSON.parse(JSON.stringify(actual ?? null)) }).toEqual({ where, value: JSON.parse(expected) });
  };
  await module.exports.default!(__import, __check);
  return checks;
}

const all = blocks(doc);
const setup = all.find((b) => b.code.startsWith("// setup"));

describe("docs/migrating-from-mailauth.md: every example runs and says what the guide says", () => {
  it("has a setup block and examples on both sides", () => {
    expect(setup).toBeDefined();
    expect(all.filter((b) => b.lang === "js").length).toBeGreaterThanOrEqual(4);
    expect(all.filter((b) => b.lang === "ts" && b !== setup).length).toBeGreaterThanOrEqual(6);
  });
  for (const block of all) {
    if (block === setup) continue;
    if (block.lang === "ts")
      it(`${block.heading}, msgauth (line ${block.line})`, async () => {
        expect(await run(block, setup!)).toBeGreaterThan(0);
      });
    else
      for (const [label, peer] of MAILAUTHS)
        it(`${block.heading}, ${label} (line ${block.line})`, async () => {
          expect(await run(block, setup!, peer)).toBeGreaterThan(0);
        });
  }
});
