import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ArcResult } from "../../src/arc/verify.js";
import { arcEntry, dkimEntry, dmarcEntry, iprevEntry, spfEntry } from "../../src/authres/entries.js";
import {
  type AuthResEntry,
  AuthResError,
  type AuthResProperty,
  authservIdValue,
  formatAuthResults,
  pvalue,
  WRITTEN_KEYWORDS,
} from "../../src/authres/write.js";
import type { DkimResult } from "../../src/dkim/verify.js";
import type { DmarcResult } from "../../src/dmarc/evaluate.js";
import type { IprevResult } from "../../src/iprev/check.js";
import { commentText, foldField, stripControls, words } from "../../src/message/fold.js";
import type { SpfResult } from "../../src/spf/check.js";

// formatAuthResults writes as it validates, with character-code checks for plain ASCII (issue 19).
// This is the writer it replaced (pieces, regular expressions, forEach): both must give the same
// field, or the same error, for any entries, hostile text included.

const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const DOMAIN = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const KEYWORD = /^[A-Za-z0-9-]*[A-Za-z0-9]$/;
const quoted = (value: string) => `"${stripControls(value).replace(/(["\\])/g, "\\$1")}"`;
function bounded(text: string): string {
  const clean = stripControls(text);
  return clean.length > 256 ? `${clean.slice(0, 256)}...` : clean;
}
function keyword(value: unknown, path: string): string {
  if (typeof value !== "string") throw new AuthResError(path, `must be a string, got ${value === null ? "null" : typeof value}`);
  if (value.length > 64 || !KEYWORD.test(value))
    throw new AuthResError(path, `${JSON.stringify(value.slice(0, 80))} is not an RFC 8601 Keyword (letters, digits, inner hyphens)`);
  return value;
}
function text(value: unknown, path: string): string {
  if (typeof value !== "string") throw new AuthResError(path, `must be a string, got ${value === null ? "null" : typeof value}`);
  return value;
}
function referencePvalue(value: string): string {
  const v = stripControls(value);
  if (v !== "" && TOKEN.test(v) && !v.includes("/")) return v;
  const at = v.lastIndexOf("@");
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    if ((local === "" || (DOT_ATOM.test(local) && !local.includes("="))) && DOMAIN.test(domain)) return v;
  }
  return quoted(v);
}
function reference(authservId: string, entries: readonly AuthResEntry[]): string {
  const id = authservIdValue(authservId);
  if (!Array.isArray(entries)) throw new AuthResError("entries", "must be an array");
  if (entries.length === 0) return foldField("Authentication-Results", [`${id};`, "none"]);
  const pieces: string[] = [`${id};`];
  entries.forEach((e, i) => {
    const at = `entries[${i}]`;
    if (typeof e !== "object" || e === null) throw new AuthResError(at, "must be an object");
    const method = keyword(e.method, `${at}.method`);
    let version = "";
    if (e.version !== undefined) {
      if (!Number.isSafeInteger(e.version) || e.version < 0) throw new AuthResError(`${at}.version`, "must be a non-negative integer");
      version = `/${e.version}`;
    }
    const result = keyword(e.result, `${at}.result`);
    if (!Array.isArray(e.props)) throw new AuthResError(`${at}.props`, "must be an array");
    const props: string[] = [];
    const omitted: string[] = [];
    (e.props as readonly AuthResProperty[]).forEach((p: AuthResProperty, k: number) => {
      const pat = `${at}.props[${k}]`;
      if (typeof p !== "object" || p === null) throw new AuthResError(pat, "must be an object");
      const name = `${keyword(p.ptype, `${pat}.ptype`)}.${keyword(p.property, `${pat}.property`)}`;
      const value = text(p.value, `${pat}.value`);
      if (value.length > 512) omitted.push(`${name} omitted: ${value.length} characters`);
      else props.push(`${name}=${referencePvalue(value)}`);
    });
    const last = i === entries.length - 1;
    const unit: string[] = [`${method}${version}=${result}`];
    const comment = [e.comment === undefined ? "" : bounded(text(e.comment, `${at}.comment`)), ...omitted]
      .filter((c) => c !== "")
      .join("; ");
    if (comment !== "") {
      const w = words(commentText(comment));
      w[0] = `(${w[0] ?? ""}`;
      w[w.length - 1] += ")";
      unit.push(...w);
    }
    if (e.reason !== undefined) unit.push(`reason=${quoted(bounded(text(e.reason, `${at}.reason`)))}`);
    unit.push(...props);
    if (!last) unit[unit.length - 1] += ";";
    pieces.push(...unit);
  });
  return foldField("Authentication-Results", pieces);
}

