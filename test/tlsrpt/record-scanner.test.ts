/**
 * parseTlsRptRecord uses the shared tag-record scanner (scanTagRecord in src/mtasts/record.ts, with
 * rua= as a list value) instead of its own copy of it. This file keeps the parser as it was before
 * (oldParseTlsRptRecord, below, verbatim from src/tlsrpt/record.ts at 04caeda) and checks on random and
 * mutated records that the two agree exactly: the same records accepted, the same reasons and
 * positions for the refused ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStsRecord } from "../../src/mtasts/record.js";
import { parseTlsRptRecord, type TlsRptDestination, type TlsRptRecordParse } from "../../src/tlsrpt/record.js";

// ---- the parser before the change, kept as the oracle ----
const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isWsp = (c: number) => c === 0x20 || c === 0x09;
const VERSION = "v=TLSRPTv1";

/** A mailto: URI's single address (RFC 6068), percent-decoded; undefined when it is not one plain address. */
function mailtoAddress(uri: string): string | undefined {
  const rest = uri.slice(7);
  const q = rest.indexOf("?");
  let address: string;
  try {
    address = decodeURIComponent(q < 0 ? rest : rest.slice(0, q));
  } catch {
    return undefined;
  }
  const at = address.lastIndexOf("@");
  if (at < 1 || at === address.length - 1 || address.includes(",")) return undefined;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e) return undefined;
  }
  return address;
}

/** URI = scheme ":" hier-part ... (RFC 3986); here: a scheme, a colon, and visible characters. */
function isUri(text: string): boolean {
  const colon = text.indexOf(":");
  if (colon < 1 || colon === text.length - 1) return false;
  if (!/^[A-Za-z][A-Za-z0-9+.-]*$/.test(text.slice(0, colon))) return false;
  for (let i = colon + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // RFC 8460 3: commas, exclamation points and semicolons MUST be percent-encoded in a URI.
    if (c <= 0x20 || c >= 0x7f || c === 0x21 || c === 0x2c || c === 0x3b || c === 0x22 || c === 0x3c || c === 0x3e) return false;
  }
  return true;
}

/**
 * Parses a `_smtp._tls` TXT record strictly (RFC 8460 3): `v=TLSRPTv1` first, a required `rua=` of
 * comma-separated URIs, unknown fields kept and ignored, a repeated field keeping its first value.
 * mailto: and https: destinations are used; URIs of other schemes are listed as unsupported.
 */
