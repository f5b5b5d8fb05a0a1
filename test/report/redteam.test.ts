// The red team's findings against issues 17 and 18 (DMARC and TLS reporting), one block a class.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDmarcRecord } from "../../src/dmarc/record.js";
import { verifyReportDestination } from "../../src/dmarc/report.js";
import { parseStsPolicy } from "../../src/mtasts/policy.js";
import { parseStsRecord } from "../../src/mtasts/record.js";
import { parseFailureReport } from "../../src/report/arf.js";
import { AggregateCollector } from "../../src/report/collect.js";
import { reportEmail } from "../../src/report/email.js";
import { FailureReporter, failureReportEmail, redactAddresses } from "../../src/report/failure.js";
import type { GeneratedReport } from "../../src/report/generate.js";
import { headerBytes, headerText } from "../../src/report/header-field.js";
import { summaryHtml } from "../../src/report/html.js";
import { mimeTooComplex } from "../../src/report/mime-guard.js";
import { parseAggregateReport, parseAggregateXml } from "../../src/report/parse.js";
import { AggregateReporter } from "../../src/report/reporter.js";
import { summarizeReports, summaryText } from "../../src/report/summary.js";
import { DEFAULT_XML_LIMITS, guardXml, type ScanMeter } from "../../src/report/xml-guard.js";
import { MemoryStateStore } from "../../src/store/memory.js";
import { parseTlsReport, parseTlsReportEmail } from "../../src/tlsrpt/parse.js";
import { parseTlsRptRecord } from "../../src/tlsrpt/record.js";
import { isRealDateTime } from "../../src/tlsrpt/report.js";
import { fixture } from "../helpers/keys.js";
import { authenticateTraffic, REPORTER, T0, TRAFFIC, worldResolver } from "../helpers/report-world.js";

const steps = (xml: string): number => {
  const meter: ScanMeter = { steps: 0 };
  guardXml(xml, DEFAULT_XML_LIMITS, meter);
  return meter.steps;
};

describe("the XML pre-scan is one linear pass (red team 1)", () => {
  // Before the fix each tag searched for "&" to the end of the text: steps grew as tags x length.
  const shapes: Array<[string, (n: number) => string]> = [
    ["empty elements, no &", (n) => `<feedback>${"<x/>".repeat(n)}</feedback>`],
    ["text segments, no &", (n) => `<feedback>${"<a>t</a>".repeat(n)}</feedback>`],
    ["one & at the very end", (n) => `<feedback>${"<x/>".repeat(n)}<a>&amp;</a></feedback>`],
    ["& in every text", (n) => `<feedback>${"<a>&amp;</a>".repeat(n)}</feedback>`],
    ["comments and CDATA", (n) => `<feedback>${"<!--c--><![CDATA[d]]><?p?>".repeat(n)}</feedback>`],
    ["attributes with quotes", (n) => `<feedback>${"<x a=\"&lt;>\" b='>'/>".repeat(n)}</feedback>`],
  ];
  for (const [name, make] of shapes) {
    it(`${name}: at most 3 steps a character at 1x and 16x`, () => {
      for (const n of [1000, 16000]) {
        const xml = make(n);
        const s = steps(xml);
        expect(s).toBeGreaterThan(0); // the meter is wired: every character is counted
        expect(s).toBeLessThanOrEqual(3 * xml.length);
      }
    });
  }

  it("any text: the step count is bounded by 3x its length (fast-check)", () => {
    const piece = fc.constantFrom("<x>", "</x>", "<y/>", "&amp;", "&", "t", "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", '"', "'", ">");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 400 }), (parts) => {
        const xml = parts.join("");
        expect(steps(xml)).toBeLessThanOrEqual(3 * xml.length + 3);
      }),
    );
  });

  it("the same verdicts as before on entities", () => {
    expect(guardXml("<a>&amp;&lt;&#65;&#x41;</a>", DEFAULT_XML_LIMITS)).toBeUndefined();
    expect(guardXml("<a>&foo;</a>", DEFAULT_XML_LIMITS)?.code).toBe("entity");
    expect(guardXml('<a b="&foo;"/>', DEFAULT_XML_LIMITS)?.code).toBe("entity");
    expect(guardXml("<a/><!-- &foo; --><b>&amp;</b>", DEFAULT_XML_LIMITS)).toBeUndefined();
    expect(guardXml("<a/><!-- x --><b>&bad;</b>", DEFAULT_XML_LIMITS)?.code).toBe("entity");
    expect(guardXml("<a>x</a>&bad;", DEFAULT_XML_LIMITS)?.code).toBe("entity");
  });

  it("the red team's 2 KB gzip of <x/> repeated is read (refused by the schema, not stuck)", async () => {
    const r = await parseAggregateReport(gzipSync(`<feedback>${"<x/>".repeat(1 << 19)}</feedback>`));
    expect(r.ok ? "ok" : r.error.code).toBe("schema");
  });
});

