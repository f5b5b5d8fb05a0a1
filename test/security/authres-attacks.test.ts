// Issue 14, section 3: Authentication-Results under attack. Writing: nothing given to
// formatAuthResults can add a line; what code gives is checked against RFC 8601, what mail gives is
// escaped; the size is bounded. Reading at the border: removeAuthResults sees the whole header and
// removes exactly the A-R fields it should, keeping every other byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AuthResEntry,
  AuthResError,
  authenticate,
  formatAuthResults,
  MAX_AUTHRES_VALUE,
  parseAuthResults,
  parseHeaderBlock,
  removeAuthResults,
  signMessage,
} from "../../src/index.js";
import { exampleResolver, RSA_PEM } from "../helpers/keys.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const spf = (props: AuthResEntry["props"] = []): AuthResEntry => ({ method: "spf", result: "pass", props });

describe("formatAuthResults refuses what the RFC 8601 grammar does not allow (programming errors)", () => {
  const cases: Array<[string, () => string, string]> = [
    [
      "a CRLF in the method",
      () => formatAuthResults("mx.example.org", [{ ...spf(), method: "spf\r\nX-Injected: 1" }]),
      "entries[0].method",
    ],
    ["a space in the method", () => formatAuthResults("mx.example.org", [{ ...spf(), method: "spf pass" }]), "entries[0].method"],
    ["an empty method", () => formatAuthResults("mx.example.org", [{ ...spf(), method: "" }]), "entries[0].method"],
    ["a method ending in a hyphen", () => formatAuthResults("mx.example.org", [{ ...spf(), method: "dkim-" }]), "entries[0].method"],
    ["a '=' in the result", () => formatAuthResults("mx.example.org", [{ ...spf(), result: "pass=1" }]), "entries[0].result"],
    ["a LF in the result", () => formatAuthResults("mx.example.org", [{ ...spf(), result: "pass\nX: y" }]), "entries[0].result"],
    [
      "a CRLF in the ptype",
      () => formatAuthResults("mx.example.org", [spf([{ ptype: "smtp\r\nX-Injected", property: "mailfrom", value: "a@b.example" }])]),
      "entries[0].props[0].ptype",
    ],
    [
      "a dot in the property",
      () => formatAuthResults("mx.example.org", [spf([{ ptype: "smtp", property: "mail.from", value: "a@b.example" }])]),
      "entries[0].props[0].property",
    ],
    [
      "a ';' in the property",
      () => formatAuthResults("mx.example.org", [spf([{ ptype: "smtp", property: "x;dkim=pass", value: "a" }])]),
      "entries[0].props[0].property",
    ],
    ["a fractional version", () => formatAuthResults("mx.example.org", [{ ...spf(), version: 1.5 }]), "entries[0].version"],
    ["a CRLF in the authserv-id", () => formatAuthResults("mx.example.org\r\nX-Injected: 1", [spf()]), "authservId"],
    ["a NUL in the authserv-id", () => formatAuthResults("mx\u0000.example.org", [spf()]), "authservId"],
    ["an empty authserv-id", () => formatAuthResults("", [spf()]), "authservId"],
    ["a method that is not a string", () => formatAuthResults("mx.example.org", [{ ...spf(), method: 1 as never }]), "entries[0].method"],
    ["props that are not an array", () => formatAuthResults("mx.example.org", [{ ...spf(), props: "x" as never }]), "entries[0].props"],
    [
      "a value that is not a string",
      () => formatAuthResults("mx.example.org", [spf([{ ptype: "smtp", property: "mailfrom", value: 5 as never }])]),
      "entries[0].props[0].value",
    ],
  ];
  for (const [name, call, path] of cases) {
    it(`${name}: AuthResError naming ${path}`, () => {
      let error: unknown;
      try {
        call();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AuthResError);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: "ERR_MSGAUTH_AUTHRES_SYNTAX", path });
    });
  }

  it("registered words pass: methods with hyphens and versions, special SMTP verbs, header.oldest-pass", () => {
    const h = formatAuthResults("mx.example.org", [
      { method: "dkim-adsp", version: 1, result: "pass", props: [{ ptype: "smtp", property: "rcptto", value: "b@example.org" }] },
      { method: "arc", result: "pass", props: [{ ptype: "header", property: "oldest-pass", value: "0" }] },
    ]);
    expect(h).toBe(
      "Authentication-Results: mx.example.org; dkim-adsp/1=pass\r\n\tsmtp.rcptto=b@example.org; arc=pass header.oldest-pass=0",
    );
  });

  it("authenticate refuses an authserv-id with a line break before doing any work", async () => {
    let queries = 0;
    const r = exampleResolver();
    await expect(
      authenticate(
        "From: a@example.com\r\n\r\n",
        { ip: "192.0.2.1" },
        {
          authservId: "mx.example.org\r\nX-Injected: 1",
          resolver: r,
          onQuery: () => queries++,
        },
      ),
    ).rejects.toBeInstanceOf(AuthResError);
    expect(queries).toBe(0);
  });
});

