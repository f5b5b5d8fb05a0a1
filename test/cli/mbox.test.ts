import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type MboxItem, readMbox, splitMbox } from "../../src/cli/mbox.js";

/** A reference splitter: whole text, line by line, the RFC 4155 rules written plainly. */
function model(text: string): string[] {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith("From ")) {
      if (current) out.push(current.join(""));
      current = [];
    } else if (current) current.push(/^>+From /.test(line) ? line.slice(1) : line);
  }
  if (current) out.push(current.join(""));
  return out;
}

async function* chunked(data: Buffer, cuts: number[]) {
  let prev = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut > prev && cut < data.length) {
      yield data.subarray(prev, cut);
      prev = cut;
    }
  }
  yield data.subarray(prev);
}

async function collect(it: AsyncIterable<MboxItem>) {
  const out: MboxItem[] = [];
  for await (const m of it) out.push(m);
  return out;
}

const show = (items: MboxItem[]) => items.map((m) => (m.kind === "message" ? m.data.toString("latin1") : m.kind));

describe("mbox reading", () => {
  const cases: Array<[string, string, Array<string>]> = [
    [
      "two messages, >From unescaped",
      "From a@b Mon\nSubject: 1\n\n>From here\n\nFrom c@d Tue\nSubject: 2\n\nx\n",
      ["Subject: 1\n\nFrom here\n\n", "Subject: 2\n\nx\n"],
    ],
    ["mboxrd: >>From loses one >", "From a\nS: 1\n\n>>From x\n", ["S: 1\n\n>From x\n"]],
    ["From inside a line is not a boundary", "From a\nS: 1\n\nsee From here\n", ["S: 1\n\nsee From here\n"]],
    ["CRLF lines", "From a\r\nS: 1\r\n\r\nbody\r\n", ["S: 1\r\n\r\nbody\r\n"]],
    ["a From line and nothing else is an empty message", "From a@b Mon\n", ["empty"]],
    ["a From line with no newline", "From a@b Mon", ["empty"]],
    ["an empty message between two", "From a\nS: 1\n\nx\nFrom b\n\nFrom c\nS: 3\n\ny\n", ["S: 1\n\nx\n", "empty", "S: 3\n\ny\n"]],
    ["last line without newline", "From a\nS: 1\n\nend", ["S: 1\n\nend"]],
  ];
  for (const [name, input, expected] of cases) {
    it(name, async () => {
      expect(show(await collect(readMbox(chunked(Buffer.from(input, "latin1"), []), 1e6)))).toEqual(expected);
    });
  }

  it("a message over the cap is reported, dropped as it comes, and the next one is read", async () => {
    const big = `From a\nS: 1\n\n${"x".repeat(5000)}\n`;
    const items = await collect(readMbox(chunked(Buffer.from(`${big}From b\nS: 2\n\ny\n`), [100, 2000, 4000]), 1000));
    expect(items[0]).toMatchObject({ kind: "too-large" });
    expect(show(items.slice(1))).toEqual(["S: 2\n\ny\n"]);
  });

  it("any chunking gives the model's messages (property)", async () => {
    const line = fc.oneof(
      fc.constantFrom("From x@y Mon\n", ">From z\n", ">>From z\n", "From \n", "\n", "\r\n", "From", ">", "Fro"),
      fc.string({ maxLength: 12 }).map((s) => `${s}\n`),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 30 }), fc.array(fc.nat(400), { maxLength: 20 }), async (lines, cuts) => {
        const text = `From start\n${lines.join("")}`;
        const data = Buffer.from(text, "latin1");
        const items = await collect(readMbox(chunked(data, cuts), 1e6));
        const expected = model(text).map((m) => (/^[\r\n]*$/.test(m) ? "empty" : m));
        expect(show(items)).toEqual(expected);
        expect(splitMbox(data).map((b) => b.toString("latin1"))).toEqual(model(text).map((m) => (/^[\r\n]*$/.test(m) ? "" : m)));
      }),
      { numRuns: 300 },
    );
  });

  it("yields each message before pulling the chunk after it (no read-ahead)", async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 1; i <= 1000; i++) {
        pulled++;
        yield Buffer.from(`From sender Mon\nSubject: ${i}\n\nbody ${i}\n`);
      }
    }
    let seen = 0;
    for await (const item of readMbox(source(), 1e6)) {
      seen++;
      expect(item.kind).toBe("message");
      // Message k is complete only when the From line of k+1 is seen: at most one chunk ahead.
      expect(pulled).toBeLessThanOrEqual(seen + 1);
    }
    expect(seen).toBe(1000);
  });

  it("is linear: a megabyte of From lines and of one long line", () => {
    expect(splitMbox(Buffer.from("From x\n".repeat(150_000))).length).toBe(150_000);
    expect(splitMbox(Buffer.from(`From x\n${">".repeat(1 << 20)}From`))[0]!.length).toBe((1 << 20) + 4);
  });
});
