import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  authenticate,
  FixtureResolver,
  parseAddressList,
  parseAuthor,
  parseDmarcRecord,
  parseDsn,
  parseZone,
  parseZoneFile,
  type Resolver,
  splitMessage,
  verifyArc,
  ZoneError,
  zoneFromObject,
} from "../../src/index.js";
import { exampleResolver, fixture } from "../helpers/keys.js";

/** Strings built from the characters that matter to header and address grammars. */
const grammarish = fc
  .array(
    fc.constantFrom(
      "a",
      "b",
      "@",
      ".",
      "<",
      ">",
      '"',
      "\\",
      "(",
      ")",
      ",",
      ";",
      ":",
      " ",
      "\t",
      "\r",
      "\n",
      "=?",
      "?=",
      "\u00e9",
      "\u0000",
      "[",
      "]",
    ),
    { maxLength: 80 },
  )
  .map((a) => a.join(""));
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  grammarish.map((s) => new TextEncoder().encode(s)),
);

describe("every parser: any input returns a value, never throws, never changes the caller's bytes", () => {
  it("header fields", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const copy = b.slice();
        const m = splitMessage(b);
        expect(Array.isArray(m.headers)).toBe(true);
        expect(b).toEqual(copy);
      }),
      { numRuns: 2000 },
    );
  });
  it("address lists and the author", () => {
    fc.assert(
      fc.property(grammarish, (s) => {
        expect(typeof parseAddressList(s).ok).toBe("boolean");
        const a = parseAuthor(splitMessage(new TextEncoder().encode(`From: ${s.replace(/[\r\n]/g, " ")}\r\n\r\n`)).headers);
        expect(typeof a.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
  it("DMARC records", () => {
    const tag = fc.constantFrom(
      "v=DMARC1",
      "p=reject",
      "sp=none",
      "np=quarantine",
      "pct=50",
      "rua=mailto:a@b",
      "psd=y",
      "t=y",
      "adkim=s",
      "fo=1:d",
      "=",
      ";",
      "x",
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(tag, fc.string({ maxLength: 10 })), { maxLength: 12 }), (parts) => {
        expect(typeof parseDmarcRecord(parts.join("; ")).ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
  it("ARC sets (verifyArc on arbitrary ARC fields)", async () => {
    const resolver = new FixtureResolver(zoneFromObject({}));
    const field = fc.tuple(
      fc.constantFrom("ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"),
      grammarish,
      fc.constantFrom("i=1; ", "i=2; ", "i=0; ", "", "i=51; "),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(field, { maxLength: 6 }), async (fields) => {
        const text = `${fields.map(([n, v, i]) => `${n}: ${i}${v.replace(/[\r\n]/g, " ")}`).join("\r\n")}\r\nFrom: a@b.example\r\n\r\nbody\r\n`;
        const input = new TextEncoder().encode(text);
        const copy = input.slice();
        expect(["none", "pass", "fail"]).toContain((await verifyArc(input, { resolver })).result);
        expect(input).toEqual(copy);
      }),
      { numRuns: 500 },
    );
  });
  it("zone files, YAML and JSON zones: a value or a ZoneError, nothing else", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(grammarish, fc.string({ maxLength: 200 })),
        fc.constantFrom("zonefile" as const, "yaml" as const, "json" as const),
        async (text, format) => {
          try {
            await (format === "zonefile" ? Promise.resolve(parseZoneFile(text)) : parseZone(text, format));
          } catch (err) {
            expect(err).toBeInstanceOf(ZoneError);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
  it("DSNs", () => {
    fc.assert(
      fc.property(grammarish, grammarish, (a, b) => {
        const text = `Content-Type: multipart/report; boundary="${a.replace(/["\r\n]/g, "")}"\r\n\r\n--${a}\r\nContent-Type: message/delivery-status\r\n\r\n${b}\r\n--${a}--`;
        expect(typeof parseDsn(text).ok).toBe("boolean");
      }),
      { numRuns: 1500 },
    );
  });
});

describe("1 MB of the nastiest shape, through the parsers not covered elsewhere", () => {
  const MB = 1_000_000;
  it("zone files", () => {
    for (const text of [
      "(".repeat(MB),
      '"'.repeat(MB),
      `a.example. TXT ${'"x" '.repeat(MB / 4)}`,
      ";".repeat(MB),
      `${"a.".repeat(MB / 2)} A 192.0.2.1`,
      "\\".repeat(MB),
    ]) {
      try {
        parseZoneFile(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ZoneError);
      }
    }
  });
  it("a From field of a million mailboxes and a million From fields", () => {
    expect(parseAuthor(splitMessage(Buffer.from(`From: ${"a@b.example,".repeat(MB / 12)}\r\n\r\n`)).headers)).toMatchObject({
      ok: false,
      reason: "multiple-mailboxes",
    });
    expect(parseAuthor(splitMessage(Buffer.from(`${"From: a@b.example\r\n".repeat(MB / 20)}\r\n`)).headers)).toMatchObject({
      ok: false,
      reason: "multiple-from",
    });
  });
  it("authenticate() on a message of 10,000 DKIM signatures checks only maxSignatures", async () => {
    const sig =
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n";
    const m = Buffer.concat([Buffer.from(sig.repeat(10_000)), fixture("messages/sample.eml")]);
    const r = await authenticate(
      m,
      { ip: "192.0.2.25", mailFrom: "alice@example.com" },
      { resolver: exampleResolver(), authservId: "mx", limits: { maxSignatures: 5 } },
    );
    expect(r.dkim.length).toBe(10_002);
    expect(r.dkim.filter((d) => d.reason.startsWith("not checked"))).toHaveLength(10_002 - 5);
    expect(r.dns.queries).toBeLessThan(20);
  });
});

describe("resource limits", () => {
  it("a YAML zone that explodes through aliases (billion laughs) is refused, not expanded", async () => {
    const laughs = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      ...Array.from(
        { length: 9 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(", ")}]`,
      ),
    ].join("\n");
    await expect(parseZone(laughs, "yaml")).rejects.toBeInstanceOf(ZoneError);
    await expect(parseZone("a.example: *nowhere", "yaml")).rejects.toBeInstanceOf(ZoneError);
  });

  it("the per-message DNS time budget turns a slow resolver into temperror, not a hang", async () => {
    const slow: Resolver = new Proxy(exampleResolver(), {
      get: (target, prop) => {
        const fn = (target as unknown as Record<string, unknown>)[prop as string];
        if (typeof fn !== "function") return fn;
        return async (...args: unknown[]) => {
          await new Promise((r) => setTimeout(r, 60));
          return (fn as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    // The budget is a wall-clock deadline: queries still pending when it runs out are abandoned, later
    // ones refused. The PTR lookup would answer after 60 ms, past a 30 ms budget: iprev is temperror.
    const r = await authenticate(
      fixture("messages/sample.eml"),
      { ip: "192.0.2.25", mailFrom: "alice@example.com", helo: "mx.example.com" },
      { resolver: slow, authservId: "mx", limits: { timeBudgetMs: 30 } },
    );
    expect(r.iprev).toMatchObject({ result: "temperror", reason: expect.stringMatching(/time budget/) });
    expect(r.spf).toMatchObject({ result: "temperror" });
  });
});
