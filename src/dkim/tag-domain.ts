import { asciiDomain } from "../message/address.js";

/** sub-domain *("." sub-domain) (RFC 5321 Domain), the grammar of d= and s= (RFC 6376 3.5). */
const SUBDOMAINS = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

/** Only ASCII (one RegExp for every call: a literal in the function made one a call). */
const ASCII = /^[\x00-\x7f]*$/;

/**
 * A d= or s= value as read from the field (bytes as latin1 text) in the A-label form used for DNS
 * and comparisons, or undefined when it is not a domain name.
 *
 * RFC 6376 3.5 says internationalized names in d= and s= are A-labels; RFC 8616 4 (which updates
 * it) says that in internationalized headers (RFC 6532) they SHOULD be U-labels, and the ARC
 * protocol (4.1.4) allows U-labels in d= and s=. Both forms name the same DNS name, and the
 * signature covers the bytes as written, so a U-label value is converted (RFC 5891), never refused.
 * ASCII values keep their case (selectors are matched case-insensitively by DNS anyway).
 */
export function tagDomain(latin1Value: string, { lowerCase }: { lowerCase: boolean }): string | undefined {
  let v = latin1Value;
  if (!ASCII.test(v)) {
    const utf8 = Buffer.from(v, "latin1").toString("utf8");
    if (utf8.includes("\uFFFD")) return undefined; // not UTF-8
    v = asciiDomain(utf8) ?? "";
  } else if (lowerCase) v = v.toLowerCase();
  if (v.endsWith(".")) v = v.slice(0, -1);
  return v.length <= 253 && SUBDOMAINS.test(v) ? v : undefined;
}

/**
 * A domain given to a signer (d=, the domain of i=, s=) in A-labels, as RFC 6376 3.5 requires;
 * undefined when it cannot be a DNS name.
 */
export function signingName(name: string): string | undefined {
  const ascii = asciiDomain(name);
  return ascii !== undefined && SUBDOMAINS.test(ascii) ? ascii : undefined;
}