function oldParseTlsRptRecord(text: string): TlsRptRecordParse {
  if (typeof text !== "string") return { ok: false, reason: "not a string", position: 0 };
  if (!text.startsWith(VERSION)) return { ok: false, reason: `the record does not begin with "${VERSION}"`, position: 0 };
  const n = text.length;
  let i = VERSION.length;
  let ruaText: string | undefined;
  let ruaPos = 0;
  const extensions: Record<string, string> = Object.create(null); // keyed by input: no prototype
  for (;;) {
    let j = i;
    while (j < n && isWsp(text.charCodeAt(j))) j++;
    if (j === n) {
      if (j !== i) return { ok: false, reason: "trailing white space without a delimiter", position: i };
      break;
    }
    if (text.charCodeAt(j) !== 0x3b) return { ok: false, reason: 'expected ";"', position: j };
    j++;
    while (j < n && isWsp(text.charCodeAt(j))) j++;
    if (j === n) break;
    const nameStart = j;
    if (!isAlnum(text.charCodeAt(j))) return { ok: false, reason: "a field name must begin with a letter or digit", position: j };
    j++;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (isAlnum(c) || c === 0x5f || c === 0x2d || c === 0x2e) j++;
      else break;
    }
    if (j - nameStart > 32) return { ok: false, reason: "a field name is longer than 32 characters", position: nameStart };
    const name = text.slice(nameStart, j);
    if (text.charCodeAt(j) !== 0x3d) return { ok: false, reason: `expected "=" after ${name}`, position: j };
    j++;
    const valueStart = j;
    if (name === "rua") {
      // tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri): runs to the next ";" or the end, trailing WSP excluded
      while (j < n && text.charCodeAt(j) !== 0x3b) j++;
      let end = j;
      while (end > valueStart && isWsp(text.charCodeAt(end - 1))) end--;
      if (ruaText === undefined) {
        ruaText = text.slice(valueStart, end);
        ruaPos = valueStart;
      }
      i = end;
      continue;
    }
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c >= 0x21 && c <= 0x7e && c !== 0x3b && c !== 0x3d) j++;
      else break;
    }
    if (j === valueStart) return { ok: false, reason: `${name} has an empty value`, position: j };
    if (name !== "v" && !Object.hasOwn(extensions, name)) extensions[name] = text.slice(valueStart, j);
    i = j;
  }
  if (ruaText === undefined) return { ok: false, reason: "the record has no rua", position: n };
  const rua: TlsRptDestination[] = [];
  const unsupported: string[] = [];
  let pos = ruaPos;
  for (const raw of ruaText.split(",")) {
    const uri = raw.replace(/^[ \t]+|[ \t]+$/g, "");
    if (!isUri(uri))
      return { ok: false, reason: `rua: "${uri.slice(0, 80)}" is not a URI (",", "!" and ";" must be percent-encoded)`, position: pos };
    const scheme = uri.slice(0, uri.indexOf(":")).toLowerCase();
    if (scheme === "mailto") {
      const address = mailtoAddress(uri);
      if (!address) return { ok: false, reason: `rua: "${uri.slice(0, 80)}" is not a mailto: URI with one address`, position: pos };
      rua.push({ scheme: "mailto", uri, address });
    } else if (scheme === "https") {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        return { ok: false, reason: `rua: "${uri.slice(0, 80)}" is not an https: URL`, position: pos };
      }
      rua.push({ scheme: "https", uri, url: url.href });
    } else unsupported.push(uri);
    pos += raw.length + 1;
  }
  return { ok: true, record: { rua, unsupported, extensions } };
}

// ---- end of the old parser ----

const WSP = fc.constantFrom("", "", " ", "\t", "  ", " \t");
const GOOD_URIS = [
  "mailto:a@example.com",
  "mailto:tls%2Breports@example.net?subject=x",
  "https://r.example.net/v1/tlsrpt",
  "http://insecure.example/x",
  "ftp://x.example/y",
];
const BAD_URIS = [
  "mailto:a%2Cb@example.com",
  "mailto:@example.com",
  "https://",
  "reports@example.com",
  "mailto:a@example.com!10m",
  "mailto:é@example.com",
  "",
];
const uriList = (uris: fc.Arbitrary<string>) =>
  fc.array(fc.tuple(uris, WSP, WSP), { minLength: 1, maxLength: 4 }).map((parts) => parts.map(([u, a, b]) => `${a}${u}${b}`).join(","));
const anyUri = fc.oneof({ arbitrary: fc.constantFrom(...GOOD_URIS), weight: 8 }, { arbitrary: fc.constantFrom(...BAD_URIS), weight: 1 });
const NAMES = ["v", "ext", "RUA", "a_b.c-d", "x".repeat(32), "x".repeat(33), "_bad", "9z", ""];
const plainValue = fc.string({ unit: fc.constantFrom("a", "1", "=", ";", ",", " ", "!", "~", "é", "\t", "%"), maxLength: 8 });
const goodValue = fc.string({ unit: fc.constantFrom("a", "1", ",", "!", "~", "%", ":"), minLength: 1, maxLength: 8 });
const field = fc.oneof(
  { arbitrary: uriList(anyUri).map((v) => `rua=${v}`), weight: 4 },
  { arbitrary: goodValue.map((v) => `ext=${v}`), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom(...NAMES), fc.oneof(uriList(anyUri), plainValue)).map(([n, v]) => `${n}=${v}`), weight: 1 },
);
/** Records of the right shape, with and without the version, the trailing delimiter, white space. */
const record = fc
  .tuple(
    fc.constantFrom("v=TLSRPTv1", "v=TLSRPTv1", "v=TLSRPTv1", "v=TLSRPTv2", "v=tlsrptv1", ""),
    fc.array(fc.tuple(WSP, WSP, field), { maxLength: 5 }),
    fc.constantFrom("", "", ";", "; ", " "),
  )
  .map(([v, fields, end]) => `${v}${fields.map(([a, b, f]) => `${a};${b}${f}`).join("")}${end}`);
