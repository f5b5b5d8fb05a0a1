import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ArcVerifier } from "../src/arc/verify.js";
import { type Envelope, envelopeDomain } from "../src/authenticate.js";
import { type AuthenticationResult, authenticate, type Resolver, signMessage } from "../src/index.js";
import { openWhole } from "../src/message/input.js";
import { ED_PEM, exampleResolver, fixture, RSA_PEM } from "./helpers/keys.js";

// authenticate() makes its checks' options whole for the usual call (no limits, no dkim options, no
// now) and reads SPF and iprev without a wait when they have settled; any other call takes the general
// path (options spread, Promise.all). Both must decide the same, whatever the message and resolver.

const MESSAGE =
  "From: Alice <alice@example.com>\r\nTo: list@example.org\r\nSubject: Test\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <1@example.com>\r\n\r\nHello list,\r\n\r\nsee you.\r\n";
const seal = { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM };

/** A resolver answering one macrotask later: SPF and iprev are still running when DKIM is done. */
function late(inner: Resolver): Resolver {
  const later =
    <T>(f: () => Promise<T>) =>
    () =>
      new Promise<T>((resolve) => setImmediate(() => resolve(f())));
  return {
    txt: (n) => later(() => inner.txt(n))(),
    a: (n) => later(() => inner.a(n))(),
    aaaa: (n) => later(() => inner.aaaa(n))(),
    mx: (n) => later(() => inner.mx(n))(),
    ptr: (n) => later(() => inner.ptr(n))(),
  };
}

/** The result without its durations (the order of the timings is kept). */
function decided(r: AuthenticationResult) {
  return { ...r, timings: r.timings.map((t) => t.check) };
}

const messages: Array<string | Buffer> = [];
beforeAll(async () => {
  const signed = (await signMessage(MESSAGE, { domain: "example.com", selector: "ed25519", privateKey: ED_PEM })).toString();
  const env = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };
  const hop1 = (await authenticate(signed, env, { resolver: exampleResolver(), authservId: "mx.example.org", seal })).prepend + signed;
  messages.push(
    fixture("messages/sample.eml"),
    fixture("messages/sample-unsigned.eml"),
    fixture("messages/spoofed.eml"),
    fixture("messages/mailing-list.eml"),
    signed,
    hop1, // an ARC chain that validates: ArcVerifier.finish(), not finishNow()
    hop1.replace("see you.", "see you!"), // the chain's body hash fails, as DKIM's does
    `ARC-Seal: i=2; cv=none; a=rsa-sha256; d=example.com; s=rsa2048; b=AAAA\r\n${signed}`, // a chain failed on its face
    "not a message",
    "",
  );
});