const PROTO_NAMES = ["__proto__", "constructor", "Constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];

describe("input names never meet Object.prototype (red team 2)", () => {
  const arf = (feedbackField: string, headerField: string) =>
    [
      "From: a@b.example",
      "To: c@d.example",
      "Subject: report",
      "MIME-Version: 1.0",
      'Content-Type: multipart/report; report-type=feedback-report; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "text",
      "--b",
      "Content-Type: message/feedback-report",
      "",
      "Feedback-Type: auth-failure",
      `${feedbackField}: one`,
      `${feedbackField}: two`,
      "",
      "--b",
      "Content-Type: text/rfc822-headers",
      "",
      `${headerField}: x`,
      "Subject: the original",
      "",
      "--b--",
      "",
    ].join("\r\n");

  for (const name of PROTO_NAMES) {
    it(`a field named ${name} is an ordinary field`, async () => {
      const r = await parseFailureReport(arf(name, name));
      if (!r.ok) throw new Error(r.error.message);
      expect(Object.hasOwn(r.report.fields, name.toLowerCase())).toBe(true);
      expect(r.report.fields[name.toLowerCase()]).toEqual(["one", "two"]);
      expect(r.report.original?.subject).toBe("the original");
    });
  }

  it("any field names parse without throwing (fast-check)", async () => {
    const name = fc.oneof(fc.constantFrom(...PROTO_NAMES), fc.stringMatching(/^[A-Za-z_-]{1,12}$/));
    await fc.assert(
      fc.asyncProperty(name, name, async (a, b) => {
        const r = await parseFailureReport(arf(a, b));
        expect(r.ok).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("record and policy extensions with prototype names are kept as data", () => {
    // Field names begin with a letter or digit in all three, so "__proto__" is refused there.
    const sts = parseStsRecord("v=STSv1; id=abc; constructor=y; toString=z");
    expect(sts.ok && [sts.record.extensions.constructor, sts.record.extensions.toString]).toEqual(["y", "z"]);
    const rpt = parseTlsRptRecord("v=TLSRPTv1; rua=mailto:a@b.example; constructor=x; valueOf=w");
    expect(rpt.ok && [rpt.record.extensions.constructor, rpt.record.extensions.valueOf]).toEqual(["x", "w"]);
    const policy = parseStsPolicy("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\nconstructor: x\nhasOwnProperty: v\n");
    expect(policy.ok && [policy.policy.extensions.constructor, policy.policy.extensions.hasOwnProperty]).toEqual(["x", "v"]);
  });
});

/** The top-level header of a message (bytes up to the first empty line): lower-case field names in order. */
function headerNames(raw: Uint8Array | string, start = 0): string[] {
  const text = typeof raw === "string" ? raw : Buffer.from(raw).toString("latin1");
  const end = text.indexOf("\r\n\r\n", start);
  const block = text.slice(start, end < 0 ? undefined : end);
  // Any lone CR or LF would be a line break to some reader: count those as breaks too.
  const names: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === "" || line[0] === " " || line[0] === "\t") continue;
    names.push(line.slice(0, line.indexOf(":")).toLowerCase());
  }
  return names;
}

const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "\u010d\u010aInjected: 1",
    "a\u030d\u030aBcc: x@evil.example",
    "x\r\nBcc: y",
    "\u2028X: 1",
    "\u0085Y: 2",
    "\u0000",
    "a\rb",
    "a\nb",
  ),
);

describe("header fields written into report emails are one field each (red team 3)", () => {
  it("headerText/headerBytes: no control byte once encoded", () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const bytes = Buffer.from(headerBytes(s), "latin1");
        for (const b of bytes) expect(b >= 0x20 && b !== 0x7f).toBe(true);
        expect(Buffer.from(headerText(s), "utf8").equals(bytes)).toBe(true);
      }),
    );
  });

  it("the red team's U+010D U+010A in DKIM d= and MAIL FROM: no injected field", async () => {
    const t = (await authenticateTraffic())[3]!;
    const text = failureText(t, {
      domain: "other.example\u010d\u010aBcc: victim@x.example",
      mailFrom: "a\u030d\u030aX-Evil: 1@other.example",
    });
    expect(headerNames(text)).toEqual(TOP);
    expect(feedbackNames(text)).not.toContain("bcc");
    expect(feedbackNames(text)).not.toContain("x-evil");
  });

  it("failure reports: any strings in any input field give exactly the expected fields (fast-check)", async () => {
    const t = (await authenticateTraffic())[3]!;
    const base = feedbackNames(failureText(t, {}));
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          domain: hostile,
          selector: hostile,
          mailFrom: hostile,
          ip: hostile,
          ua: hostile,
          receiver: hostile,
          to: hostile,
          ar: hostile,
          spf: hostile,
        }),
        async (v) => {
          // Non-empty and aligned, so the DKIM and SPF-DNS fields are written with the hostile text in them.
          const text = failureText(t, { ...v, domain: `${v.domain}.other.example`, spf: `a${v.spf}` });
          expect(headerNames(text)).toEqual(TOP);
          expect(feedbackNames(text)).toEqual(base);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("aggregate report emails: any strings give exactly the expected fields (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, hostile, hostile, hostile, async (org, email, receiver, domain, to) => {
        const report = {
          policyDomain: domain,
          metadata: { reportId: `${receiver}@x`, begin: 0, end: 86399, orgName: org, email },
          filename: `${receiver}!${domain}!0!86399.xml.gz`,
          gzip: new Uint8Array([1, 2, 3]),
          records: 1,
          messages: 1,
        } as unknown as GeneratedReport;
        const raw = await reportEmail(report, to, { orgName: org, email, receiver });
        expect(headerNames(raw)).toEqual(["from", "to", "subject", "date", "message-id", "mime-version", "content-type"]);
      }),
      { numRuns: 150 },
    );
  });
});