/** The field, or the error's class, path and message. */
function outcome(f: () => string): unknown {
  try {
    return f();
  } catch (err) {
    return err instanceof AuthResError ? { error: err.path, message: err.message } : { threw: String(err) };
  }
}

// Text as mail, DNS and code give it: plain words, hostile characters, long runs.
const hostile = fc.constantFrom(
  " ",
  "\t",
  "\r\n",
  '"',
  "\\",
  "(",
  ")",
  ";",
  "=",
  "@",
  "/",
  "\u0000",
  "\u007f",
  "\u0085",
  "\u2028",
  "\u202e",
  "\ufeff",
  "é",
  "😀",
  "-",
  ".",
);
const piece = fc.oneof(
  fc.constantFrom("pass", "bench.example", "news@bench.example", "rsa-sha256", "a b", "x-y", ""),
  hostile,
  fc.string(),
);
const str = fc.oneof(
  { weight: 4, arbitrary: fc.array(piece, { maxLength: 8 }).map((p) => p.join("")) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(piece, fc.integer({ min: 1, max: 700 })).map(([p, n]) => (p || "a").repeat(n).slice(0, 700)) },
);
const kw = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("spf", "dkim", "dmarc", "pass", "fail", "header", "smtp", "d", "mailfrom", "x-y", "a1") },
  { weight: 1, arbitrary: fc.constantFrom("", "-a", "a-", "a.b", "é", "a b", "a".repeat(64), "a".repeat(65)) },
  { weight: 1, arbitrary: str },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 3) },
);
const prop = fc.oneof(
  { weight: 12, arbitrary: fc.record({ ptype: kw, property: kw, value: fc.oneof(str, fc.constantFrom(undefined, 5)) }) },
  { weight: 1, arbitrary: fc.constantFrom(null, "x") },
);
const entry = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record(
      {
        method: kw,
        version: fc.constantFrom(undefined, 0, 1, -1, 1.5, Number.MAX_SAFE_INTEGER + 2),
        result: kw,
        reason: fc.oneof(str, fc.constant(4)),
        comment: fc.oneof(str, fc.constant(null)),
        props: fc.oneof({ weight: 10, arbitrary: fc.array(prop, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.constant("props") }),
      },
      { requiredKeys: ["method", "result", "props"] },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, 7) },
);