const envelopes = [
  { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" },
  { ip: "203.0.113.9", helo: "mail.attacker.example", mailFrom: "alice@example.com" },
  { ip: "198.51.100.9" },
  { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "<>" },
  { ip: "2001:db8::1", mailFrom: "bob@other.example" },
];

/** envelopeDomain as it was written first (the reference): trim() and toLowerCase() always. */
function envelopeDomainPlain(e: Envelope): string | undefined {
  let from = (e.mailFrom ?? "").trim();
  if (from.startsWith("<") && from.endsWith(">")) from = from.slice(1, -1);
  const domain = (from === "" ? (e.helo ?? "") : from.slice(from.lastIndexOf("@") + 1)).toLowerCase();
  const d = domain.endsWith(".") ? domain.slice(0, -1) : domain;
  return d.includes(".") && d.length <= 253 && !d.startsWith("[") ? d : undefined;
}

describe("authenticate()'s fast paths decide as its general path", () => {
  it("envelopeDomain (trim and lower case only when needed) gives what the plain form gives", () => {
    const special = [" ", "\t", "\r", "\n", "\v", "\f", "\u00a0", "\u1680", "\u2000", "\u2028", "\u202f", "\u3000", "\ufeff"];
    const char = fc.oneof(
      fc.constantFrom("<", ">", "@", ".", "[", "]", "a", "Z", "x", "-", "\u00c0", "\u0130", "\u00df", "\u212a", ...special),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    );
    const piece = fc.array(char, { maxLength: 4 }).map((c) => c.join(""));
    const space = fc.constantFrom("", ...special);
    const text = fc.oneof(
      fc.array(char, { maxLength: 12 }).map((c) => c.join("")),
      // An address's shape, each part possibly odd: [space][<]local@domain[.][>][space].
      fc
        .tuple(
          space,
          fc.constantFrom("", "<"),
          piece,
          fc.constantFrom("@", ""),
          piece,
          fc.constantFrom("", "."),
          piece,
          fc.constantFrom("", ">"),
          space,
        )
        .map((p) => p.join("")),
      fc.constantFrom("alice@Example.COM", "<alice@example.com>", " <bob@x.example.> ", "<>", "<", ">", "a@b@c.example"),
    );
    fc.assert(
      fc.property(fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), (mailFrom, helo) => {
        const e: Envelope = { ip: "192.0.2.1" };
        if (mailFrom !== undefined) e.mailFrom = mailFrom;
        if (helo !== undefined) e.helo = helo;
        expect(envelopeDomain(e)).toBe(envelopeDomainPlain(e));
      }),
      { numRuns: 3000 },
    );
  });

  it("the usual call's options (made whole) and the same options spelled out (spread) give the same result", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 9 }), fc.constantFrom(...envelopes), fc.boolean(), async (m, envelope, slow) => {
        const message = messages[m]!;
        const resolver = () => (slow ? late(exampleResolver()) : exampleResolver());
        const fast = await authenticate(message, envelope, { resolver: resolver(), authservId: "mx.example.org" });
        // The defaults given explicitly: every option object is spread by the general path.
        const general = await authenticate(message, envelope, {
          resolver: resolver(),
          authservId: "mx.example.org",
          limits: {},
          dkim: { minRsaBits: 1024 },
          checks: {},
          trustedAuthservIds: [],
        });
        expect(decided(fast)).toEqual(decided(general));
        expect(JSON.stringify(decided(fast))).toBe(JSON.stringify(decided(general))); // the same keys in the same order
        if (slow) {
          // Answers from memory: SPF and iprev usually read without a wait. The same verdicts (DMARC
          // sends fewer names ahead of a fast resolver, and the checks settle in another order).
          const quick = await authenticate(message, envelope, { resolver: exampleResolver(), authservId: "mx.example.org" });
          const { dns: _a, timings: _b, ...rest } = decided(fast);
          const { dns: _c, timings: _d, ...same } = decided(quick);
          expect(rest).toEqual(same);
          expect(quick.dns.queries).toBe(fast.dns.queries);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("ArcVerifier.finishNow() (the ARC result without a wait) is finish()'s result, when it gives one", async () => {
    let now = 0;
    for (const message of [...messages, `ARC-Seal: i=1; cv=pass; a=rsa-sha256; d=x.example; s=s; b=AAAA\r\n${MESSAGE}`]) {
      const { headers } = openWhole(message);
      const early = new ArcVerifier(headers, { resolver: exampleResolver() }).finishNow();
      const finished = await new ArcVerifier(headers, { resolver: exampleResolver() }).finish();
      if (early !== undefined) {
        now++;
        expect(early).toEqual(finished);
      } else expect(finished.instances).toBeGreaterThan(0); // a chain to check: the wait is needed
    }
    expect(now).toBeGreaterThanOrEqual(6); // the messages without a chain, and those failed on their face
  });

  it("times each check once, none longer than the whole call, with SPF and iprev settled early or late", async () => {
    for (const slow of [false, true])
      for (const message of messages) {
        const seen: string[] = [];
        const r = await authenticate(message, envelopes[0]!, {
          resolver: slow ? late(exampleResolver()) : exampleResolver(),
          authservId: "mx.example.org",
          onTiming: (t) => seen.push(t.check),
        });
        expect(r.timings.map((t) => t.check)).toEqual(seen);
        expect([...seen].sort()).toEqual(["arc", "dkim", "dmarc", "iprev", "spf", "total"]);
        expect(seen.at(-1)).toBe("total");
        const total = r.timings.at(-1)!.durationMs;
        for (const t of r.timings) {
          expect(t.durationMs).toBeGreaterThanOrEqual(0);
          expect(t.durationMs).toBeLessThanOrEqual(total);
        }
      }
  });

  it("an onTiming hook that throws, for any check, changes nothing in the result, however the checks settle (an observer, as onQuery)", async () => {
    const strip = (r: Awaited<ReturnType<typeof authenticate>>) => ({ ...r, timings: r.timings.map((t) => t.check).sort() });
    for (const slow of [false, true])
      for (const message of [messages[0]!, messages[1]!])
        for (const which of [
          ["spf"],
          ["iprev"],
          ["dkim"],
          ["arc"],
          ["dmarc"],
          ["total"],
          ["spf", "iprev", "dkim", "arc", "dmarc", "total"],
        ]) {
          const opts = {
            resolver: slow ? late(exampleResolver()) : exampleResolver(),
            authservId: "mx.example.org",
            now: () => 1_700_000_000_000,
          };
          const plain = await authenticate(message, envelopes[0]!, opts);
          const thrown: string[] = [];
          const r = await authenticate(message, envelopes[0]!, {
            ...opts,
            resolver: slow ? late(exampleResolver()) : exampleResolver(),
            onTiming: (t) => {
              if (which.includes(t.check)) {
                thrown.push(t.check);
                throw new Error(`hook ${t.check}`);
              }
            },
          });
          expect(thrown.sort()).toEqual([...which].sort());
          expect(strip(r)).toEqual(strip(plain));
          expect(r.message.error).toBeUndefined();
        }
  });
});
