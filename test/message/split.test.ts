import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { fieldText, fieldValue, getFields, openMessage, splitMessage, unfold } from "../../src/message/index.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("splitting a message into fields and body", () => {
  const cases: Array<{ name: string; input: string; names: string[]; raws?: string[]; body: string; hasBody?: boolean; defects?: number }> =
    [
      { name: "CRLF message", input: "A: 1\r\nB: 2\r\n\r\nbody\r\n", names: ["A", "B"], body: "body\r\n" },
      {
        name: "LF-only message: line ends become CRLF in raw, body untouched",
        input: "A: 1\n folded\nB: 2\n\nbody\n",
        names: ["A", "B"],
        raws: ["A: 1\r\n folded", "B: 2"],
        body: "body\n",
      },
      { name: "no blank line: all header, no body", input: "A: 1\r\nB: 2\r\n", names: ["A", "B"], body: "", hasBody: false },
      { name: "no final line end", input: "A: 1", names: ["A"], body: "", hasBody: false },
      { name: "blank line first: no header, all body", input: "\r\nA: 1\r\n", names: [], body: "A: 1\r\n" },
      { name: "empty message", input: "", names: [], body: "", hasBody: false },
      { name: "empty body after blank line", input: "A: 1\r\n\r\n", names: ["A"], body: "" },
      {
        name: "obs-fold keeps the continuation in the field",
        input: "Subject: a\r\n\tb\r\n  c\r\n\r\n",
        names: ["Subject"],
        raws: ["Subject: a\r\n\tb\r\n  c"],
        body: "",
      },
      {
        name: "white space before the colon (obs-optional) is not part of the name",
        input: "Subject \t: x\r\n\r\n",
        names: ["Subject"],
        body: "",
      },
      {
        name: "a line with no colon is kept as a malformed field",
        input: "A: 1\r\nnot a header\r\nB: 2\r\n\r\n",
        names: ["A", "", "B"],
        body: "",
        defects: 1,
      },
      { name: "a continuation with nothing above is malformed", input: " lead: x\r\nA: 1\r\n\r\n", names: ["", "A"], body: "", defects: 1 },
      {
        name: "an mbox From_ line is not a field",
        input: "From alice@example.com Mon Jan  1 00:00:00 2024\r\nA: 1\r\n\r\n",
        names: ["", "A"],
        body: "",
        defects: 1,
      },
      { name: "bare CR inside a value stays", input: "A: x\ry\r\n\r\n", names: ["A"], raws: ["A: x\ry"], body: "" },
    ];
  for (const c of cases) {
    it(c.name, () => {
      const m = splitMessage(enc(c.input));
      expect(m.headers.map((h) => h.name)).toEqual(c.names);
      if (c.raws) expect(m.headers.map((h) => dec(h.raw))).toEqual(c.raws);
      expect(dec(m.body)).toBe(c.body);
      expect(m.hasBody).toBe(c.hasBody ?? true);
      expect(m.defects).toBe(c.defects ?? 0);
    });
  }

  it("keeps 8-bit bytes exactly in raw and decodes values as UTF-8", () => {
    const bytes = Uint8Array.from([...enc("Subject: caf"), 0xc3, 0xa9, 0xff, ...enc("\r\n\r\n")]);
    const [h] = splitMessage(bytes).headers;
    expect([...h!.raw.subarray(-3)]).toEqual([0xc3, 0xa9, 0xff]);
    expect(fieldValue(h!)).toBe(" café\ufffd");
  });

  it("finds fields case-insensitively, in order", () => {
    const m = splitMessage(enc("Received: 1\r\nFROM: a\r\nreceived: 2\r\n\r\n"));
    expect(getFields(m.headers, "RECEIVED").map(fieldText)).toEqual(["1", "2"]);
  });

  it("unfold removes only CRLF before white space", () => {
    expect(unfold("a\r\n b\r\n\tc")).toBe("a b\tc");
  });

  it("never modifies the caller's buffer, and body is a view of it", () => {
    const input = enc("A: 1\n\nbody");
    const copy = input.slice();
    const m = splitMessage(input);
    expect(input).toEqual(copy);
    expect(m.body.buffer).toBe(input.buffer);
  });
});

describe("hostile header blocks", () => {
  it("a 1 MB single header line parses as one field", () => {
    const m = splitMessage(enc(`X-Big: ${"a".repeat(1024 * 1024)}\r\n\r\nb`));
    expect(m.headers).toHaveLength(1);
    expect(m.headers[0]!.raw.length).toBe(7 + 1024 * 1024);
  });

  it("10,000 header fields parse", () => {
    const m = splitMessage(enc(`${"X: y\r\n".repeat(10_000)}\r\n`));
    expect(m.headers).toHaveLength(10_000);
    expect(m.error).toBeUndefined();
  });

  it("a field-count limit stops with an error, keeping what was read", () => {
    const m = splitMessage(enc(`${"X: y\r\n".repeat(50)}\r\n`), { maxHeaderFields: 10 });
    expect(m.error).toBe("too-many-fields");
    expect(m.headers).toHaveLength(10);
  });

  it("a header-size limit stops with an error", () => {
    const m = splitMessage(enc(`X: ${"y".repeat(5000)}\r\n\r\n`), { maxHeaderBytes: 1000 });
    expect(m.error).toBe("header-too-large");
  });

  it("NUL bytes make a name malformed but never break the split", () => {
    const m = splitMessage(enc("A\0B: 1\r\nC: \0\r\n\r\nbody"));
    expect(m.headers.map((h) => h.name)).toEqual(["", "C"]);
    expect(dec(m.body)).toBe("body");
  });

  it("a million continuation lines form one field", () => {
    const m = splitMessage(enc(`A: x${"\n y".repeat(1_000_000)}\n\n`));
    expect(m.headers).toHaveLength(1);
  });
});

describe("openMessage reads streams without holding the body", () => {
  const text = "From: a@example.com\r\nSubject: streaming\r\n\r\nline 1\r\nline 2\r\n";

  async function collect(body: AsyncIterable<Uint8Array>): Promise<string> {
    let s = "";
    for await (const c of body) s += dec(c);
    return s;
  }

  for (const size of [1, 2, 3, 7, 64]) {
    it(`gives the same fields and body for ${size}-byte chunks`, async () => {
      const bytes = enc(text);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const m = await openMessage(Readable.from(chunks));
      expect(m.headers.map((h) => dec(h.raw))).toEqual(["From: a@example.com", "Subject: streaming"]);
      expect(await collect(m.body)).toBe("line 1\r\nline 2\r\n");
    });
  }

  it("accepts strings and async iterables of strings", async () => {
    async function* gen() {
      yield "A: 1\n";
      yield "\nbo";
      yield "dy";
    }
    const m = await openMessage(gen());
    expect(m.headers).toHaveLength(1);
    expect(await collect(m.body)).toBe("body");
    expect(await collect((await openMessage(text)).body)).toBe("line 1\r\nline 2\r\n");
  });

  it("stops reading a stream whose header block passes the limit", async () => {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield enc("X: yyyyyyyyyyyyyyyyyyyy\r\n");
      }
    }
    const m = await openMessage(endless(), { maxHeaderBytes: 10_000 });
    expect(m.error).toBe("header-too-large");
    expect(pulled).toBeLessThan(1000);
  });
});
