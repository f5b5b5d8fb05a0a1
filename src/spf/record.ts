import { isIPv4, isIPv6 } from "node:net";
import { expandIPv6, parseIPv4 } from "../dns/ip.js";
import { type MacroPart, parseMacroString } from "./macro.js";

export type Qualifier = "+" | "-" | "~" | "?";

export type Mechanism =
  | { type: "all" }
  | { type: "include"; domain: MacroPart[] }
  | { type: "a" | "mx"; domain: MacroPart[] | undefined; cidr4: number; cidr6: number }
  | { type: "ptr"; domain: MacroPart[] | undefined }
  | { type: "ip4" | "ip6"; network: Uint8Array; cidr: number }
  | { type: "exists"; domain: MacroPart[] };

export interface Directive {
  qualifier: Qualifier;
  mechanism: Mechanism;
  /** The term as written, for results and Received-SPF. */
  text: string;
}

export interface SpfRecord {
  directives: Directive[];
  redirect?: MacroPart[];
  exp?: MacroPart[];
  /** An `all` mechanism anywhere means redirect is ignored (RFC 7208 6.1). */
  hasAll: boolean;
}

export type RecordParse = { ok: true; record: SpfRecord } | { ok: false; reason: string };

/** True when a TXT record is an SPF record: "v=spf1" then SP or the end (RFC 7208 4.5). */
export function isSpfRecord(txt: string): boolean {
  // Compared character by character (c | 0x20 folds only A-Z onto a-z here), as /^v=spf1(?: |$)/i
  // decides (test/spf/fast-paths.test.ts): it runs on every TXT record of every name looked up.
  return (
    txt.length >= 6 &&
    (txt.charCodeAt(0) | 0x20) === 0x76 &&
    txt.charCodeAt(1) === 0x3d &&
    (txt.charCodeAt(2) | 0x20) === 0x73 &&
    (txt.charCodeAt(3) | 0x20) === 0x70 &&
    (txt.charCodeAt(4) | 0x20) === 0x66 &&
    txt.charCodeAt(5) === 0x31 &&
    (txt.length === 6 || txt.charCodeAt(6) === 0x20)
  );
}

const DNS_MECHANISMS = new Set(["include", "a", "mx", "ptr", "exists"]);
export function countsLookup(m: Mechanism): boolean {
  return DNS_MECHANISMS.has(m.type);
}

function isAlnum(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9");
}

/**
 * toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 * (RFC 7208 7.1): not all digits, and no leading or trailing '-'.
 */
function isTopLabel(label: string): boolean {
  if (label.length === 0) return false;
  for (const c of label) if (!isAlnum(c) && c !== "-") return false;
  if (label.includes("-")) return isAlnum(label[0]!) && isAlnum(label[label.length - 1]!);
  return /[A-Za-z]/.test(label);
}

/** domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
function parseDomainSpec(text: string, what: string): MacroPart[] | string {
  if (text === "") return `${what}: empty domain-spec`;
  const parsed = parseMacroString(text);
  if (!parsed.ok) return `${what}: ${parsed.reason}`;
  if (parsed.endsWithExpand) return parsed.parts;
  const last = parsed.parts[parsed.parts.length - 1]!;
  let tail = last.kind === "literal" ? last.text : "";
  if (tail.endsWith(".")) tail = tail.slice(0, -1);
  const dot = tail.lastIndexOf(".");
  if (dot < 0) return `${what}: domain-spec must end with '.' and a top label`;
  const top = tail.slice(dot + 1);
  if (!isTopLabel(top)) return `${what}: invalid top label ${JSON.stringify(top)}`;
  return parsed.parts;
}

/** ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT), value 0-32; ip6 likewise up to 128. */
function parseCidr(text: string, max: number): number | undefined {
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= max ? n : undefined;
}

const ALL_DIGITS = /^[0-9]+$/;

/**
 * Splits "domain-spec/cidr4//cidr6" from the argument of a and mx. Only a trailing run of digits after
 * '/' or '//' is a CIDR length: a domain-spec may itself hold '/' ("a:foo:bar/baz.example.com").
 */
function splitDualCidr(arg: string): { domain: string; cidr4: number; cidr6: number } | string {
  let domain = arg;
  let cidr4 = 32;
  let cidr6 = 128;
  const dbl = domain.lastIndexOf("//");
  if (dbl >= 0 && ALL_DIGITS.test(domain.slice(dbl + 2))) {
    const v6 = parseCidr(domain.slice(dbl + 2), 128);
    if (v6 === undefined) return `invalid ip6-cidr-length in ${JSON.stringify(arg)}`;
    cidr6 = v6;
    domain = domain.slice(0, dbl);
  }
  const slash = domain.lastIndexOf("/");
  if (slash >= 0 && ALL_DIGITS.test(domain.slice(slash + 1))) {
    const v4 = parseCidr(domain.slice(slash + 1), 32);
    if (v4 === undefined) return `invalid ip4-cidr-length in ${JSON.stringify(arg)}`;
    cidr4 = v4;
    domain = domain.slice(0, slash);
  }
  return { domain, cidr4, cidr6 };
}

