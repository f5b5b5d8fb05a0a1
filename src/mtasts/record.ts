import { type GuardOptions, guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";

/** A parsed `_mta-sts` TXT record (RFC 8461 3.1). */
export interface StsRecord {
  /** The policy instance id: 1 to 32 letters and digits. */
  id: string;
  /** Fields this version does not know, first occurrence of each (RFC 8461 3.2: unknown fields are ignored). */
  extensions: Record<string, string>;
}

export type StsRecordParse = { ok: true; record: StsRecord } | { ok: false; reason: string; position: number };

/** What DNS says about a domain's MTA-STS record. Only `found` leads to a policy fetch. */
export type StsDiscovery =
  | { kind: "found"; record: StsRecord; text: string }
  /** No record, several records, or a record that does not parse: the domain has no available policy (RFC 8461 3.1). */
  | { kind: "none"; reason: string }
  /** The lookup failed (timeout, SERVFAIL): nothing is known. */
  | { kind: "temperror"; reason: string };

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isWsp = (c: number) => c === 0x20 || c === 0x09;

/**
 * Scans a `key=value; key=value` TXT record whose first field must be `version` (RFC 8461 3.1 and
 * RFC 8460 3 share this grammar): `field-delim = *WSP ";" *WSP`, names of 1-32 of ALPHA / DIGIT / "_"
 * / "-" / "." starting with a letter or digit, values of %x21-3A / %x3C / %x3E-7E. Linear, no regex.
 * A name in `listValues` has a value of its own grammar that may hold white space and commas (RFC
 * 8460 3: `tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)`): it runs to the next ";"
 * or the end, trailing WSP excluded, may be empty, and is checked by the caller.
 * Returns the fields in order with the position of each value, or the position of the first byte
 * that breaks the grammar.
 */
export function scanTagRecord(
  text: string,
  version: string,
  listValues: readonly string[] = [],
): { ok: true; fields: Array<[name: string, value: string, position: number]> } | { ok: false; reason: string; position: number } {
  if (!text.startsWith(version)) return { ok: false, reason: `the record does not begin with "${version}"`, position: 0 };
  const fields: Array<[name: string, value: string, position: number]> = [];
  let i = version.length;
  const n = text.length;
  for (;;) {
    // field-delim, or the end
    let j = i;
    while (j < n && isWsp(text.charCodeAt(j))) j++;
    if (j === n) {
      if (j !== i) return { ok: false, reason: "trailing white space without a delimiter", position: i };
      return { ok: true, fields };
    }
    if (text.charCodeAt(j) !== 0x3b) return { ok: false, reason: 'expected ";"', position: j };
    j++;
    while (j < n && isWsp(text.charCodeAt(j))) j++;
    if (j === n) return { ok: true, fields }; // one trailing delimiter is allowed
    // name
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
    if (listValues.includes(name)) {
      while (j < n && text.charCodeAt(j) !== 0x3b) j++;
      let end = j;
      while (end > valueStart && isWsp(text.charCodeAt(end - 1))) end--;
      fields.push([name, text.slice(valueStart, end), valueStart]);
      i = end;
      continue;
    }
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c >= 0x21 && c <= 0x7e && c !== 0x3b && c !== 0x3d) j++;
      else break;
    }
    if (j === valueStart) return { ok: false, reason: `${name} has an empty value`, position: j };
    fields.push([name, text.slice(valueStart, j), valueStart]);
    i = j;
  }
}

/**
 * Parses an `_mta-sts` TXT record strictly (RFC 8461 3.1): `v=STSv1` first, an `id` of 1-32 letters and
 * digits, extension fields kept but otherwise ignored; a repeated field keeps its first value (RFC 8461 3.2).
 */
export function parseStsRecord(text: string): StsRecordParse {
  if (typeof text !== "string") return { ok: false, reason: "not a string", position: 0 };
  for (let k = 0; k < text.length; k++) {
    if (text.charCodeAt(k) > 0x7e) return { ok: false, reason: "the record must be US-ASCII", position: k };
  }
  const scanned = scanTagRecord(text, "v=STSv1");
  if (!scanned.ok) return scanned;
  let id: string | undefined;
  const extensions: Record<string, string> = Object.create(null); // keyed by input: no prototype
  for (const [name, value] of scanned.fields) {
    if (name === "id") {
      if (id !== undefined) continue;
      if (value.length > 32) return { ok: false, reason: "id is longer than 32 characters", position: text.indexOf(value) };
      for (let k = 0; k < value.length; k++) {
        if (!isAlnum(value.charCodeAt(k)))
          return { ok: false, reason: "id must be letters and digits only", position: text.indexOf(value) + k };
      }
      id = value;
    } else if (name !== "v" && !Object.hasOwn(extensions, name)) {
      extensions[name] = value;
    }
  }
  if (id === undefined) return { ok: false, reason: "the record has no id", position: text.length };
  return { ok: true, record: { id, extensions } };
}

/** True when a TXT string is meant as an MTA-STS record: it begins with "v=STSv1" then ";" (after optional WSP). */
function claimsSts(text: string): boolean {
  if (!text.startsWith("v=STSv1")) return false;
  let i = 7;
  while (i < text.length && isWsp(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 0x3b;
}

/**
 * Looks up `_mta-sts.<domain>` (RFC 8461 3.1). Records that do not begin with `v=STSv1;` are discarded;
 * if the number left is not one, or it does not parse, the domain has no available policy. CNAMEs are
 * followed by the resolver. The answer is validated and waited for at most `timeoutMs` (10 s) or
 * until `signal` fires (a temperror either way).
 */
export async function discoverStsRecord(domain: string, resolver: Resolver, options: GuardOptions = {}): Promise<StsDiscovery> {
  // The guard validates the answer and bounds the wait; a throw or garbage is an error answer.
  const answer = await guardResolver(resolver, options).txt(`_mta-sts.${domain}`);
  if (answer.kind === "error") return { kind: "temperror", reason: answer.reason };
  if (answer.kind !== "ok") return { kind: "none", reason: `no _mta-sts record (${answer.kind})` };
  const candidates = answer.records.filter(claimsSts);
  if (candidates.length === 0) return { kind: "none", reason: "no TXT record begins with v=STSv1;" };
  if (candidates.length > 1) return { kind: "none", reason: `${candidates.length} MTA-STS records: the domain has no available policy` };
  const text = candidates[0]!;
  const parsed = parseStsRecord(text);
  if (!parsed.ok) return { kind: "none", reason: `invalid MTA-STS record at ${parsed.position}: ${parsed.reason}` };
  return { kind: "found", record: parsed.record, text };
}
