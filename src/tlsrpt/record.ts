import { type GuardOptions, guardResolver } from "../dns/guard.js";
import type { Resolver } from "../dns/types.js";
import { scanTagRecord } from "../mtasts/record.js";

/** One reporting destination from `rua=` (RFC 8460 3): mail to an address, or an HTTPS POST. */
export type TlsRptDestination = { scheme: "mailto"; uri: string; address: string } | { scheme: "https"; uri: string; url: string };

/** A parsed `_smtp._tls` record. */
export interface TlsRptRecord {
  /** Destinations with a supported scheme, in order. */
  rua: TlsRptDestination[];
  /** URIs of other schemes, kept for diagnostics and never used. */
  unsupported: string[];
  /** Unknown fields, first occurrence of each (ignored, RFC 8460 3). */
  extensions: Record<string, string>;
}

export type TlsRptRecordParse = { ok: true; record: TlsRptRecord } | { ok: false; reason: string; position: number };

export type TlsRptDiscovery =
  | { kind: "found"; record: TlsRptRecord; text: string }
  /** No record, several, or an invalid one: the domain does not implement TLSRPT (RFC 8460 3). */
  | { kind: "none"; reason: string }
  | { kind: "temperror"; reason: string };

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
export function parseTlsRptRecord(text: string): TlsRptRecordParse {
  if (typeof text !== "string") return { ok: false, reason: "not a string", position: 0 };
  // rua= holds URIs separated by commas and white space: its value runs to the next ";".
  const scanned = scanTagRecord(text, VERSION, ["rua"]);
  if (!scanned.ok) return scanned;
  let ruaText: string | undefined;
  let ruaPos = 0;
  const extensions: Record<string, string> = Object.create(null); // keyed by input: no prototype
  for (const [name, value, position] of scanned.fields) {
    if (name === "rua") {
      if (ruaText === undefined) {
        ruaText = value;
        ruaPos = position;
      }
    } else if (name !== "v" && !Object.hasOwn(extensions, name)) extensions[name] = value;
  }
  if (ruaText === undefined) return { ok: false, reason: "the record has no rua", position: text.length };
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

/** True when a TXT string begins with "v=TLSRPTv1" then ";" (after optional WSP). */
function claimsTlsRpt(text: string): boolean {
  if (!text.startsWith(VERSION)) return false;
  let i = VERSION.length;
  while (i < text.length && isWsp(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 0x3b;
}

/**
 * Looks up `_smtp._tls.<domain>` (RFC 8460 3): records not beginning with `v=TLSRPTv1;` are discarded;
 * if the number left is not one, or it does not parse, the domain does not implement TLSRPT. The
 * answer is validated and waited for at most `timeoutMs` (10 s) or until `signal` fires.
 */
export async function discoverTlsRpt(domain: string, resolver: Resolver, options: GuardOptions = {}): Promise<TlsRptDiscovery> {
  // The guard validates the answer and bounds the wait; a throw or garbage is an error answer.
  const answer = await guardResolver(resolver, options).txt(`_smtp._tls.${domain}`);
  if (answer.kind === "error") return { kind: "temperror", reason: answer.reason };
  if (answer.kind !== "ok") return { kind: "none", reason: `no _smtp._tls record (${answer.kind})` };
  const candidates = answer.records.filter(claimsTlsRpt);
  if (candidates.length !== 1)
    return {
      kind: "none",
      reason: candidates.length === 0 ? "no TXT record begins with v=TLSRPTv1;" : `${candidates.length} TLSRPT records`,
    };
  const text = candidates[0]!;
  const parsed = parseTlsRptRecord(text);
  if (!parsed.ok) return { kind: "none", reason: `invalid TLSRPT record at ${parsed.position}: ${parsed.reason}` };
  return { kind: "found", record: parsed.record, text };
}
