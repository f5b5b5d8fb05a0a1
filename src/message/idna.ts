import { domainToASCII } from "node:url";
import punycode from "punycode/punycode.js";

/**
 * How a reader could show a name: the characters it does not draw, and the IDNA readings of a
 * domain. One set, shared by the author-domain recovery (src/message/recover.ts), the field-name
 * matching of the header scan (src/message/scan.ts) and the border filter's authserv-id comparison
 * (src/authres/read.ts), so that they cannot disagree. Pure: `node:url` domainToASCII is the
 * platform's UTS 46 mapping (WHATWG URL "domain to ASCII", no I/O), present in every Node release
 * msgauth supports.
 */

/**
 * Characters a reader may not draw: every Default_Ignorable_Code_Point (zero-width characters, soft
 * hyphen, U+034F, the variation selectors, Hangul fillers U+115F U+1160 U+3164 U+FFA0, U+17B4/U+17B5,
 * the unassigned U+2065 and the tag characters), all format characters (Cf: bidi controls, BOM),
 * controls (Cc), separators and white space (Z, \s: NBSP, U+3000, U+2028), and the variation
 * selectors by their own property. U+16FE4 KHITAN SMALL SCRIPT FILLER is a filler Unicode does not
 * list as default-ignorable: named here, the one exception.
 */
const UNSEEN_SOURCE = "[\\p{Default_Ignorable_Code_Point}\\p{Cf}\\p{Cc}\\p{Z}\\s\\p{Variation_Selector}\\u{16FE4}]";
export const UNSEEN = new RegExp(UNSEEN_SOURCE, "u");
const UNSEEN_ALL = new RegExp(UNSEEN_SOURCE, "gu");

/** The text with every character of UNSEEN removed. */
export function withoutUnseen(text: string): string {
  return text.replace(UNSEEN_ALL, "");
}

/**
 * The text as a lenient reader compares a name: NFKC (fullwidth letters, compatibility forms), with
 * every UNSEEN character and U+FFFD (an undecodable byte) removed, lower case. Used for field names
 * and authserv-ids.
 */
export function foldName(text: string): string {
  return withoutUnseen(text.normalize("NFKC"))
    .replace(/\ufffd/g, "")
    .toLowerCase();
}

/** The UTS 46 reading of a domain (mapped, ignored characters removed, A-labels), or undefined. */
export function uts46Ascii(domain: string): string | undefined {
  let out: string;
  try {
    out = domainToASCII(domain);
  } catch {
    return undefined;
  }
  return out === "" ? undefined : out.toLowerCase().replace(/\.$/, "");
}

const A_LABEL = /^xn--/i;

/** Whether a name holds a label with the ACE prefix, in any case ("xn--", "XN--", "xN--"). */
export function hasALabel(domain: string): boolean {
  return /(?:^|\.)xn--/i.test(domain);
}

export interface ALabelReading {
  /** Every A-label is valid: it decodes to non-ASCII text that encodes back to the same label. */
  valid: boolean;
  /**
   * The names a reader could be shown for it, as ASCII: the name itself, and the name with each
   * A-label decoded (a label decoding to plain ASCII is that ASCII label: "xn--bank-" is "bank";
   * a valid one is the canonical A-label of its decoding).
   */
  readings: string[];
}

/**
 * The A-label readings of a domain name as written (RFC 5891 5.3-5.5, case-insensitive ACE prefix;
 * labels split at '.'). A label that does not decode, decodes to ASCII, or does not encode back to
 * itself is not valid: the name is then in doubt, and each reading a reader could show is returned
 * (not yet checked as names: the caller repairs or refuses each).
 */
export function aLabelReadings(ascii: string): ALabelReading {
  if (!hasALabel(ascii)) return { valid: true, readings: [ascii] };
  let valid = true;
  const decoded = ascii.split(".").map((label) => {
    if (!A_LABEL.test(label)) return label;
    let text: string;
    try {
      text = punycode.decode(label.slice(4));
    } catch {
      valid = false;
      return label;
    }
    if (/^[\x00-\x7f]*$/.test(text)) {
      valid = false; // RFC 5891 5.4: an A-label never stands for an all-ASCII label
      return text.toLowerCase();
    }
    const again = uts46Ascii(text);
    if (again === undefined || again.includes(".")) {
      valid = false;
      return label;
    }
    if (again !== label.toLowerCase()) valid = false;
    return again;
  });
  const readings = new Set([ascii, decoded.join(".")]);
  // The platform's reading of the whole name, where it has one.
  const platform = uts46Ascii(ascii);
  if (platform !== undefined) readings.add(platform);
  return { valid, readings: [...readings] };
}