const TOP = ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"];

function feedbackNames(text: string): string[] {
  const at = text.indexOf("Content-Type: message/feedback-report\r\n");
  return headerNames(text, text.indexOf("\r\n\r\n", at) + 4);
}

type Traffic = Awaited<ReturnType<typeof authenticateTraffic>>[number];
function failureText(
  t: Traffic,
  v: Partial<Record<"domain" | "selector" | "mailFrom" | "ip" | "ua" | "receiver" | "to" | "ar" | "spf", string>>,
): string {
  const record = parseDmarcRecord("v=DMARC1; p=reject; ruf=mailto:r@other.example; fo=1:d:s");
  if (!record.ok) throw new Error(record.reason);
  const dkim = [{ ...(t.result.dkim[0] ?? {}), result: "fail", domain: v.domain ?? "other.example", selector: v.selector ?? "s1" }];
  const result = {
    ...t.result,
    dkim,
    spf: { result: "fail", domain: v.spf ?? "other.example" },
    headers: { ...t.result.headers, authenticationResults: v.ar ?? t.result.headers.authenticationResults },
    dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: record.record },
  } as unknown as Parameters<typeof failureReportEmail>[0]["result"];
  // The text is a binary string, sent as latin1 bytes (FailureReporter): read it back as those bytes.
  const text = failureReportEmail({
    message: fixture(TRAFFIC[3]!.file),
    envelope: { ...t.envelope, ip: v.ip ?? t.envelope.ip, mailFrom: v.mailFrom ?? "a@other.example" },
    result,
    type: "dmarc",
    to: v.to ?? "r@other.example",
    identity: { email: "r@receiver.example", receiver: v.receiver ?? "mx.receiver.example", userAgent: v.ua ?? "msgauth/1" },
    spfRecord: "v=spf1 -all",
    redaction: { localParts: false },
  });
  return Buffer.from(text, "latin1").toString("latin1");
}