/** A record with a few characters inserted, deleted or replaced anywhere. */
const mutated = fc
  .tuple(
    record,
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("insert", "delete", "replace"),
        fc.constantFrom(";", "=", ",", " ", "\t", "r", "a", "é", "\u0000", "!"),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([text, edits]) => {
    let t = text;
    for (const [at, kind, c] of edits) {
      const i = t.length === 0 ? 0 : at % (t.length + 1);
      if (kind === "insert") t = t.slice(0, i) + c + t.slice(i);
      else if (kind === "delete") t = t.slice(0, i) + t.slice(i + 1);
      else t = t.slice(0, i) + c + t.slice(i + 1);
    }
    return t;
  });

describe("parseTlsRptRecord on the shared scanner agrees with its old own scanner", () => {
  const agree = (text: string): void => {
    expect(parseTlsRptRecord(text)).toEqual(oldParseTlsRptRecord(text));
  };

  it("on generated records (most of them valid)", () => {
    fc.assert(fc.property(record, agree), { numRuns: 3000 });
  });
  it("on mutated records", () => {
    fc.assert(fc.property(mutated, agree), { numRuns: 3000 });
  });
  it("on any text after the version, and on any text at all", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        agree(`v=TLSRPTv1;${s}`);
        agree(`v=TLSRPTv1; rua=${s}`);
        agree(s);
      }),
      { numRuns: 2000 },
    );
  });
  it("the properties can see a difference: both sides are exercised", () => {
    // The generators reach accepted records, refusals at the scanner and refusals of a rua URI.
    const samples = fc.sample(fc.oneof(record, mutated), { numRuns: 2000, seed: 19 }).map(oldParseTlsRptRecord);
    expect(samples.filter((r) => r.ok && r.record.rua.length > 0).length).toBeGreaterThan(50);
    expect(samples.some((r) => !r.ok && r.reason.startsWith("rua:"))).toBe(true);
    expect(samples.some((r) => !r.ok && /expected|empty value|trailing|begin/.test(r.reason))).toBe(true);
  });
  it("named shapes: rua with white space and commas, an empty rua, a repeated rua, rua last with trailing white space", () => {
    for (const text of [
      "v=TLSRPTv1; rua=mailto:a@example.com , https://r.example.net/x ;ext=1",
      "v=TLSRPTv1; rua=;",
      "v=TLSRPTv1; rua=",
      "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
      "v=TLSRPTv1; rua=mailto:b@example.com ",
      "v=TLSRPTv1; rua=mailto:a@example.com;v=2;ext=a;ext=b",
      "v=TLSRPTv1; rua=mailto:a@example.com=x;",
      "v=TLSRPTv1 ;rua=mailto:a@example.com;;",
    ])
      agree(text);
  });
});

describe("scanTagRecord with a list value leaves MTA-STS records as they were", () => {
  it("a field named rua in an MTA-STS record keeps the plain value grammar", () => {
    expect(parseStsRecord("v=STSv1; id=1; rua=a b")).toMatchObject({ ok: false, reason: 'expected ";"' });
    expect(parseStsRecord("v=STSv1; id=1; rua=a,b")).toMatchObject({ ok: true, record: { extensions: { rua: "a,b" } } });
  });
});
