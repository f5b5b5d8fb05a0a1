import fc from "fast-check";
import { gzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { parseAggregateReport } from "../../src/report/parse.js";
import { fixture } from "../helpers/keys.js";

const good = fixture("reports/google-style.xml").toString("utf8");
const withBody = (body: string) => good.replace("<feedback>", `<feedback>${body}`);

// Made once: 101 MiB of zeros, gzipped to ~100 KB (just over the default 100 MiB cap).
let bomb: Uint8Array | undefined;
const gzipBomb = () => (bomb ??= gzipSync(new Uint8Array(101 * 1024 * 1024), { level: 1 }));

const cases: Array<{ name: string; input: () => Uint8Array | string; code: string; limits?: { maxXmlBytes: number } }> = [
  {
    name: "a DTD is refused",
    input: () => good.replace("<feedback>", "<!DOCTYPE feedback [<!ELEMENT feedback ANY>]>\n<feedback>"),
    code: "dtd",
  },
  {
    name: "billion laughs is refused before any expansion",
    input: () =>
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ""};`.repeat(10)}">`).join("")}]><feedback>&lol9;</feedback>`,
    code: "dtd",
  },
  {
    name: "an external entity (XXE) is refused",
    input: () => '<!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>',
    code: "dtd",
  },
  { name: "a reference to an undeclared entity is refused", input: () => withBody("<x>&undeclared;</x>"), code: "entity" },
  {
    name: "deep nesting is bounded",
    input: () => `<feedback>${"<a>".repeat(100_000)}${"</a>".repeat(100_000)}</feedback>`,
    code: "nesting",
  },
  {
    name: "a tag with a huge attribute count is refused",
    input: () => `<feedback ${Array.from({ length: 100_000 }, (_, i) => `a${i}="1"`).join(" ")}></feedback>`,
    code: "malformed-xml",
  },
  {
    name: "a gzip bomb is refused at the expanded-size cap",
    input: gzipBomb,
    code: "decompression-bomb",
  },
  {
    name: "a zip bomb is refused at the expanded-size cap (the stored sizes are not trusted)",
    input: () => zipSync({ "r.xml": new Uint8Array(20 * 1024 * 1024) }, { level: 1 }),
    code: "decompression-bomb",
    limits: { maxXmlBytes: 5 * 1024 * 1024 },
  },
  {
    name: "compressed input over the input cap is refused unread",
    input: () => new Uint8Array(21 * 1024 * 1024).fill(0x3c),
    code: "too-large",
  },
  { name: "a truncated gzip stream", input: () => gzipSync(new TextEncoder().encode(good)).subarray(0, 100), code: "malformed-archive" },
  { name: "a zip without an XML entry", input: () => zipSync({ "readme.txt": new TextEncoder().encode("hi") }), code: "malformed-archive" },
  {
    name: "a zip with too many entries",
    input: () => zipSync(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}.txt`, new Uint8Array(1)]))),
    code: "malformed-archive",
  },
  { name: "XML that is not well-formed", input: () => "<feedback><report_metadata></feedback>", code: "malformed-xml" },
  { name: "XML of another kind", input: () => "<html><body>hi</body></html>", code: "schema" },
  { name: "a report with a missing required element", input: () => good.replace(/<org_name>.*<\/org_name>/, ""), code: "schema" },
  { name: "a count that is not a number", input: () => good.replace("<count>12</count>", "<count>lots</count>"), code: "schema" },
  { name: "an email without a report", input: () => "From: a@example.com\r\nSubject: hi\r\n\r\nnothing here\r\n", code: "no-report" },
  {
    name: "malformed MIME nesting too deep",
    input: () =>
      `From: a@example.com\r\nMIME-Version: 1.0\r\n${Array.from({ length: 60 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join("")}`,
    code: "malformed-mime",
  },
  {
    name: "an email whose attachment is a bomb",
    input: () => {
      const b64 = Buffer.from(gzipBomb()).toString("base64");
      return `From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`;
    },
    code: "decompression-bomb",
  },
];

describe("hostile report input is refused with a typed error, never a throw", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r = await parseAggregateReport(c.input(), c.limits);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(c.code);
    });
  }

  it("limits can be tightened", async () => {
    const r = await parseAggregateReport(good, { maxRecords: 1 });
    expect(r).toMatchObject({ ok: false, error: { code: "too-many-records" } });
    expect(await parseAggregateReport(good, { maxXmlBytes: 100 })).toMatchObject({ ok: false, error: { code: "too-large" } });
  });

  it("unknown limits are refused (a programming error)", async () => {
    await expect(parseAggregateReport(good, { maxBytes: 1 } as never)).rejects.toThrow(/unknown limit maxBytes/);
  });

  it("property: arbitrary bytes, and mutations of a good report, never throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const r = await parseAggregateReport(bytes);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(good.length), fc.nat(good.length), fc.string({ maxLength: 20 }), async (a, b, insert) => {
        const text = good.slice(0, Math.min(a, b)) + insert + good.slice(Math.max(a, b));
        const r = await parseAggregateReport(text);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });

  it("ampersands without semicolons scan in linear time (a long run finishes)", async () => {
    const r = await parseAggregateReport(withBody(`<x>${"&".repeat(2_000_000)}</x>`));
    expect(r).toMatchObject({ ok: false, error: { code: "entity" } });
  });
});