describe("date ranges are checked where reports are read (red team 4)", () => {
  const xml = (begin: string, end: string) =>
    `<feedback><report_metadata><org_name>o</org_name><email>e@o.example</email><report_id>1</report_id><date_range><begin>${begin}</begin><end>${end}</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from></identifiers><auth_results></auth_results></record></feedback>`;
  const cases: Array<[string, string, string, string]> = [
    ["15 digits (schema-valid) is past year 9999", "999999999999999", "999999999999999", "date-range"],
    ["end past year 9999", "0", "253402300800", "date-range"],
    ["begin after end", "1700086400", "1700000000", "date-range"],
    ["the last second of 9999 is fine", "253402300799", "253402300799", "ok"],
    ["begin equal to end is fine", "1700000000", "1700000000", "ok"],
  ];
  for (const [name, begin, end, want] of cases) {
    it(name, () => {
      const r = parseAggregateXml(xml(begin, end));
      expect(r.ok ? "ok" : r.error.code).toBe(want);
    });
  }

  it("summaries take any numbers a report object holds without throwing", () => {
    const r = parseAggregateXml(xml("0", "86399"));
    if (!r.ok) throw new Error(r.error.message);
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constant(999999999999999)), fc.double(), (begin, end) => {
        const report = { ...r.report, metadata: { ...r.report.metadata, begin, end } };
        const s = summarizeReports([report]);
        expect(typeof summaryText(s)).toBe("string");
        expect(typeof summaryHtml(s)).toBe("string");
      }),
    );
  });
});

describe("MIME emails are bounded before postal-mime (red team 5)", () => {
  const head = (type: string) =>
    `From: a@b.example\r\nTo: c@d.example\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: ${type}; boundary="b"\r\n\r\n`;
  const empties = (n: number) => "--b\r\n\r\n".repeat(n);
  const parsers: Array<[string, (raw: string) => Promise<{ ok: boolean; error?: { code: string } }>]> = [
    ["aggregate", (raw) => parseAggregateReport(raw)],
    ["failure (ARF)", (raw) => parseFailureReport(raw)],
    ["TLS-RPT", (raw) => parseTlsReportEmail(raw, { resolver: false })],
  ];
  for (const [name, parse] of parsers) {
    it(`${name}: an email of 1001 empty parts is refused (mime-limits), 1000 reach the MIME parser`, async () => {
      const over = await parse(`${head("multipart/mixed")}${empties(1001)}--b--\r\n`);
      expect(over.ok ? "ok" : over.error?.code).toBe("mime-limits");
      const at = await parse(`${head("multipart/mixed")}${empties(999)}--b--\r\n`);
      expect(at.ok ? "ok" : at.error?.code).not.toBe("mime-limits");
    });
  }

  it("the scan counts boundary-like lines only, in one pass", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(mimeTooComplex(enc("--a\n".repeat(3)), 2)).toMatch(/more than 2/);
    expect(mimeTooComplex(enc("-- \n--\n--\t\nx--a\n".repeat(100)), 2)).toBeUndefined(); // signatures, mid-line dashes
    expect(mimeTooComplex(enc("--a\r\n--b"), 2)).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), fc.nat(5), (s, max) => {
        const bytes = enc(s);
        const lines = s.split("\n").filter((l) => /^--[^ \t\r\n]/.test(l)).length;
        expect(mimeTooComplex(bytes, max) !== undefined).toBe(lines > max);
      }),
    );
  });
});

