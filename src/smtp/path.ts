import { isIPv4, isIPv6 } from "node:net";
import { checkOptionKeys } from "../options.js";

const PATH_OPTIONS = ["utf8", "allowNull", "allowPostmaster"];

/** A reverse-path or forward-path (RFC 5321 4.1.2). */
export interface SmtpPath {
  /** "local@domain" as given (quotes kept in a quoted local part); "" for the null path <>. */
  address: string;
  local: string;
  /** The domain, or the address literal with its brackets; "" for <> and <Postmaster>. */
  domain: string;
  /** A source route (<@a,@b:user@c>): accepted and ignored (RFC 5321 C). */
  route?: string[];
  /** The address has non-ASCII characters (needs SMTPUTF8, RFC 6531). */
  utf8: boolean;
}

export type PathParse = { ok: true; path: SmtpPath; rest: string } | { ok: false; reason: string };

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;

function isAtext(ch: string, utf8: boolean): boolean {
  return ATEXT.test(ch) || (utf8 && ch.charCodeAt(0) >= 0x80);
}

/** Let-dig [Ldh-str] labels, dots between; U-labels allowed with SMTPUTF8. */
export function isSmtpDomain(domain: string, utf8: boolean): boolean {
  if (domain.length === 0 || Buffer.byteLength(domain) > 255) return false;
  for (const label of domain.split(".")) {
    if (label.length === 0 || label.length > 63) return false;
    for (let i = 0; i < label.length; i++) {
      const ch = label[i]!;
      const ok = /[A-Za-z0-9]/.test(ch) || (ch === "-" && i > 0 && i < label.length - 1) || (utf8 && ch.charCodeAt(0) >= 0x80);
      if (!ok) return false;
    }
  }
  return true;
}

/** address-literal = "[" ( IPv4 / "IPv6:" IPv6 / tag ":" dcontent ) "]" */
export function isAddressLiteral(text: string): boolean {
  if (!text.startsWith("[") || !text.endsWith("]")) return false;
  const inner = text.slice(1, -1);
  if (isIPv4(inner)) return true;
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5)) && !inner.includes("%");
  const m = /^([A-Za-z0-9-]*[A-Za-z0-9]):([\x21-\x5a\x5e-\x7e]+)$/.exec(inner);
  return m !== null && !/^IPv6$/i.test(m[1]!);
}

/**
 * Parses "<path>" at the start of `text` (after "MAIL FROM:" or "RCPT TO:"), returning the rest
 * (the ESMTP parameters). `utf8` allows RFC 6531 addresses.
 */
export function parsePath(text: string, options: { utf8: boolean; allowNull: boolean; allowPostmaster?: boolean }): PathParse {
  checkOptionKeys(options, PATH_OPTIONS, "options", (k) => `options.${k}: unknown option (known: ${PATH_OPTIONS.join(", ")})`);
  if (!text.startsWith("<")) return { ok: false, reason: "the address must be in angle brackets" };
  let i = 1;
  let route: string[] | undefined;
  // A-d-l ":" (source route)
  if (text[i] === "@") {
    const colon = text.indexOf(":", i);
    const close = text.indexOf(">", i);
    if (colon < 0 || (close >= 0 && close < colon)) return { ok: false, reason: "invalid source route" };
    route = text.slice(i, colon).split(",");
    for (const hop of route) {
      if (!hop.startsWith("@") || !(isSmtpDomain(hop.slice(1), options.utf8) || isAddressLiteral(hop.slice(1)))) {
        return { ok: false, reason: `invalid source route hop ${JSON.stringify(hop)}` };
      }
    }
    i = colon + 1;
  }
  if (text[i] === ">") {
    if (route || !options.allowNull) return { ok: false, reason: "an empty path is not allowed here" };
    return { ok: true, path: { address: "", local: "", domain: "", utf8: false }, rest: text.slice(i + 1) };
  }
  // Local-part: Dot-string or Quoted-string.
  const localStart = i;
  let utf8 = false;
  if (text[i] === '"') {
    i++;
    for (;;) {
      if (i >= text.length) return { ok: false, reason: "unterminated quoted local part" };
      const ch = text[i]!;
      const code = ch.charCodeAt(0);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = text.charCodeAt(i + 1);
        if (!(next >= 32 && next <= 126)) return { ok: false, reason: "invalid quoted-pair in local part" };
        i += 2;
        continue;
      }
      if (code >= 0x80) {
        if (!options.utf8) return { ok: false, reason: "non-ASCII address without SMTPUTF8" };
        utf8 = true;
      } else if (code < 32 || code > 126) return { ok: false, reason: "invalid character in quoted local part" };
      i++;
    }
    i++;
  } else {
    let expectAtom = true;
    while (i < text.length && text[i] !== "@" && text[i] !== ">") {
      const ch = text[i]!;
      if (ch === ".") {
        if (expectAtom) return { ok: false, reason: "empty atom in local part" };
        expectAtom = true;
      } else if (isAtext(ch, options.utf8)) {
        if (ch.charCodeAt(0) >= 0x80) utf8 = true;
        expectAtom = false;
      } else {
        if (ch.charCodeAt(0) >= 0x80) return { ok: false, reason: "non-ASCII address without SMTPUTF8" };
        return { ok: false, reason: `invalid character ${JSON.stringify(ch)} in local part` };
      }
      i++;
    }
    if (expectAtom && i > localStart) return { ok: false, reason: "local part ends with a dot" };
  }
  const local = text.slice(localStart, i);
  if (local.length === 0) return { ok: false, reason: "empty local part" };
  if (Buffer.byteLength(local) > 64) return { ok: false, reason: "local part longer than 64 octets (RFC 5321 4.5.3.1.1)" };
  if (text[i] === ">" && options.allowPostmaster && /^postmaster$/i.test(local) && !route) {
    // RFC 5321 4.1.1.3: RCPT TO:<Postmaster> without a domain.
    return { ok: true, path: { address: local, local, domain: "", utf8: false }, rest: text.slice(i + 1) };
  }
  if (text[i] !== "@") return { ok: false, reason: "missing '@' and domain" };
  i++;
  const close = text.indexOf(">", i);
  if (close < 0) return { ok: false, reason: "missing '>'" };
  const domain = text.slice(i, close);
  if (domain.startsWith("[")) {
    if (!isAddressLiteral(domain)) return { ok: false, reason: `invalid address literal ${JSON.stringify(domain)}` };
  } else if (!isSmtpDomain(domain, options.utf8)) {
    if (!options.utf8 && /[^\x00-\x7f]/.test(domain)) return { ok: false, reason: "non-ASCII address without SMTPUTF8" };
    return { ok: false, reason: `invalid domain ${JSON.stringify(domain)}` };
  }
  if (/[^\x00-\x7f]/.test(domain)) utf8 = true;
  if (Buffer.byteLength(text.slice(0, close + 1)) > 256) return { ok: false, reason: "path longer than 256 octets (RFC 5321 4.5.3.1.3)" };
  const path: SmtpPath = { address: `${local}@${domain}`, local, domain, utf8 };
  if (route) path.route = route;
  return { ok: true, path, rest: text.slice(close + 1) };
}

/** Decodes RFC 3461 xtext ("+" HEX HEX escapes); undefined when malformed. */
export function decodeXtext(text: string): string | undefined {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = ch.charCodeAt(0);
    if (ch === "+") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 2;
    } else if (code >= 33 && code <= 126 && ch !== "=") {
      out += ch;
    } else return undefined;
  }
  return out;
}

/** Encodes text as xtext (for ORCPT and ENVID written by a client). */
export function encodeXtext(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : `+${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
