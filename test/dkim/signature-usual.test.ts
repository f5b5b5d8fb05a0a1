import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSignature, parseSignatureGeneral, parseUsualSignature } from "../../src/dkim/signature.js";
import { splitMessage } from "../../src/message/index.js";

/** The field of `DKIM-Signature:<value>` as the message reader makes it (bytes as given, latin1). */
const sigField = (value: string) => splitMessage(Buffer.from(`DKIM-Signature:${value}\r\n\r\n`, "latin1")).headers[0]!;

const BH256 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const BH1 = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";
const B = Buffer.from(Array.from({ length: 256 }, (_, k) => (k * 7) % 256)).toString("base64");

const fws = fc.constantFrom("", "", " ", "\t", "\r\n\t", "\r\n ", "  ");
/** Text with folding white space put in at random places (as signers fold b=, bh= and h=). */
const folded = (s: string) =>
  fc
    .array(fws, { minLength: s.length + 1, maxLength: s.length + 1 })
    .map((ws) => [...s].map((ch, k) => ws[k] + ch).join("") + ws[s.length]);

/** A ':' list with folding white space around its colons. */
const foldedList = (s: string) =>
  fc.array(fws, { minLength: s.length + 1, maxLength: s.length + 1 }).map((ws) =>
    s
      .split(":")
      .map((name, k) => ws[2 * k] + name + ws[2 * k + 1])
      .join(":"),
  );

/** Valid-looking tag lists: every tag parseSignature reads, in any order, with odd but allowed forms. */
/** Mostly one of `good`, now and then one of `odd`. */
const mostly = (good: string[], odd: string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 12 }, { arbitrary: fc.constantFrom(...odd), weight: 1 });
const maybe = (good: string[], odd: string[]) => fc.option(mostly(good, odd), { nil: undefined });
const tags = fc
  .record({
    a: mostly(["rsa-sha256", "RSA-SHA256", "ed25519-sha256"], ["rsa-sha1", "rsa-md5", "constructor"]),
    c: maybe(["relaxed/relaxed", "relaxed", "Simple/Relaxed", "simple/simple"], ["relaxed/fancy", "", "relaxed/"]),
    d: mostly(["example.com", "Example.COM.", "b\xc3\xbccher.example", "sub.example.com"], ["-bad.example", "b\xfccher.example", ""]),
    s: mostly(["sel", "Sel-1", "2026._x", "\xc3\xa9t\xc3\xa9"], ["s el", "a..b"]),
    h: mostly(["from:to", "From : To:\r\n\tSubject", "from:from:subject"], ["to:subject", "fr om:to", "from::to", "from\x7f", "FROM\xe9"]),
    i: maybe(
      ["@example.com", "user@sub.example.com", "u@Example.com.", "\xc3\xa9@example.com"],
      ["user@evil.example", "noat", "a@b@example.com"],
    ),
    l: maybe(["0", "100", "0100"], ["12a", "", "9".repeat(80)]),
    t: maybe(["1796168208", "100"], ["x", "-1"]),
    x: maybe(["1796168209", "99999999999"], ["50", "1796168208", "1e9"]),
    q: maybe(["dns/txt", "DNS/TXT", "http:dns/txt"], ["http", ""]),
    z: fc.option(fc.constantFrom("From:x|To:y", ""), { nil: undefined, freq: 2 }),
    v: mostly(["1"], ["2", "1.0", ""]),
    bh: mostly([BH256], [BH1, "AAAA", "A!AA", ""]),
    b: mostly([B, "AAAA"], ["", "AA=A", "AAA"]),
  })
  .chain((r) => {
    const list = Object.entries(r).filter((e): e is [string, string] => e[1] !== undefined);
    // Folding anywhere in b= and bh=; in h= mostly around the colons (white space inside a name is
    // for the general rule to decide).
    const fold = (k: string, v: string) =>
      k === "b" || k === "bh" ? folded(v) : k === "h" ? fc.oneof({ arbitrary: foldedList(v), weight: 8 }, folded(v)) : fc.constant(v);
    const values = list.map(([k, v]) => fold(k, v).map((fv): [string, string] => [k, fv]));
    return fc
      .tuple(...values)
      .chain((pairs) => fc.tuple(fc.shuffledSubarray(pairs, { minLength: pairs.length, maxLength: pairs.length }), fws, fc.boolean()));
  })
  .map(([order, ws, trailing]) => ` ${order.map(([k, v]) => `${ws}${k}=${v}`).join(";")}${trailing ? ";" : ""}`);