describe("malformed destinations and impossible dates are results (red team 8)", () => {
  it("verifyReportDestination with a broken %-escape returns unauthorized, not a URIError", async () => {
    const nx = async () => ({ kind: "nxdomain" as const });
    const resolver = { txt: nx, a: nx, aaaa: nx, mx: nx, ptr: nx } as unknown as Parameters<typeof verifyReportDestination>[2]["resolver"];
    for (const uri of ["mailto:a%E0%A4%A@evil.example", "mailto:%", "mailto:a%ZZ@x.example", "mailto:%C0%80@x.example"]) {
      const r = await verifyReportDestination("example.com", uri, { resolver });
      expect(r.result).toBe("unauthorized");
    }
  });

  const cases: Array<[string, boolean]> = [
    ["2026-13-45T99:99:99Z", false],
    ["2026-02-29T00:00:00Z", false],
    ["2024-02-29T00:00:00Z", true],
    ["2026-04-31T00:00:00Z", false],
    ["2026-01-01T24:00:00Z", false],
    ["2026-01-01T00:00:00+24:00", false],
    ["2026-01-01T00:00:00+05:60", false],
    ["2016-12-31T23:59:60Z", true], // RFC 3339 5.7: a leap second
    ["2026-12-31T23:59:59.999+14:00", true],
    ["2026-00-10T00:00:00Z", false],
  ];
  for (const [dt, ok] of cases) {
    it(`TLS-RPT date-time ${dt} is ${ok ? "accepted" : "refused"}`, () => {
      expect(isRealDateTime(dt)).toBe(ok);
      const r = parseTlsReport(JSON.stringify(tlsJson(dt, "2030-01-01T00:00:00Z")));
      expect(r.ok ? "ok" : r.error.code).toBe(ok ? "ok" : "invalid-report");
    });
  }

  it("a TLS-RPT date range that ends before it begins is refused", () => {
    const r = parseTlsReport(JSON.stringify(tlsJson("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")));
    expect(r.ok ? "ok" : r.error.code).toBe("invalid-report");
  });

  it("isRealDateTime agrees with the calendar on any date (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, mo, d) => {
        const p = (n: number, w = 2) => String(n).padStart(w, "0");
        const dt = `${p(y, 4)}-${p(mo)}-${p(d)}T00:00:00Z`;
        const date = new Date(0);
        date.setUTCFullYear(y, mo - 1, d);
        const real = mo >= 1 && mo <= 12 && d >= 1 && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
        expect(isRealDateTime(dt)).toBe(real);
      }),
    );
  });
});

function tlsJson(start: string, end: string) {
  return {
    "organization-name": "o",
    "date-range": { "start-datetime": start, "end-datetime": end },
    "contact-info": "tls@o.example",
    "report-id": "r1",
    policies: [
      {
        policy: { "policy-type": "no-policy-found", "policy-domain": "example.com" },
        summary: { "total-successful-session-count": 1, "total-failure-session-count": 0 },
      },
    ],
  };
}

describe("TLS-RPT takeReports refuses a day that is not in the calendar", () => {
  it("2026-02-30 is an ArgumentError (Date.parse would read it as March 2)", async () => {
    const { TlsRptRecorder } = await import("../../src/tlsrpt/recorder.js");
    const { MemoryStateStore } = await import("../../src/store/memory.js");
    const rec = new TlsRptRecorder({ store: new MemoryStateStore(), now: () => Date.UTC(2027, 0, 1) });
    const meta = { organizationName: "o", contactInfo: "tls@o.example" };
    await expect(rec.takeReports("2026-02-30", meta)).rejects.toThrow(/YYYY-MM-DD/);
    await expect(rec.takeReports("2026-02-28", meta)).resolves.toEqual([]);
  });
});

// ---- red team 6 and 7: amplification, bounded destination checks, per-period isolation ----

const LATER = T0 + 2 * 86_400_000;

async function trafficWith(recordText: string) {
  const record = parseDmarcRecord(recordText);
  if (!record.ok) throw new Error(record.reason);
  return (await authenticateTraffic()).map((t, i) => ({
    message: fixture(TRAFFIC[i]!.file),
    envelope: t.envelope,
    result: {
      ...t.result,
      dmarc: { ...t.result.dmarc!, policyDomain: "other.example", fromDomain: "other.example", record: record.record },
    },
  }));
}

