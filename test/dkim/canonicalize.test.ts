import { describe, expect, it } from "vitest";
import { BodyCanonicalizer, type Canonicalization, canonicalizeHeader } from "../../src/dkim/index.js";
import { splitMessage } from "../../src/message/index.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function body(mode: Canonicalization, input: string, chunk = 0): string {
  const parts: number[] = [];
  const c = new BodyCanonicalizer(mode, (b) => {
    parts.push(...b);
  });
  const bytes = enc(input);
  if (chunk === 0) c.update(bytes);
  else for (let i = 0; i < bytes.length; i += chunk) c.update(bytes.subarray(i, i + chunk));
  c.end();
  return dec(Uint8Array.from(parts));
}

describe("body canonicalization (RFC 6376 3.4.3, 3.4.4, 3.4.5 examples)", () => {
  const cases: Array<[string, string, string, string]> = [
    // name, input, simple, relaxed
    ["RFC 6376 3.4.5 example", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"],
    ["an empty body", "", "\r\n", ""],
    ["a body of empty lines", "\r\n\r\n\r\n", "\r\n", ""],
    ["a body of white-space lines", "  \r\n\t\r\n", "  \r\n\t\r\n", ""],
    ["no final line end", "abc", "abc\r\n", "abc\r\n"],
    ["bare LF line ends become CRLF", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"],
    ["a bare CR inside a line is content", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"],
    ["a bare CR at the very end is content", "a\r", "a\r\r\n", "a\r\r\n"],
    ["trailing white space before CRLF", "a  \r\n b\r\n", "a  \r\n b\r\n", "a\r\n b\r\n"],
    ["empty lines inside the body stay", "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n"],
    ["8-bit bytes pass through", "caf\u00e9 \u00e9\r\n", "caf\u00e9 \u00e9\r\n", "caf\u00e9 \u00e9\r\n"],
  ];
  for (const [name, input, simple, relaxed] of cases) {
    it(name, () => {
      expect(body("simple", input)).toBe(simple);
      expect(body("relaxed", input)).toBe(relaxed);
      for (const size of [1, 2, 3]) {
        expect(body("simple", input, size)).toBe(simple);
        expect(body("relaxed", input, size)).toBe(relaxed);
      }
    });
  }
});

describe("header canonicalization", () => {
  const field = (text: string) => splitMessage(enc(`${text}\r\n\r\n`)).headers[0]!;
  const cases: Array<[string, string, string, string]> = [
    ["RFC 6376 3.4.5: A: X", "A: X", "A: X\r\n", "a:X\r\n"],
    ["RFC 6376 3.4.5: B : Y folded", "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"],
    ["upper case name", "SubJect:  A \r\n\t B  ", "SubJect:  A \r\n\t B  \r\n", "subject:A B\r\n"],
    ["empty value", "X-Empty:", "X-Empty:\r\n", "x-empty:\r\n"],
    ["white-space-only value", "X-Empty:   \t", "X-Empty:   \t\r\n", "x-empty:\r\n"],
  ];
  for (const [name, input, simple, relaxed] of cases) {
    it(name, () => {
      expect(dec(canonicalizeHeader(field(input), "simple"))).toBe(simple);
      expect(dec(canonicalizeHeader(field(input), "relaxed"))).toBe(relaxed);
    });
  }
});
