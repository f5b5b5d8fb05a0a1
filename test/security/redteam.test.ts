// The red team's findings against issue 14's fixes, each as a class: an author domain hidden past the
// header reader's limits (F1), forged Authentication-Results the border filter kept (F6), line
// separators and bidi controls in the fields msgauth writes (F7), DNS faults read as answers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arcOverride,
  authenticate,
  checkDmarc,
  checkSenderNullMx,
  FixtureResolver,
  formatAuthResults,
  OptionsError,
  parseAuthor,
  parseAuthResults,
  type Resolver,
  receivedSpf,
  removeAuthResults,
  type SpfResult,
  sealArc,
  splitMessage,
  verifyReportDestination,
  zoneFromObject,
} from "../../src/index.js";
import { ED_PEM, EXAMPLE_ZONE } from "../helpers/keys.js";

const zone = zoneFromObject({
  "_dmarc.bank.example": { TXT: "v=DMARC1; p=reject" },
  "bank.example": { TXT: "v=spf1 -all" },
  "_dmarc.shop.example": { TXT: "v=DMARC1; p=quarantine" },
  "_dmarc.attacker.example": { TXT: "v=DMARC1; p=none" },
  "attacker.example": { TXT: "v=spf1 ip4:192.0.2.1 -all" },
});
/** The attacker's server: SPF passes (aligned) for attacker.example. */
const envelope = { ip: "192.0.2.1", helo: "mx.attacker.example", mailFrom: "x@attacker.example" };
const run = (m: string | Uint8Array | AsyncIterable<Uint8Array>) =>
  authenticate(m, envelope, { resolver: new FixtureResolver(zone), authservId: "mx.rcv" });
const TAIL = "Subject: x\r\n\r\nbody\r\n";
const REJECT = { result: "fail", disposition: "reject" };
const MiB4 = 4 * 1024 * 1024;