/** A resolver that answers like the world, but whose _report._dmarc lookups never answer; counts them in flight. */
function hangingReportLookups() {
  const world = worldResolver();
  const stats = { inFlight: 0, maxInFlight: 0, started: 0 };
  const resolver = {
    a: world.a.bind(world),
    aaaa: world.aaaa.bind(world),
    mx: world.mx.bind(world),
    ptr: world.ptr.bind(world),
    txt: (name: string, o?: { signal?: AbortSignal }) => {
      if (!name.includes("._report._dmarc.")) return world.txt(name);
      stats.started++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      return new Promise<never>((_, reject) => {
        const done = () => {
          stats.inFlight--;
          reject(new Error("aborted"));
        };
        if (o?.signal?.aborted) done();
        else o?.signal?.addEventListener("abort", done, { once: true });
      });
    },
  };
  return { resolver: resolver as unknown as ReturnType<typeof worldResolver>, stats };
}

describe("failure reports: bounded amplification (red team 6)", () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `mailto:r${i}@other.example`).join(",");

  it("ruf= with 500 addresses: only the first 2 get reports; the rest are skipped, listed once", async () => {
    const sent: string[] = [];
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m.to),
      resolver: worldResolver(),
      now: () => T0,
    });
    const traffic = await trafficWith(`v=DMARC1; p=reject; fo=1; ruf=${many(500)}`);
    const out = await reporter.report(traffic[3]!.message, traffic[3]!.envelope, traffic[3]!.result);
    expect(sent).toEqual(["r0@other.example", "r1@other.example"]);
    expect(out.deliveries.filter((d) => d.result === "skipped" && /only the first 2/.test(d.reason ?? ""))).toHaveLength(498);
  });

  it("per reported domain and overall hourly limits hold whatever the destinations", async () => {
    const sent: string[] = [];
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m.to),
      resolver: worldResolver(),
      now: () => T0,
      maxDestinations: 5,
      perDomainPerHour: 7,
    });
    const traffic = await trafficWith(`v=DMARC1; p=reject; fo=1; ruf=${many(5)}`);
    for (let i = 0; i < 10; i++) await reporter.report(traffic[3]!.message, traffic[3]!.envelope, traffic[3]!.result);
    expect(sent).toHaveLength(7);
    const all = new FailureReporter({
      identity: IDENTITY,
      transport: async (m) => void sent.push(m.to),
      resolver: worldResolver(),
      now: () => T0,
      perHour: 3,
    });
    sent.length = 0;
    for (let i = 0; i < 5; i++) await all.report(traffic[3]!.message, traffic[3]!.envelope, traffic[3]!.result);
    expect(sent).toHaveLength(3);
  });

  it("destination checks run side by side under one deadline", async () => {
    const { resolver, stats } = hangingReportLookups();
    const reporter = new FailureReporter({
      identity: IDENTITY,
      transport: async () => {},
      resolver,
      now: () => T0,
      maxDestinations: 4,
      checkTimeoutMs: 200,
    });
    const traffic = await trafficWith(
      `v=DMARC1; p=reject; fo=1; ruf=${Array.from({ length: 4 }, (_, i) => `mailto:r@dest${i}.example`).join(",")}`,
    );
    const out = await reporter.report(traffic[3]!.message, traffic[3]!.envelope, traffic[3]!.result);
    expect(stats.started).toBe(4);
    expect(stats.maxInFlight).toBe(4); // all four were asked before any answered
    expect(out.deliveries.map((d) => d.result)).toEqual(["failed", "failed", "failed", "failed"]);
  });
});