describe("formatAuthResults writes what the pieces-and-regexes writer wrote", () => {
  it("the same field or the same error over generated entries, hostile text included", () => {
    fc.assert(
      fc.property(
        fc.array(entry as fc.Arbitrary<AuthResEntry>, { maxLength: 5 }),
        fc.constantFrom("mx.test", "a b", "x"),
        (entries, id) => {
          expect(outcome(() => formatAuthResults(id, entries))).toEqual(outcome(() => reference(id, entries)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("every keyword taken from the known set is a valid Keyword", () => {
    for (const k of WRITTEN_KEYWORDS) expect(k.length <= 64 && KEYWORD.test(k)).toBe(true);
  });

  it("holes in the entries and props arrays are skipped, as before", () => {
    const props: AuthResEntry["props"] = [];
    props[1] = { ptype: "header", property: "d", value: "example.com" };
    const entries: AuthResEntry[] = [];
    entries[1] = { method: "dkim", result: "pass", props };
    entries[3] = { method: "spf", result: "fail", reason: 'bad "x"', props: [] };
    expect(formatAuthResults("mx.test", entries)).toBe(reference("mx.test", entries));
  });

  it("pvalue gives what the regular-expression version gave", () => {
    const chars = (set: string, max: number) => fc.array(fc.constantFrom(...set), { maxLength: max }).map((cs) => cs.join(""));
    const address = fc
      .tuple(chars("a.b=_-+!/?{}~'`#$%&*^\"@ (é", 6), fc.constantFrom("@", "@@", ""), chars("a0_.-Z/@ ", 6))
      .map(([l, at, d]) => `${l}${at}${d}`);
    fc.assert(
      fc.property(fc.oneof(str, address), (v) => {
        expect(pvalue(v)).toBe(referencePvalue(v));
      }),
      { numRuns: 3000 },
    );
  });
});

// The fast paths are taken by ordinary entries: plain values, known property names, comments of
// words with single spaces put a line's worth at a time, the ";" on an entry's last piece. Entries
// such as authenticate() writes, with words of every length so that lines end at every column, and
// the same entries mutated (a hostile character, a doubled or outer space) so that the general
// paths take over: both must give the reference's bytes.
describe("formatAuthResults' fast paths give the reference's bytes for ordinary and mutated entries", () => {
  const alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  const word = fc.oneof(
    fc.string({ unit: fc.constantFrom(...`${alnum}-.:@,=`), minLength: 1, maxLength: 24 }),
    fc.constantFrom("designates", "as", "permitted", "sender", "2048-bit", "RSA", "key;", "p=reject", "dis=none", "l="),
  );
  const label = fc.string({ unit: fc.constantFrom(...`${alnum}-_`), minLength: 1, maxLength: 20 });
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
  const value = fc.oneof(
    domain,
    fc.tuple(fc.constantFrom("", "news", "a.b", "x+tag", "a=b", "first.last"), domain).map(([l, d]) => `${l}@${d}`),
    fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((n) => n.join(".")),
    fc.constantFrom("2001:db8::1", "rsa-sha256", "ed25519-sha256", "none", "quarantine", "include:_spf.example.net", "ab/+cd=="),
    word,
  );
  const names: [string, string][] = [
    ["smtp", "mailfrom"],
    ["smtp", "helo"],
    ["smtp", "remote-ip"],
    ["header", "d"],
    ["header", "i"],
    ["header", "s"],
    ["header", "a"],
    ["header", "b"],
    ["header", "from"],
    ["header", "oldest-pass"],
    ["policy", "iprev"],
    ["policy", "dmarc"],
    ["policy", "x-other"],
    ["header", "x"],
    ["body", "d"],
  ];
  const ordinary = fc.record(
    {
      method: fc.constantFrom("spf", "dkim", "dmarc", "arc", "iprev", "x-method"),
      version: fc.constantFrom(undefined, 1, 22),
      result: fc.constantFrom("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy"),
      comment: fc.array(word, { minLength: 1, maxLength: 16 }).map((w) => w.join(" ")),
      reason: fc.array(word, { minLength: 1, maxLength: 6 }).map((w) => w.join(" ")),
      props: fc.array(
        fc.tuple(fc.constantFrom(...names), value).map(([[ptype, property], v]) => ({ ptype, property, value: v })),
        { maxLength: 6 },
      ),
    },
    { requiredKeys: ["method", "result", "props"] },
  );
  // One character of a string put somewhere in it: hostile, a space (doubled or outer), or a quote.
  const mutation = fc.tuple(fc.constantFrom(" ", "  ", "(", ")", "\\", '"', "\t", "\r\n", "\u0000", "é", "\u2028", "="), fc.nat());
  function mutate(entries: AuthResEntry[], [ch, at]: [string, number]): AuthResEntry[] {
    const slots: [object, string][] = [];
    for (const e of entries) {
      if (e.comment !== undefined) slots.push([e, "comment"]);
      if (e.reason !== undefined) slots.push([e, "reason"]);
      for (const p of e.props) slots.push([p, "value"]);
    }
    if (slots.length === 0) return entries;
    const [obj, key] = slots[at % slots.length]!;
    const s = (obj as Record<string, string>)[key]!;
    const i = at % (s.length + 1);
    (obj as Record<string, string>)[key] = s.slice(0, i) + ch + s.slice(i);
    return entries;
  }
  const id = fc.string({ unit: fc.constantFrom(...`${alnum}.-`), minLength: 1, maxLength: 40 });

  it("the same bytes for entries as authenticate() writes them, and for the same mutated", () => {
    fc.assert(
      fc.property(
        id,
        fc.array(ordinary as fc.Arbitrary<AuthResEntry>, { minLength: 1, maxLength: 6 }),
        fc.option(fc.array(mutation, { minLength: 1, maxLength: 3 }), { freq: 2 }),
        (authservId, entries, mutations) => {
          for (const m of mutations ?? []) mutate(entries, m);
          expect(formatAuthResults(authservId, entries)).toBe(reference(authservId, entries));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("the same bytes for the entries of results (spfEntry, dkimEntry, dmarcEntry, arcEntry, iprevEntry)", () => {
    const ip = fc.constantFrom("203.0.113.77", "2001:db8::25", "192.0.2.1");
    const spf = fc.record({
      result: fc.constantFrom("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"),
      identity: fc.constantFrom("mailfrom", "helo"),
      domain,
      sender: fc.tuple(fc.constantFrom("news", "postmaster", "a=b"), domain).map(([l, d]) => `${l}@${d}`),
      ip,
      helo: fc.oneof(domain, fc.constant("")),
      reason: fc.array(word, { minLength: 1, maxLength: 8 }).map((w) => w.join(" ")),
      lookups: fc.constant(0),
      voidLookups: fc.constant(0),
    }) as fc.Arbitrary<SpfResult>;
    const dkim = fc.record({
      result: fc.constantFrom("pass", "fail", "neutral", "temperror", "permerror", "policy"),
      reason: fc.array(word, { minLength: 1, maxLength: 8 }).map((w) => w.join(" ")),
      domain,
      selector: label,
      identity: fc.option(
        domain.map((d) => `@${d}`),
        { nil: undefined },
      ),
      algorithm: fc.constantFrom("rsa-sha256", "ed25519-sha256", undefined),
      keyBits: fc.constantFrom(1024, 2048, 256, undefined),
      testing: fc.boolean(),
      unsignedBodyBytes: fc.option(fc.nat(100000), { nil: undefined }),
      signedHeaders: fc.constant([]),
      signature: fc.string({ unit: fc.constantFrom(...`${alnum}+/=`), maxLength: 12 }),
    }) as unknown as fc.Arbitrary<DkimResult>;
    fc.assert(
      fc.property(
        id,
        spf,
        fc.array(dkim, { maxLength: 3 }),
        domain,
        fc.option(fc.array(mutation, { minLength: 1, maxLength: 2 }), { freq: 2 }),
        (authservId, s, d, from, mutations) => {
          const entries = [
            iprevEntry({ result: "fail", ip: s.ip, reason: "no PTR record" } as IprevResult),
            spfEntry(s),
            ...d.map(dkimEntry),
            arcEntry({ result: "none", reason: "no ARC sets", instances: 0, sets: [] } as unknown as ArcResult, s.ip),
            dmarcEntry({
              result: "pass",
              reason: "aligned",
              fromDomain: from,
              disposition: "none",
              testing: false,
              policyDomain: from,
              record: { p: "reject" },
            } as unknown as DmarcResult),
          ];
          for (const m of mutations ?? []) mutate(entries, m);
          expect(formatAuthResults(authservId, entries)).toBe(reference(authservId, entries));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