function parseMechanism(name: string, sep: string | undefined, arg: string, term: string): Mechanism | string {
  const hasArg = sep === ":";
  switch (name) {
    case "all":
      return sep === undefined ? { type: "all" } : `'all' takes no argument: ${term}`;
    case "include":
    case "exists": {
      if (!hasArg) return `'${name}' needs ':domain': ${term}`;
      const domain = parseDomainSpec(arg, term);
      return typeof domain === "string" ? domain : { type: name, domain };
    }
    case "a":
    case "mx": {
      if (sep === undefined) return { type: name, domain: undefined, cidr4: 32, cidr6: 128 };
      const split = splitDualCidr(sep === "/" ? `/${arg}` : arg);
      if (typeof split === "string") return split;
      if (sep === "/" && split.domain !== "") return `invalid CIDR length: ${term}`;
      if (sep === "/" || split.domain === "") {
        if (hasArg) return `'${name}:' with an empty domain-spec: ${term}`;
        return { type: name, domain: undefined, cidr4: split.cidr4, cidr6: split.cidr6 };
      }
      const domain = parseDomainSpec(split.domain, term);
      return typeof domain === "string" ? domain : { type: name, domain, cidr4: split.cidr4, cidr6: split.cidr6 };
    }
    case "ptr": {
      if (sep === undefined) return { type: "ptr", domain: undefined };
      if (!hasArg) return `'ptr' takes no CIDR length: ${term}`;
      const domain = parseDomainSpec(arg, term);
      return typeof domain === "string" ? domain : { type: "ptr", domain };
    }
    case "ip4":
    case "ip6": {
      if (!hasArg) return `'${name}' needs ':network': ${term}`;
      const slash = arg.indexOf("/");
      const addr = slash >= 0 ? arg.slice(0, slash) : arg;
      const max = name === "ip4" ? 32 : 128;
      const cidr = slash >= 0 ? parseCidr(arg.slice(slash + 1), max) : max;
      if (cidr === undefined) return `invalid CIDR length: ${term}`;
      if (name === "ip4") {
        if (!isIPv4(addr)) return `invalid IPv4 network: ${term}`;
        return { type: "ip4", network: parseIPv4(addr)!, cidr };
      }
      if (!isIPv6(addr) || addr.includes("%")) return `invalid IPv6 network: ${term}`;
      return { type: "ip6", network: expandIPv6(addr)!, cidr };
    }
    default:
      return `unknown mechanism: ${term}`;
  }
}

/**
 * Parses an SPF record (RFC 7208 4.6, 12). Any syntax error anywhere is reported, even after a term
 * that would match (4.6: "syntax errors anywhere in the record MUST be detected").
 */
export function parseSpfRecord(text: string): RecordParse {
  // The same text always parses the same; records repeat across messages (includes of big senders).
  const cached = parsedRecords.get(text);
  if (cached) return cached;
  const parsed = parseUncached(text);
  if (parsedRecords.size >= 1000) parsedRecords.delete(parsedRecords.keys().next().value as string);
  parsedRecords.set(text, deepFreeze(parsed));
  return parsed;
}

/** Cached results are shared: frozen, so no caller can change what the next one gets. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const parsedRecords = new Map<string, RecordParse>();

function parseUncached(text: string): RecordParse {
  if (!isSpfRecord(text)) return { ok: false, reason: "not an SPF record" };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7e || (code < 0x20 && code !== 0x09)) {
      return { ok: false, reason: `character ${JSON.stringify(text[i])} at ${i} is not allowed in an SPF record` };
    }
  }
  const record: SpfRecord = { directives: [], hasAll: false };
  // Terms are separated by 1*SP only (4.6.1); any other white space is a syntax error.
  const terms = text.slice(6).split(" ");
  for (const term of terms) {
    if (term === "") continue;
    // A modifier is name "=" ...; a name is ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    const modifier = /^([A-Za-z][A-Za-z0-9\-_.]*)=/.exec(term);
    if (modifier) {
      const name = modifier[1]!.toLowerCase();
      const value = term.slice(modifier[0].length);
      if (name === "redirect" || name === "exp") {
        if (record[name] !== undefined) return { ok: false, reason: `'${name}' appears twice (RFC 7208 6)` };
        const domain = parseDomainSpec(value, term);
        if (typeof domain === "string") return { ok: false, reason: domain };
        record[name] = domain;
      } else {
        // Unknown modifiers are ignored, but must be valid macro-strings (6, A/3).
        const parsed = parseMacroString(value);
        if (!parsed.ok) return { ok: false, reason: `${term}: ${parsed.reason}` };
      }
      continue;
    }
    let qualifier: Qualifier = "+";
    let rest = term;
    if ("+-~?".includes(rest[0]!)) {
      qualifier = rest[0] as Qualifier;
      rest = rest.slice(1);
    }
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:([:/])(.*))?$/.exec(rest);
    if (!m) return { ok: false, reason: `invalid term: ${term}` };
    const mech = parseMechanism(m[1]!.toLowerCase(), m[2], m[3] ?? "", term);
    if (typeof mech === "string") return { ok: false, reason: mech };
    if (mech.type === "all") record.hasAll = true;
    record.directives.push({ qualifier, mechanism: mech, text: term });
  }
  return { ok: true, record };
}