describe("aggregate reporter: bounded destinations and isolated periods (red teams 6, 7)", () => {
  async function collected(recordText: string, store = new MemoryStateStore()) {
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await trafficWith(recordText)) await c.collect(t.result, t.envelope);
    return store;
  }

  it("rua= destination checks run side by side under one deadline; only the first 5 are used", async () => {
    const { resolver, stats } = hangingReportLookups();
    const rua = Array.from({ length: 8 }, (_, i) => `mailto:agg@dest${i}.example`).join(",");
    const store = await collected(`v=DMARC1; p=reject; rua=${rua}`);
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver,
      now: () => LATER,
      checkTimeoutMs: 200,
      transport: async () => {},
    });
    const [out] = await reporter.run();
    expect(stats.started).toBe(5);
    expect(stats.maxInFlight).toBe(5);
    expect(out!.deliveries.filter((d) => d.result === "skipped" && /only the first 5/.test(d.reason ?? ""))).toHaveLength(3);
    expect(out!.state).toBe("retry");
  });

  it("a delivery that could outlast the lease is not started (retried later)", async () => {
    let clock = LATER;
    const sent: string[] = [];
    const store = await collected("v=DMARC1; p=reject; rua=mailto:a@other.example,mailto:b@other.example");
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => clock,
      leaseMs: 1000,
      transportTimeoutMs: 600,
      transport: async (m) => {
        sent.push(m.to);
        clock += 600;
      },
    });
    const [out] = await reporter.run();
    expect(sent).toEqual(["a@other.example"]);
    expect(out!.deliveries[1]).toMatchObject({ to: "b@other.example", result: "failed" });
    expect(out!.deliveries[1]!.reason).toMatch(/lease/);
  });

  it("one period that throws does not end the run: counted, the others are handled", async () => {
    const store = new MemoryStateStore();
    await collected("v=DMARC1; p=reject; rua=mailto:a@other.example", store);
    // A second period (a day later) for the same domain.
    const c2 = new AggregateCollector({ store, now: () => T0 + 86_400_000 });
    for (const t of await trafficWith("v=DMARC1; p=reject; rua=mailto:a@other.example")) await c2.collect(t.result, t.envelope);
    const reporter = new AggregateReporter({
      store,
      identity: REPORTER,
      resolver: worldResolver(),
      now: () => LATER + 86_400_000,
      transport: async () => {},
      maxAttempts: 2,
      // The first period's signing blows up (a programming error inside #send); the second is fine.
      dkim: { domain: "receiver.example", selector: "s", privateKey: "not a key" },
    });
    const first = await reporter.run();
    expect(first).toHaveLength(2);
    expect(first.map((o) => o.state)).toEqual(["retry", "retry"]);
    expect(first.every((o) => o.policyDomain === "other.example" && o.error)).toBe(true);
    const second = await reporter.run();
    expect(second.map((o) => o.state)).toEqual(["dropped", "dropped"]); // tries counted: out of attempts
  });

  it("a resolver without the five lookups is refused when the reporter is made", () => {
    const txtOnly = { txt: async () => ({ kind: "nxdomain" as const }) } as unknown as ReturnType<typeof worldResolver>;
    expect(
      () => new AggregateReporter({ store: new MemoryStateStore(), identity: REPORTER, resolver: txtOnly, transport: async () => {} }),
    ).toThrow(/txt, a, aaaa, mx and ptr/);
    expect(() => new FailureReporter({ identity: IDENTITY, resolver: txtOnly, transport: async () => {} })).toThrow(
      /txt, a, aaaa, mx and ptr/,
    );
    expect(
      () =>
        new AggregateReporter({
          store: new MemoryStateStore(),
          identity: REPORTER,
          resolver: worldResolver(),
          transport: async () => {},
          leaseMs: 1000,
        }),
    ).toThrow(/leaseMs/);
  });
});

const IDENTITY = { email: "dmarc-noreply@receiver.example", receiver: "mx.receiver.example" };