/** A valid list with one character inserted, removed or replaced: the hostile neighbours of a good one. */
const mutated = fc
  .tuple(
    tags,
    fc.nat(),
    fc.constantFrom("ins", "del", "rep"),
    fc.constantFrom(";", "=", " ", "\r\n", "\x00", "\x7f", "\xff", "a", "b", "Z", ":", "/", "+", "_", "9"),
  )
  .map(([s, at, op, ch]) => {
    const k = at % (s.length + 1);
    if (op === "ins") return s.slice(0, k) + ch + s.slice(k);
    if (op === "del") return s.slice(0, k) + s.slice(k + 1);
    return s.slice(0, k) + ch + s.slice(k + 1);
  });

/** The same answer, with the same keys in the same order (results are compared as objects and as JSON). */
function expectSame(value: string) {
  const field = sigField(value);
  const general = parseSignatureGeneral(field);
  const usual = parseUsualSignature(field);
  if (usual !== undefined) {
    expect(usual).toEqual(general);
    expect(Object.keys(usual.sig)).toEqual(Object.keys((general as typeof usual).sig));
  }
  const chosen = parseSignature(field);
  expect(chosen).toEqual(general);
  if (chosen.ok && general.ok) expect(Object.keys(chosen.sig)).toEqual(Object.keys(general.sig));
  else expect(Object.keys(chosen)).toEqual(Object.keys(general));
  return usual !== undefined;
}

describe("DKIM-Signature: the one-pass parser of usual signatures", () => {
  it("where it answers, it answers as the general parser does (generated lists)", () => {
    let answered = 0;
    fc.assert(
      fc.property(tags, (value) => {
        if (expectSame(value)) answered++;
      }),
      { numRuns: 4000 },
    );
    expect(answered).toBeGreaterThan(100); // the property is not vacuous
  });

  it("where it answers, it answers as the general parser does (mutated lists, random text)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.string({ maxLength: 60 }).map((s) => ` v=1; ${s}`),
        ),
        (value) => {
          expectSame(value);
        },
      ),
      { numRuns: 6000 },
    );
  });

  it("answers for the usual signatures and leaves anything odd or broken to the general parser", () => {
    const good = ` v=1; a=rsa-sha256; c=relaxed/relaxed; d=bench.example;\r\n\ts=rsa2048; t=1796168208; h=from: from: sender:\r\n\tsubject; bh=${BH256}; b=${B.slice(0, 40)}\r\n\t${B.slice(40)}`;
    expect(expectSame(good)).toBe(true);
    const r = parseUsualSignature(sigField(good))!;
    expect(r.sig).toMatchObject({
      domain: "bench.example",
      signedHeaders: ["from", "from", "sender", "subject"],
      signatureText: B,
      timestamp: 1796168208,
    });
    for (const odd of [
      `${good}; z=x`, // a tag it does not read
      `${good}; d=other.example`, // a duplicate
      `${good};;`, // an empty tag
      `${good}; t=1`, // a duplicate t=
      good.replace("v=1", "v=2"),
      good.replace("h=from:", "h=fr om:"), // the general h= rule decides
      good.replace("a=rsa-sha256", "a=constructor"),
      good.replace("b=", "b=\x7f"),
      good.replace("d=bench", "d=\x00bench"),
    ]) {
      expect(expectSame(odd)).toBe(false);
    }
  });

  it("answers for b= and bh= folded in any usual way, with the general parser's text and bytes", () => {
    // CRLF TAB (removed by a native replace), CRLF and spaces (Gmail-style), bare spaces, and a mix
    // (the replace leaves white space, so the general rule runs): all read in one pass.
    for (const fold of ["\r\n\t", "\r\n ", "\r\n        ", " ", "\t"]) {
      for (const mix of ["", "\r\n\t"]) {
        const b = `${B.slice(0, 40)}${fold}${B.slice(40, 100)}${mix}${B.slice(100)}`;
        const bh = `${BH256.slice(0, 10)}${mix}${BH256.slice(10, 20)}${fold}${BH256.slice(20)}`;
        const value = ` v=1; a=rsa-sha256; c=relaxed/relaxed; d=bench.example; s=sel; h=from; bh=${bh}; b=${b}`;
        expect(expectSame(value)).toBe(true);
        expect(parseUsualSignature(sigField(value))!.sig.signatureText).toBe(B);
      }
    }
  });
});
