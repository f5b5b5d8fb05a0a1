import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { displayName, escapeText, safeJson } from "../../src/cli/escape.js";

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/** The inverse of escapeText, to show that two different names never print the same. */
function readBack(text: string): string {
  return text.replace(/\\(\\|n|r|t|e|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, e: string) =>
    e === "\\"
      ? "\\"
      : e === "n"
        ? "\n"
        : e === "r"
          ? "\r"
          : e === "t"
            ? "\t"
            : e === "e"
              ? "\x1b"
              : String.fromCharCode(Number.parseInt(e.slice(1), 16)),
  );
}

describe("terminal-safe text", () => {
  const cases: Array<[string, string]> = [
    ["plain.eml", "plain.eml"],
    ["a\x1b[2Jb", "a\\e[2Jb"],
    ["line\r\nforged", "line\\r\\nforged"],
    ["rtl\u202egpj.exe", "rtl\\u202egpj.exe"],
    ["c1\u0085\u009b", "c1\\x85\\x9b"],
    ["back\\slash", "back\\\\slash"],
    ["ünïcödé 😀", "ünïcödé 😀"],
  ];
  for (const [input, shown] of cases) it(JSON.stringify(input), () => expect(escapeText(input)).toBe(shown));

  it("any text: nothing unsafe is left, and it reads back (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const e = escapeText(s);
        expect(e).not.toMatch(UNSAFE);
        expect(readBack(e)).toBe(s);
      }),
    );
  });
  it("JSON: nothing unsafe on the line, the same value parsed back (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: "binary" }), (v, s) => {
        const line = safeJson({ v, s });
        expect(line).not.toMatch(UNSAFE);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify({ v, s })));
      }),
    );
  });
  it("file names that are not UTF-8 show their bytes", () => {
    expect(displayName(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x1b, 0x5c]))).toBe("caf\\xe9\\x1b\\x5c");
    expect(displayName(Buffer.from("café"))).toBe("café");
  });
});