describe("F1: a From past the header reader's limits is found, and never a pass", () => {
  const cases: Array<{ name: string; message: () => string; expect: Record<string, unknown>; error: string }> = [
    {
      name: "a From after 20,000 empty fields",
      message: () => `${"X:\r\n".repeat(20000)}From: ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "too-many-fields",
    },
    {
      name: "a clean From, 20,001 fields, then the victim's From (was pass)",
      message: () => `From: a@attacker.example\r\n${"X-J: n\r\n".repeat(20001)}From: ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "too-many-fields",
    },
    {
      name: "the victim's From as the 20,001st field, folded",
      message: () => `From: a@attacker.example\r\n${"X-J: n\r\n".repeat(19999)}From: CEO\r\n <ceo@bank.example>\r\n${TAIL}`,
      expect: REJECT,
      error: "too-many-fields",
    },
    {
      name: "a From past the limit behind a bare CR",
      message: () => `From: a@attacker.example\r\n${"X-J: n\r\n".repeat(20001)}X-K: y\rFrom: ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "too-many-fields",
    },
    {
      name: "a From named with a NUL before the colon, past the limit",
      message: () => `From: a@attacker.example\r\n${"X-J: n\r\n".repeat(20001)}From\0: ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "too-many-fields",
    },
    {
      name: "a From after one field over 4 MiB",
      message: () => `From: a@attacker.example\r\nX-Big: ${"a".repeat(MiB4 + 10)}\r\nFrom: ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "header-too-large",
    },
    {
      name: "a From cut by the 4 MiB limit",
      message: () => `X-Big: ${"a".repeat(MiB4 - 30)}\r\nFrom: ${" ".repeat(40)}ceo@bank.example\r\n${TAIL}`,
      expect: REJECT,
      error: "header-too-large",
    },
    {
      name: "the attacker's only From, header past the field limit: fail with its own p=none (was pass)",
      message: () => `From: a@attacker.example\r\n${"X-J: n\r\n".repeat(20001)}${TAIL}`,
      expect: { result: "fail", disposition: "none" },
      error: "too-many-fields",
    },
    {
      name: "no From anywhere: permerror",
      message: () => `${"X-J: n\r\n".repeat(20001)}${TAIL}`,
      expect: { result: "permerror", disposition: "none" },
      error: "too-many-fields",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await run(c.message());
      expect(r.message.error).toBe(c.error);
      expect(r.dmarc).toMatchObject(c.expect);
    }, 30_000);
  }

  it("a streamed header past maxHeaderBytes, not read further: fail with reject", async () => {
    const chunks = async function* () {
      yield "From: a@attacker.example\r\n";
      for (let i = 0; i < 70; i++) yield `X-Pad: ${"a".repeat(64 * 1024)}\r\n`;
      yield `From: ceo@bank.example\r\n${TAIL}`;
    };
    const r = await run(
      (async function* () {
        for await (const c of chunks()) yield new TextEncoder().encode(c);
      })(),
    );
    expect(r.message.error).toBe("header-too-large");
    expect(r.dmarc).toMatchObject(REJECT);
    expect(r.author).toMatchObject({ ok: false, reason: "header-not-read", unseen: expect.any(String) });
  }, 30_000);

  it("parseAuthor without the reader's result keeps its old meaning; with it, never ok", () => {
    const m = splitMessage(new TextEncoder().encode(`From: a@attacker.example\r\n${"X: y\r\n".repeat(30)}From: ceo@bank.example\r\n\r\n`), {
      maxHeaderFields: 10,
    });
    expect(m.beyondLimit).toEqual({ from: ["ceo@bank.example"], complete: true });
    expect(parseAuthor(m.headers)).toMatchObject({ ok: true, domain: "attacker.example" });
    expect(parseAuthor(m.headers, m)).toMatchObject({
      ok: false,
      reason: "header-not-read",
      domains: ["attacker.example", "bank.example"],
    });
  });

  it("property: a From at the victim anywhere past a small limit is always found", () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.nat(40),
        fc.constantFrom(
          "From: ceo@bank.example",
          "from :CEO <ceo@bank.example",
          "FROM\0: ceo@bank.example",
          "X: y\rFrom: ceo@bank.example",
        ),
        fc.constantFrom("\r\n", "\n"),
        (above, below, victim, eol) => {
          fc.pre(above + below >= 5); // past a limit: the fields do not all fit
          const lines = [...Array(above).fill("X: a"), victim, ...Array(below).fill("Y: b")];
          const m = splitMessage(new TextEncoder().encode(`${lines.join(eol)}${eol}${eol}body`), {
            maxHeaderFields: 5,
            maxHeaderBytes: 200,
          });
          const author = parseAuthor(m.headers, m);
          expect(author.ok).toBe(false);
          if (!author.ok) expect(author.domains).toContain("bank.example");
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("F6: the border filter removes every A-R field a lenient reader could take as ours", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const strip = (m: string) => Buffer.from(removeAuthResults(enc(m), ["mx.rcv"])).toString("utf8");
  const forged = [
    "Authentication-Results: mx.rcv\u00a0; dmarc=pass",
    "Authentication-Results: mx.rcv\u3000; dmarc=pass",
    "Authentication-Results: mx.rcv\u200b; dmarc=pass",
    "Authentication-Results: mx.rcv\u0000; dmarc=pass",
    "Authentication-Results: mx.rcv/x; dmarc=pass",
    "Authentication-Results: mx.rcv@x; dmarc=pass",
    "Authentication-Results: mx.rcv,x; dmarc=pass",
    "Authentication-Results: mx.rcv[1]; dmarc=pass",
    "Authentication-Results: \u200bmx.rcv; dmarc=pass",
    'Authentication-Results: "mx.rcv\u00a0"; dmarc=pass',
    'Authentication-Results: "mx.\u200brcv"; dmarc=pass',
    "Authentication-Results: ＭＸ.rcv; dmarc=pass",
    "Authentication-Results: mx.rcv..; dmarc=pass",
    "Authentication-Results\0: mx.rcv; dmarc=pass",
    "Authentication-Results\u00a0: mx.rcv; dmarc=pass",
    "authentication-results \t: mx.rcv; dmarc=pass",
    // Red team 2: characters UTS 46 maps to nothing or no reader draws, in a quoted id (one shared
    // set with the author-domain recovery: src/message/idna.ts), and junk before or inside the name.
    ...["\u180b", "\u17b4", "\u17b5", "\u{e0100}", "\u2065", "\u{16fe4}", "\u034f", "\ufe0f", "\u3164"].map(
      (c) => `Authentication-Results: "mx.r${c}cv"; dmarc=pass`,
    ),
    "\0Authentication-Results: mx.rcv; dmarc=pass",
    "\u200bAuthentication-Results: mx.rcv; dmarc=pass",
    "\ufeffAuthentication-Results: mx.rcv; dmarc=pass",
    "\u007fAuthentication-Results: mx.rcv; dmarc=pass",
    "\u00a0Authentication-Results: mx.rcv; dmarc=pass",
    "Authentication-\u00adResults: mx.rcv; dmarc=pass",
    "ＡＵＴＨＥＮＴＩＣＡＴＩＯＮ-ＲＥＳＵＬＴＳ: mx.rcv; dmarc=pass",
  ];
  for (const f of forged) {
    it(`removes ${JSON.stringify(f)}`, () => {
      expect(strip(`From: a@attacker.example\r\n${f}\r\nSubject: s\r\n\r\nbody\r\n`)).toBe(
        "From: a@attacker.example\r\nSubject: s\r\n\r\nbody\r\n",
      );
    });
  }
  it("removing a field whose last line ends in a bare CR and then CRLF keeps the fields below in the header", () => {
    expect(strip("Authentication-Results: mx.rcv; dmarc=pass\r\n \r\r\nSubject: s\r\n\r\nbody\r\n")).toBe("Subject: s\r\n\r\nbody\r\n");
  });
  it("keeps another receiver's valid A-R field and fields merely named alike", () => {
    const m = "Authentication-Results: mx.other; dmarc=pass\r\nAuthentication-Results-X: mx.rcv; dmarc=pass\r\n\r\n";
    expect(strip(m)).toBe(m);
  });
  it("parseAuthResults refuses an authserv-id that is not a token", () => {
    for (const id of ["mx.rcv\u00a0", "mx.rcv/x", "mx.rcv@x", "mx.rcv,x", "mx.rcv[1]", "mx.rcv\u0000", "mx.rcv:"])
      expect(parseAuthResults(`${id}; dmarc=pass`).ok, JSON.stringify(id)).toBe(false);
    expect(parseAuthResults('"mx rcv"; dmarc=pass')).toMatchObject({ ok: true, value: { authservId: "mx rcv" } });
    expect(parseAuthResults("mx.rcv; dmarc=pass")).toMatchObject({ ok: true });
  });
});

describe("F7: one escaping rule for every field msgauth writes", () => {
  // Line and paragraph separators, bidi embeddings/overrides/isolates and marks, C0, DEL and C1.
  const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
  const bad = ["\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\u200f", "\u0085", "\u009b", "\u0000", "\u001b", "\ufeff"];
  const sealing = { domain: "rcv.example", selector: "s", privateKey: ED_PEM };
  for (const b of bad) {
    it(`U+${b.codePointAt(0)!.toString(16).padStart(4, "0")} from MAIL FROM, HELO and a From local part reaches no written field`, async () => {
      const r = await authenticate(
        `From: "x${b}y" <x${b}a@attacker.example>\r\nAuthentication-Results: mx.rcv; x=${b}\r\n\r\nb\r\n`,
        { ip: "192.0.2.1", helo: `h${b}.attacker.example`, mailFrom: `xa${b}b@attacker.example` },
        { resolver: new FixtureResolver(zone), authservId: "mx.rcv", seal: sealing },
      );
      // Every written field, CRLF folding aside.
      const written = r.prepend.replace(/\r\n[ \t]/g, " ").replace(/\r\n$/, "");
      expect(written.split("\r\n").length).toBeGreaterThan(1);
      for (const line of written.split("\r\n")) expect(line, JSON.stringify(line)).not.toMatch(UNSAFE);
    });
  }
  it("formatAuthResults, receivedSpf and sealArc's given A-R apply the same rule", async () => {
    for (const b of bad) {
      const ar = formatAuthResults("mx.rcv", [
        {
          method: "spf",
          result: "pass",
          comment: `c${b}d`,
          reason: `r${b}s`,
          props: [{ ptype: "smtp", property: "mailfrom", value: `a${b}b@x.example` }],
        },
      ]);
      expect(ar.replace(/\r\n[ \t]/g, " ")).not.toMatch(UNSAFE);
      const spf = receivedSpf(
        {
          result: "permerror",
          domain: `x${b}.example`,
          reason: `r${b}s`,
          ip: "192.0.2.1",
          sender: `a${b}b@x.example`,
          helo: `h${b}.example`,
          identity: "mailfrom",
          mechanism: `ip4:${b}`,
        } as unknown as SpfResult,
        { receiver: `mx${b}` },
      );
      expect(spf.replace(/\r\n[ \t]/g, " ")).not.toMatch(UNSAFE);
      const sealed = await sealArc("From: a@attacker.example\r\n\r\nb\r\n", {
        ...sealing,
        authservId: "mx.rcv",
        authResults: `mx.rcv; spf=pass smtp.mailfrom=a${b}b@x.example\r\nX-Injected: 1`,
        chain: { result: "none", reason: "none", instances: 0, sets: [] },
      });
      expect(sealed.sealed).toBe(true);
      if (sealed.sealed) {
        const aar = sealed.headers.replace(/\r\n[ \t]/g, " ").split("\r\n");
        for (const line of aar) if (line !== "") expect(line).not.toMatch(UNSAFE);
        expect(sealed.headers).not.toMatch(/^X-Injected/m);
      }
    }
  });
});

describe("DNS faults are never read as answers, and every wait is bounded", () => {
  const never = <T>() => new Promise<T>(() => {});
  const silent = { txt: never, a: never, aaaa: never, mx: never, ptr: never } as unknown as Resolver;
  const failing = {
    txt: async () => ({ kind: "error", reason: "timeout" }),
    a: async () => ({ kind: "error", reason: "timeout" }),
    aaaa: async () => ({ kind: "error", reason: "timeout" }),
    mx: async () => ({ kind: "error", reason: "timeout" }),
    ptr: async () => ({ kind: "error", reason: "timeout" }),
  } as Resolver;

  it("checkSenderNullMx: a failed MX lookup says so (temperror), it is not 'no null MX'", async () => {
    const r = await checkSenderNullMx("bank.example", { resolver: failing });
    expect(r).toMatchObject({ nullMx: false, temperror: expect.stringContaining("timeout"), reply: { code: 451 } });
    const aborted = await checkSenderNullMx("bank.example", { resolver: silent, signal: AbortSignal.abort() });
    expect(aborted.temperror).toEqual(expect.any(String));
    const clean = await checkSenderNullMx("bank.example", { resolver: new FixtureResolver(zone) });
    expect(clean).toEqual({ nullMx: false });
  });

  it("verifyReportDestination: a never-answering resolver settles within its total deadline, temperror", async () => {
    const started = Date.now();
    const r = await verifyReportDestination("bank.example", "mailto:rua@reports.example", { resolver: silent, timeoutMs: 300 });
    expect(r.result).toBe("temperror");
    expect(Date.now() - started).toBeLessThan(300 + 5_000); // was ~30 s: three sequential 10 s waits
  }, 20_000);

  it("verifyReportDestination: the caller's signal abandons it; unknown options are refused", async () => {
    const c = new AbortController();
    const p = verifyReportDestination("bank.example", "mailto:rua@reports.example", { resolver: silent, signal: c.signal });
    c.abort();
    await expect(p).resolves.toMatchObject({ result: "temperror" });
    await expect(
      verifyReportDestination("bank.example", "mailto:a@reports.example", { resolver: silent, timeout: 1 } as never),
    ).rejects.toThrow(OptionsError);
  });

  it("checkDmarc takes a signal: aborted, a policy not found is temperror, never a pass", async () => {
    const author = parseAuthor(splitMessage(new TextEncoder().encode("From: ceo@bank.example\r\n\r\n")).headers);
    const c = new AbortController();
    const p = checkDmarc(
      { author, spf: { result: "pass", domain: "bank.example" } as SpfResult, dkim: [] },
      { resolver: silent, signal: c.signal },
    );
    c.abort();
    await expect(p).resolves.toMatchObject({ result: "temperror" });
  });

  it("sealArc takes a signal: a stalled stream is abandoned, not sealed", async () => {
    const c = new AbortController();
    const stalled = (async function* () {
      yield new TextEncoder().encode("From: a@attacker.example\r\n\r\n");
      await never();
    })();
    const p = sealArc(stalled, {
      domain: "rcv.example",
      selector: "s",
      privateKey: ED_PEM,
      authservId: "mx.rcv",
      resolver: silent,
      signal: c.signal,
    });
    setTimeout(() => c.abort(), 20);
    await expect(p).resolves.toMatchObject({ sealed: false });
  });
});

describe("red team 2, finding 4: an ARC override never covers a From the trusted sealer did not see", () => {
  const edKey = EXAMPLE_ZONE.get("ed25519._domainkey.example.com")!.TXT!;
  const arcZone = zoneFromObject({
    "_dmarc.bank.example": { TXT: "v=DMARC1; p=reject" },
    "_dmarc.shop.example": { TXT: "v=DMARC1; p=none" },
    "s._domainkey.lists.example.net": { TXT: edKey },
  });
  const viaList = { ip: "198.51.100.40", helo: "lists.example.net", mailFrom: "bounces@lists.example.net" };
  const list = { domain: "lists.example.net", selector: "s", privateKey: ED_PEM, authservId: "lists.example.net" };
  const none = { result: "none" as const, reason: "none", instances: 0, sets: [] };
  const original = "From: Alice <alice@bank.example>\r\nTo: l@lists.example.net\r\nSubject: [l] hi\r\n\r\nbody\r\n";
  /** The list seals what it received, recording dmarc=pass for `from`. */
  const seal = async (m: string, from = "bank.example", headers?: string[]) => {
    const s = await sealArc(m, {
      ...list,
      chain: none,
      authResults: `lists.example.net; dmarc=pass header.from=${from}`,
      ...(headers ? { headers } : {}),
    });
    if (!s.sealed) throw new Error(s.reason);
    return s.headers + m;
  };
  const check = (m: string) => authenticate(m, viaList, { resolver: new FixtureResolver(arcZone), authservId: "mx.rcv" });
  const trusted = { trustedSealers: ["lists.example.net"] };

  it("control: the list's own sealed message is overridden", async () => {
    const r = await check(await seal(original));
    expect(r.dmarc).toMatchObject({ result: "fail", arc: { result: "pass" } });
    expect(arcOverride(r, trusted).override).toBe(true);
  });

  it("sealArc oversigns From (and the fields signDkim oversigns) in the AMS h=", async () => {
    const sealed = await seal(original);
    const h = /ARC-Message-Signature:[\s\S]*?\bh=([^;]*);/.exec(sealed)![1]!.replace(/\s+/g, "");
    expect(h.split(":").filter((n) => n === "from")).toHaveLength(2);
    expect(h.split(":").filter((n) => n === "subject")).toHaveLength(2);
  });

  it("a From prepended above the sealed message breaks the chain", async () => {
    const r = await check(`From: ceo@bank.example\r\n${await seal(original)}`);
    expect(r.arc?.result).toBe("fail");
    expect(arcOverride(r, trusted).override).toBe(false);
  });

  it("a From prepended above a seal that did not oversign From: the chain passes, no override (multiple From)", async () => {
    const r = await check(`From: ceo@bank.example\r\n${await seal(original, "bank.example", ["from", "subject", "to"])}`);
    expect(r.dmarc).toMatchObject({ result: "fail", disposition: "reject", arc: { result: "pass" } });
    expect(arcOverride(r, trusted)).toMatchObject({ override: false, reason: expect.stringContaining("multiple-from") });
  });

  it("author domains differing from the recorded header.from: no override", async () => {
    // A seal that does not cover From at all, and a From replaced after sealing.
    const sealed = await seal(original.replace("alice@bank.example", "alice@shop.example"), "shop.example", ["subject", "to"]);
    const r = await check(sealed.replace("alice@shop.example", "ceo@bank.example"));
    expect(r.dmarc).toMatchObject({ result: "fail", arc: { result: "pass" } });
    expect(arcOverride(r, trusted)).toMatchObject({ override: false, reason: expect.stringContaining("differ") });
  });

  it("a doubtful author (recovered from broken syntax): no override; without author: no override", async () => {
    const r = await check(await seal(original.replace("<alice@bank.example>", "<alice@bank.example")));
    expect(r.dmarc).toMatchObject({ result: "fail", arc: { result: "pass" } });
    expect(arcOverride(r, trusted).override).toBe(false);
    const ok = await check(await seal(original));
    expect(arcOverride({ dmarc: ok.dmarc!, arc: ok.arc! }, trusted).override).toBe(false);
  });
});

describe("red team 2, findings 6 and 7: a stream's chunks are checked, and the budget holds by clock", () => {
  const opts = (timeBudgetMs = 20_000) => ({ resolver: new FixtureResolver(zone), authservId: "mx.rcv", limits: { timeBudgetMs } });
  const victim = new TextEncoder().encode(`From: ceo@bank.example\r\n${TAIL}`);
  const chunks: Array<[string, () => AsyncIterable<unknown>]> = [
    [
      "a Uint16Array before a normal message (its bytes would be a NUL-prefixed From)",
      async function* () {
        yield new Uint16Array(4);
        yield victim;
      },
    ],
    [
      "an ArrayBuffer holding the message",
      async function* () {
        yield victim.slice().buffer;
      },
    ],
    [
      "a DataView over the message",
      async function* () {
        yield new DataView(victim.slice().buffer);
      },
    ],
    [
      "a number",
      async function* () {
        yield 42;
      },
    ],
    [
      "null in the body",
      async function* () {
        yield victim;
        yield null;
      },
    ],
    [
      "an object in the body",
      async function* () {
        yield "From: ceo@bank.example\r\n\r\n";
        yield { length: 3 };
      },
    ],
  ];
  for (const [name, make] of chunks) {
    it(`${name}: message.error unreadable, never a verdict on odd bytes`, async () => {
      const r = await authenticate(make() as AsyncIterable<Uint8Array>, envelope, opts());
      expect(r.message.error).toBe("unreadable");
      expect(r.dmarc?.result).not.toBe("pass");
      expect(r.dmarc?.result).toBe("temperror");
    });
  }

  // Each source stops by itself after 10 s (so that a regression fails instead of hanging the run:
  // chunks that are ready at once keep the microtask queue busy, and no timer, not even the test
  // runner's, can fire); with a 300 ms budget the read must end long before that, unreadable.
  const SAFETY_MS = 10_000;
  const until = () => {
    const stop = Date.now() + SAFETY_MS;
    return () => Date.now() < stop;
  };
  const ready: Array<[string, () => AsyncIterable<Uint8Array | string>]> = [
    [
      "endless empty strings",
      async function* () {
        for (const go = until(); go(); ) yield "";
      },
    ],
    [
      "endless empty chunks in the body",
      async function* () {
        yield "From: ceo@bank.example\r\n\r\n";
        const empty = new Uint8Array(0);
        for (const go = until(); go(); ) yield empty;
      },
    ],
    [
      "endless 64 KiB body chunks",
      async function* () {
        yield "From: ceo@bank.example\r\n\r\n";
        const c = new Uint8Array(64 * 1024).fill(0x61);
        for (const go = until(); go(); ) yield c;
      },
    ],
  ];
  for (const [name, make] of ready) {
    it(`${name}, all ready at once: unreadable within the budget`, async () => {
      const started = Date.now();
      const r = await authenticate(make(), envelope, opts(300));
      expect(r.message.error).toBe("unreadable");
      expect(r.dmarc?.result).not.toBe("pass");
      expect(Date.now() - started).toBeLessThan(SAFETY_MS - 1_000); // budget (300 ms) + generous slack
    }, 30_000);
  }
});

describe("red team 2, minor: resolver objects that cannot be read, and abort listeners", () => {
  const msg = `From: ceo@bank.example\r\n${TAIL}`;
  const proxies: Array<[string, object]> = [
    [
      "every property read throws",
      new Proxy(
        {},
        {
          get() {
            throw new Error("boom");
          },
        },
      ),
    ],
    [
      "reading txt throws",
      new Proxy(new FixtureResolver(zone), {
        get(t, k) {
          if (k === "txt") throw new Error("boom");
          return Reflect.get(t, k);
        },
      }),
    ],
  ];
  for (const [name, resolver] of proxies) {
    it(`a resolver whose ${name}: OptionsError naming options.resolver (checked before any work), never a plain Error`, async () => {
      const p = authenticate(msg, envelope, { resolver: resolver as Resolver, authservId: "mx.rcv" });
      await expect(p).rejects.toBeInstanceOf(OptionsError);
      await expect(p).rejects.toMatchObject({ path: "options.resolver" });
      // With other options (the schema path) the same.
      await expect(
        authenticate(msg, envelope, { resolver: resolver as Resolver, authservId: "mx.rcv", limits: { timeBudgetMs: 1000 } }),
      ).rejects.toBeInstanceOf(OptionsError);
    });
  }

  it("12 DKIM key lookups waiting at once on a slow resolver: no MaxListenersExceededWarning", async () => {
    const inner = new FixtureResolver(zone);
    const later =
      <K extends keyof Resolver>(k: K) =>
      (name: string) =>
        new Promise((r) => setTimeout(() => r((inner[k] as (n: string) => unknown)(name)), 50));
    const slow = { txt: later("txt"), a: later("a"), aaaa: later("aaaa"), mx: later("mx"), ptr: later("ptr") } as unknown as Resolver;
    const b64 = (n: number) => Buffer.alloc(n).toString("base64");
    let sigs = "";
    for (let i = 0; i < 12; i++) sigs += `DKIM-Signature: v=1; a=rsa-sha256; d=d${i}.example; s=s; h=from; bh=${b64(32)}; b=${b64(64)}\r\n`;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const r = await authenticate(`${sigs}${msg}`, envelope, { resolver: slow, authservId: "mx.rcv", limits: { maxSignatures: 20 } });
      expect(r.dkim).toHaveLength(12);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});

describe("red team 2: the lenient From search stays linear", () => {
  const enc = new TextEncoder();
  const shapes: Array<[string, string]> = [
    ["19,000 lines named \\0From", `From: a@x.example\r\n${"\0From: a@b.example\r\n".repeat(19_000)}\r\nb`],
    ["200,000 bare-CR From lines in one field", `X: a${"\rFrom: a@b.example".repeat(200_000)}\r\n\r\nb`],
    ["19,000 malformed lines below a hidden From", `\0From: a@b.example\r\n${"junk\r\n".repeat(19_000)}\r\nb`],
  ];
  for (const [name, m] of shapes) {
    it(`${name}: read in bounded time, never ok`, () => {
      const started = Date.now();
      const bytes = enc.encode(m);
      const split = splitMessage(bytes);
      expect(parseAuthor(split.headers, split).ok).toBe(false);
      removeAuthResults(bytes, ["mx.rcv"]);
      expect(Date.now() - started).toBeLessThan(20_000); // about 0.5 s; quadratic was out of memory
    }, 60_000);
  }
});

describe("red team 2: property, invisible characters anywhere in an A-R name or authserv-id", () => {
  const enc = new TextEncoder();
  const ranges: Array<[number, number]> = [
    [0x0000, 0x0008],
    [0x00ad, 0x00ad],
    [0x034f, 0x034f],
    [0x115f, 0x1160],
    [0x17b4, 0x17b5],
    [0x180b, 0x180f],
    [0x200b, 0x200f],
    [0x2060, 0x206f],
    [0x3164, 0x3164],
    [0xfe00, 0xfe0f],
    [0xfeff, 0xfeff],
    [0xffa0, 0xffa0],
    [0x16fe4, 0x16fe4],
    [0xe0100, 0xe01ef],
  ];
  const invisible = fc.oneof(...ranges.map(([a, b]) => fc.integer({ min: a, max: b }))).map((c) => String.fromCodePoint(c));
  it("the forged field is removed, the others kept", () => {
    fc.assert(
      fc.property(invisible, fc.nat(), fc.boolean(), fc.boolean(), (c, at, inName, quoted) => {
        const name = "Authentication-Results";
        const id = "mx.rcv";
        const n = inName ? `${name.slice(0, at % (name.length + 1))}${c}${name.slice(at % (name.length + 1))}` : name;
        const i = inName ? id : `${id.slice(0, at % (id.length + 1))}${c}${id.slice(at % (id.length + 1))}`;
        const field = `${n}: ${quoted || !inName ? `"${i}"` : i}; dmarc=pass`;
        const out = Buffer.from(
          removeAuthResults(enc.encode(`From: a@attacker.example\r\n${field}\r\nSubject: s\r\n\r\nb\r\n`), ["mx.rcv"]),
        );
        expect(out.toString("utf8"), JSON.stringify(field)).toBe("From: a@attacker.example\r\nSubject: s\r\n\r\nb\r\n");
      }),
      { numRuns: 500 },
    );
  });
});