describe("values from mail are escaped, never refused, and read back", () => {
  it("fast-check: any value, reason or comment gives one field that parses back to the same values", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (value, reason, comment) => {
        const h = formatAuthResults("mx.example.org", [
          { method: "dkim", result: "fail", reason, comment, props: [{ ptype: "header", property: "d", value }] },
          spf([{ ptype: "smtp", property: "mailfrom", value }]),
        ]);
        // The only line breaks are folds; no control character survives.
        expect(h.replace(/\r\n\t/g, " ")).not.toMatch(/[\u0000-\u001f\u007f]/);
        const parsed = parseAuthResults(h.slice(h.indexOf(":") + 1));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        expect(parsed.value.results.map((r) => r.method)).toEqual(["dkim", "spf"]);
        const clean = value.replace(/\t/g, " ").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
        if (value.length <= MAX_AUTHRES_VALUE) {
          expect(parsed.value.results[0]!.props).toEqual([{ ptype: "header", property: "d", value: clean }]);
          expect(parsed.value.results[1]!.props[0]!.value).toBe(clean);
        } else {
          expect(parsed.value.results[0]!.props).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("an address with '=' in its local part is quoted (a reader would split it)", () => {
    const h = formatAuthResults("mx.example.org", [spf([{ ptype: "smtp", property: "mailfrom", value: "a=b@example.com" }])]);
    expect(h).toContain('smtp.mailfrom="a=b@example.com"');
  });

  it("a 1 MB property value is left out with a comment; a 1 MB reason is cut", () => {
    const big = "x".repeat(1 << 20);
    const h = formatAuthResults("mx.example.org", [
      { method: "dkim", result: "neutral", reason: big, props: [{ ptype: "header", property: "i", value: `${big}@example.com` }] },
    ]);
    expect(h.length).toBeLessThan(1000);
    expect(h).toContain("header.i omitted");
  });
});

describe("the size of the field authenticate writes is bounded", () => {
  it("20,000 empty DKIM-Signature fields: 10 listed, the rest summarized in one entry", async () => {
    const message = `${"DKIM-Signature:\r\n".repeat(20_000)}From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n`;
    const r = await authenticate(message, { ip: "192.0.2.25" }, { authservId: "mx.example.org", resolver: exampleResolver() });
    expect(r.dkim).toHaveLength(20_000);
    expect(r.headers.authenticationResults.length).toBeLessThan(4000);
    expect(r.entries.filter((e) => e.method === "dkim")).toHaveLength(11);
    expect(r.headers.authenticationResults.replace(/\r\n\t/g, " ")).toContain("(19990 more DKIM signatures not listed)");
  });

  it("the limit follows maxSignatures", async () => {
    const message = `${"DKIM-Signature: v=1\r\n".repeat(50)}From: a@example.com\r\n\r\nbody\r\n`;
    const r = await authenticate(
      message,
      { ip: "192.0.2.25" },
      { authservId: "mx.example.org", resolver: exampleResolver(), limits: { maxSignatures: 3 } },
    );
    expect(r.entries.filter((e) => e.method === "dkim")).toHaveLength(4);
    expect(r.headers.authenticationResults.replace(/\r\n\t/g, " ")).toContain("(47 more DKIM signatures not listed)");
  });
});

describe("an l= signature that leaves part of the body unsigned says so", () => {
  const message =
    "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
    "Message-ID: <1@example.com>\r\n\r\nHello Bob,\r\n";

  it("a pass over part of the body: unsignedBodyBytes in the result and in the A-R comment", async () => {
    const signed = dec(await signMessage(message, { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, bodyLength: true }));
    const appended = `${signed}Click http://attacker.example/ now\r\n`;
    const r = await authenticate(appended, { ip: "192.0.2.25" }, { authservId: "mx.example.org", resolver: exampleResolver() });
    expect(r.dkim[0]).toMatchObject({ result: "pass", unsignedBodyBytes: 36 });
    expect(r.headers.authenticationResults.replace(/\r\n\t/g, " ")).toContain("(2048-bit RSA key; l= leaves 36 body bytes unsigned)");
  });

  it("l= covering the whole body: nothing said", async () => {
    const signed = dec(await signMessage(message, { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM, bodyLength: true }));
    const r = await authenticate(signed, { ip: "192.0.2.25" }, { authservId: "mx.example.org", resolver: exampleResolver() });
    expect(r.dkim[0]).toMatchObject({ result: "pass" });
    expect(r.dkim[0]!.unsignedBodyBytes).toBeUndefined();
    expect(r.headers.authenticationResults).not.toContain("unsigned");
  });
});

describe("removeAuthResults: the border filter", () => {
  const ID = "mx.example.org";
  const forged = `Authentication-Results: ${ID}; dmarc=pass header.from=bank.example\r\n`;
  const theirs = "Authentication-Results: other.example; spf=pass smtp.mailfrom=a@b.example\r\n";
  const strip = (m: string) => dec(removeAuthResults(enc(m), [ID]));

  const cases: Array<[string, string, string]> = [
    ["a plain forged field", `From: a@b.example\r\n${forged}Subject: hi\r\n\r\nbody`, "From: a@b.example\r\nSubject: hi\r\n\r\nbody"],
    [
      "case variants of the name and the id",
      "From: a\r\nAUTHENTICATION-RESULTS: MX.Example.ORG; spf=pass\r\nauthentication-results: mx.example.org; spf=pass\r\n\r\n",
      "From: a\r\n\r\n",
    ],
    ["white space before the colon", "A: 1\r\nAuthentication-Results \t: mx.example.org; spf=pass\r\nB: 2\r\n\r\n", "A: 1\r\nB: 2\r\n\r\n"],
    ["a folded field", "A: 1\r\nAuthentication-Results:\r\n mx.example.org;\r\n\tspf=pass\r\nB: 2\r\n\r\n", "A: 1\r\nB: 2\r\n\r\n"],
    [
      "a quoted id, a comment first, a trailing dot",
      'A: 1\r\nAuthentication-Results: (x) "mx.example.org."; spf=pass\r\n\r\n',
      "A: 1\r\n\r\n",
    ],
    ["an id with a version", "A: 1\r\nAuthentication-Results: mx.example.org 1; spf=pass\r\n\r\n", "A: 1\r\n\r\n"],
    ["an unparseable field", "A: 1\r\nAuthentication-Results: ;;;(\r\n\r\n", "A: 1\r\n\r\n"],
    ["other ids stay, byte for byte", `A: 1\r\n${theirs}${forged}\r\n`, `A: 1\r\n${theirs}\r\n`],
    [
      "a subdomain of the id is another id",
      "Authentication-Results: a.mx.example.org; spf=pass\r\n\r\n",
      "Authentication-Results: a.mx.example.org; spf=pass\r\n\r\n",
    ],
    ["LF line ends are kept as they are", "A: 1\nAuthentication-Results: mx.example.org; spf=pass\nB: 2\n\nbody\n", "A: 1\nB: 2\n\nbody\n"],
    ["the body is never touched", `A: 1\r\n\r\n${forged}`, `A: 1\r\n\r\n${forged}`],
    ["a message without a body", `A: 1\r\n${forged}`, "A: 1\r\n"],
    [
      "a forged field after a bare CR: removed with the CR, the field before it keeps its line end",
      `Subject: hi\rAuthentication-Results: ${ID}; dmarc=pass\r\nTo: b@c.example\r\n\r\n`,
      "Subject: hi\r\nTo: b@c.example\r\n\r\n",
    ],
    [
      "a forged field between two bare CRs",
      `Subject: hi\rAuthentication-Results: ${ID}; dmarc=pass\rTo: b@c.example\r\n\r\n`,
      "Subject: hi\rTo: b@c.example\r\n\r\n",
    ],
    ["a bare CR with nothing to remove changes nothing", "Subject: hi\rthere\r\nTo: b\r\n\r\n", "Subject: hi\rthere\r\nTo: b\r\n\r\n"],
    [
      "a continuation that looks like a field is not one",
      "Subject: hi\r\n Authentication-Results: mx.example.org; x=y\r\n\r\n",
      "Subject: hi\r\n Authentication-Results: mx.example.org; x=y\r\n\r\n",
    ],
  ];
  for (const [name, input, output] of cases) {
    it(name, () => expect(strip(input)).toBe(output));
  }

  it("returns the input itself when nothing is removed", () => {
    const m = enc("A: 1\r\n\r\nbody");
    expect(removeAuthResults(m, [ID])).toBe(m);
  });

  it("a forged field after 20,000 fields is removed, and no field is lost", () => {
    const many = Array.from({ length: 20_000 }, (_, i) => `X-F${i}: ${i}\r\n`).join("");
    const out = strip(`${many}${forged}Subject: kept\r\nTo: kept@example.org\r\n\r\nbody`);
    expect(out).toBe(`${many}Subject: kept\r\nTo: kept@example.org\r\n\r\nbody`);
  });

  it("a forged field after 4 MiB of header is removed", () => {
    const big = `X-Big: ${"a".repeat(4 * 1024 * 1024)}\r\n`;
    const out = strip(`${big}${forged}Subject: kept\r\n\r\nbody`);
    expect(out).toBe(`${big}Subject: kept\r\n\r\nbody`);
  });

  it("a forged field before 20,000 others: every field after it is kept", () => {
    const many = Array.from({ length: 25_000 }, (_, i) => `X-F${i}: ${i}\r\n`).join("");
    expect(strip(`${forged}${many}\r\nbody`)).toBe(`${many}\r\nbody`);
  });

  // A model: a header built from fields, each either removable or not, with random line ends, folding
  // and case; the filter must give exactly the concatenation of the fields that are not removable.
  const fieldArb = fc.oneof(
    fc.record({
      kind: fc.constant("ar" as const),
      name: fc.constantFrom("Authentication-Results", "authentication-results", "AUTHENTICATION-RESULTS", "Authentication-Results "),
      id: fc.constantFrom(ID, "MX.EXAMPLE.ORG", "mx.example.org.", '"mx.example.org"', "other.example", "a.mx.example.org"),
      fold: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("other" as const),
      name: fc.constantFrom("Subject", "To", "X-Authentication-Results", "Authentication-Results-X", "Received"),
      value: fc.string({
        unit: fc.constantFrom("a", " ", ";", "=", ":", "(", ")", "\u00e9", "Authentication-Results: mx.example.org; x=y"),
      }),
      fold: fc.boolean(),
    }),
  );
  it("fast-check: exactly the fields claiming the id are removed; every other byte is kept", () => {
    fc.assert(
      fc.property(fc.array(fieldArb, { maxLength: 30 }), fc.constantFrom("\r\n", "\n"), fc.string(), (fields, eol, body) => {
        let input = "";
        let expected = "";
        for (const f of fields) {
          const fold = f.fold ? `${eol}\t` : " ";
          const text =
            f.kind === "ar" ? `${f.name}:${fold}${f.id}; spf=pass${eol}` : `${f.name}:${fold}${f.value.replace(/[\r\n]/g, "")}x${eol}`;
          input += text;
          const removable = f.kind === "ar" && !/other\.example|a\.mx/.test(f.id);
          if (!removable) expected += text;
        }
        input += `${eol}${body}`;
        expected += `${eol}${body}`;
        const out = dec(removeAuthResults(enc(input), [ID]));
        expect(out).toBe(Buffer.from(enc(expected)).toString("latin1"));
      }),
      { numRuns: 500 },
    );
  });

  it("fast-check: on arbitrary bytes, every field that is not an A-R field survives byte for byte", () => {
    const line = fc.oneof(
      fc.constantFrom(`${forged}`, "Authentication-Results: x; spf=pass\r\n", "\r", "\n", "\r\n", " folded\r\n"),
      fc.string({ unit: fc.constantFrom("A", ":", " ", "\r", "\n", "x", "\t") }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (parts) => {
        const input = enc(parts.join(""));
        const out = removeAuthResults(input, [ID]);
        const big = { maxHeaderBytes: 1 << 30, maxHeaderFields: 1 << 30 };
        const keys = (b: Uint8Array) =>
          parseHeaderBlock(b, big)
            // A malformed line that a lenient reader reads as an A-R field (" Authentication-Results:"
            // at the top) is one too: the border filter matches names as the From search does.
            .headers.filter(
              (f) => f.key !== "authentication-results" && !/^[ \t]*authentication-results/i.test(dec(f.raw)) && !dec(f.raw).includes("\r"),
            )
            .map((f) => dec(f.raw));
        // Fields without a bare CR and not named A-R are all still there, in order.
        const before = keys(input);
        const after = keys(out);
        let k = 0;
        for (const f of after) if (k < before.length && f === before[k]) k++;
        expect(k).toBe(before.length);
        expect(out.length).toBeLessThanOrEqual(input.length);
      }),
      { numRuns: 500 },
    );
  });
});