describe("failure report redaction is linear (audit of red team 1's class)", () => {
  // The model: the regex it replaced, fine on small inputs, quadratic on long runs without "@".
  const ADDRESS = /([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)@([A-Za-z0-9.-]+)/g;
  const model = (s: string) =>
    s.replace(ADDRESS, (_, l: string, d: string) => `redacted-${createHash("sha256").update(l).digest("hex").slice(0, 12)}@${d}`);

  it("agrees with the regex on any short text (fast-check)", () => {
    const piece = fc.constantFrom("a", "@", ".", " ", "b", "-", "<", ">", "x@y", "\r\n", "é");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const s = parts.join("");
        expect(redactAddresses(s)).toBe(model(s));
      }),
      { numRuns: 2000 },
    );
  });

  it("a 1 MiB header line of local-part characters without an @ is read once (the regex took minutes)", () => {
    const s = `X-A: ${"a".repeat(1 << 20)}`;
    expect(redactAddresses(s)).toBe(s);
    expect(redactAddresses(`${s}@example.com`)).toMatch(/^X-A: redacted-[0-9a-f]{12}@example\.com$/);
  });
});

describe("the schema is read from the root's start tag, found by the scan", () => {
  const doc = (before: string, ns: string) =>
    `${before}<feedback${ns}><report_metadata><org_name>o</org_name><email>e@o.example</email><report_id>1</report_id><date_range><begin>0</begin><end>1</end></date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published></feedback>`;
  const NS = ' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"';
  it("namespace on the root: rfc9990; a namespace in a comment before it does not count", () => {
    const a = parseAggregateXml(doc("", NS));
    const b = parseAggregateXml(doc(`<!-- <feedback${NS}> -->`, ""));
    expect([a.ok && a.report.schema, b.ok && b.report.schema]).toEqual(["rfc9990", "rfc7489"]);
  });
  it("a comment of 100,000 '<feedback' without '>' (a regex search for the root rescanned it) is read", () => {
    const r = parseAggregateXml(doc(`<!--${"<feedback".repeat(100_000)}-->`, NS));
    expect(r.ok && r.report.schema).toBe("rfc9990");
  });
});

describe("TLS-RPT report emails: one field each whatever the input (red team 3)", () => {
  it("any report ID, from and to: a typed refusal or exactly the expected fields (fast-check)", async () => {
    const { buildTlsReportEmail } = await import("../../src/tlsrpt/submit.js");
    const { SAMPLE } = await import("../tlsrpt/sample.js");
    const { ED_PEM } = await import("../helpers/keys.js");
    const { OptionsError } = await import("../../src/errors.js");
    const expected = [
      "dkim-signature",
      "from",
      "to",
      "date",
      "subject",
      "message-id",
      "tls-report-domain",
      "tls-report-submitter",
      "mime-version",
      "content-type",
    ];
    const local = fc.oneof(fc.constant("tlsrpt"), hostile);
    await fc.assert(
      fc.asyncProperty(hostile, local, local, async (reportId, fromLocal, toLocal) => {
        let raw: Buffer;
        try {
          raw = await buildTlsReportEmail({
            report: { ...SAMPLE, reportId },
            policyDomain: "example.net",
            from: `${fromLocal}@example.com`,
            to: `${toLocal}@example.net`,
            dkim: { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
            now: () => Date.UTC(2026, 11, 1, 6),
          });
        } catch (err) {
          expect(err).toBeInstanceOf(OptionsError);
          return;
        }
        expect(headerNames(raw)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe("the XML writer keeps a CR (found by the round-trip property)", () => {
  it("org_name '!\\r&' is written as &#13; and read back as CR, not LF (XML 1.0 2.11)", async () => {
    const { aggregateXml } = await import("../../src/report/generate.js");
    const xml = aggregateXml({
      schema: "rfc9990",
      metadata: { orgName: "!\r&", email: "0", reportId: "a", begin: 0, end: 0, errors: [] },
      policy: { domain: "0", p: "none" },
      records: [
        {
          sourceIp: "192.0.2.1",
          count: 1,
          disposition: "none",
          dkim: "pass",
          spf: "pass",
          reasons: [],
          headerFrom: "0",
          dkimResults: [],
          spfResults: [],
        },
      ],
    } as unknown as Parameters<typeof aggregateXml>[0]);
    const back = parseAggregateXml(xml);
    expect(back.ok && back.report.metadata.orgName).toBe("!\r&");
  });
});
