import { asciiDomain } from "./address.js";
import { decodeEncodedWords } from "./encoded-word.js";
import { aLabelReadings, UNSEEN, uts46Ascii, withoutUnseen } from "./idna.js";

/**
 * The lenient second pass for author domains. The strict parser (parseAddressList) decides what an
 * address *is*; these functions answer a different question, asked only when the strict answer is
 * not usable: which domains could a mail reader *show* for this text? A reader that meets a broken
 * From field still displays `ceo@bank.example` from `CEO <ceo@bank.example` or `ceo@bank.example.`,
 * so DMARC must judge bank.example rather than give up. Every function here is linear in its input
 * and never throws.
 */

/**
 * Characters that cannot be part of a domain name once NFKC is applied: controls, invisible format
 * characters (zero-width space, bidi overrides, soft hyphen), white space such as NBSP, U+FFFD from
 * undecodable bytes, symbols and punctuation, and every character a reader does not draw though it
 * is a letter or a mark (src/message/idna.ts UNSEEN: U+034F, variation selectors, Hangul fillers,
 * U+17B4). A reader may drop them, stop at them, or show them beside a domain that looks whole.
 */
const JUNK_SOURCE = /[^\p{L}\p{N}\p{M}._-]/u;
function isJunk(c: string): boolean {
  return JUNK_SOURCE.test(c) || UNSEEN.test(c);
}
/** Index of the first junk character (by code point), or -1. */
function firstJunk(text: string): number {
  let i = 0;
  for (const c of text) {
    if (isJunk(c)) return i;
    i += c.length;
  }
  return -1;
}
function withoutJunk(text: string): string {
  return withoutUnseen(text).replace(/[^\p{L}\p{N}\p{M}._-]/gu, "");
}
/** Ideographic and fullwidth full stops: label separators in IDNA (RFC 3490 3.1). */
const IDEOGRAPHIC_DOTS = /[\u3002\uff0e\uff61]/g;

/**
 * Space and tab. A CR or LF left in an unfolded field is not white space here but a character a
 * reader may break the line at or drop ("ceo@ba<CR>nk.example"): junk inside the domain run, which
 * readerDomains reads both ways (cut there, and removed).
 */
function isWsp(c: string): boolean {
  return c === " " || c === "\t";
}

/**
 * What may stand between an '@' and the domain a reader shows: white space, controls, invisible
 * characters, and ASCII punctuation or quoting (`ceo@"bank.example"`, `ceo@<bank.example>`,
 * `ceo@\\bank.example`, `ceo@:bank.example`). Not another '@', and not a dot (repair drops those).
 */
function beforeDomain(c: string): boolean {
  if (c === "@" || c === ".") return false;
  return !inDomainRun(c) || isJunk(c);
}

/**
 * A character a recovered domain runs through: LDH, '.', '_', C0 controls and DEL, and anything
 * non-ASCII (letters, or junk that readerDomains cuts at or drops). ASCII specials and space end it.
 */
function inDomainRun(c: string): boolean {
  const code = c.charCodeAt(0);
  if (isWsp(c)) return false;
  if (code >= 0x80 || code < 0x20 || code === 0x7f) return true;
  return /[A-Za-z0-9._-]/.test(c);
}

/** An all-digit top label: an IPv4 address or a number, never a domain name (RFC 3696 2). Exported for tests. */
export function numericTop(domain: string): boolean {
  // /(?:^|\.)[0-9]+$/, by character code.
  let i = domain.length - 1;
  while (i >= 0 && domain.charCodeAt(i) >= 0x30 && domain.charCodeAt(i) <= 0x39) i--;
  return i < domain.length - 1 && (i < 0 || domain.charCodeAt(i) === 0x2e);
}

/**
 * A plain ASCII name with no A-label: /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/ with no label starting
 * with the ACE prefix "xn--" in any case (hasALabel), in one pass by character code (31 ns against
 * 66 for the two regular expressions). Exported for tests.
 */
export function plainLdhName(name: string): boolean {
  const n = name.length;
  let start = 0; // where the current label began
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (i === start) return false; // an empty label
      if (
        i - start >= 4 &&
        (name.charCodeAt(start) | 0x20) === 0x78 &&
        (name.charCodeAt(start + 1) | 0x20) === 0x6e &&
        name.charCodeAt(start + 2) === 0x2d &&
        name.charCodeAt(start + 3) === 0x2d
      )
        return false; // "xn--"
      start = i + 1;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d))
      return false;
  }
  return true;
}

function trimHyphens(label: string): string {
  let a = 0;
  let b = label.length;
  while (a < b && label[a] === "-") a++;
  while (b > a && label[b - 1] === "-") b--;
  return label.slice(a, b);
}

/** A domain as a reader would show it, made into an A-label name if at all possible. */
function repair(text: string): string | undefined {
  const d = repairName(text.replace(/[[\]]/g, "")); // "[bank.example]" is shown with its name in it
  // A single label left over ("bank" from "bank<ZWSP>.example" cut short) is not what was shown.
  return d?.includes(".") && !numericTop(d) ? d : undefined;
}

function repairName(text: string): string | undefined {
  const direct = asciiDomain(text.replace(/^\.+/, ""));
  if (direct) return direct;
  // Empty labels ("bank..example", trailing dots) and hyphens at label edges ("-bank-.example")
  // are what a reader's eye skips over.
  const labels = text
    .split(".")
    .map(trimHyphens)
    .filter((l) => l !== "");
  const joined = asciiDomain(labels.join("."));
  if (joined) return joined;
  // Still not a name (a label with junk, too long): the longest valid tail of two labels or more,
  // the name a DNS tree walk from the displayed text would reach.
  let tail: string | undefined;
  for (let i = labels.length - 1; i >= 0; i--) {
    if (!asciiDomain(labels[i]!)) break;
    if (labels.length - i >= 2) {
      const candidate = asciiDomain(labels.slice(i).join("."));
      if (!candidate) break;
      tail = candidate;
    }
  }
  return tail;
}

export interface ReaderDomains {
  /** The domain as written is a plain domain name (no controls, invisibles, repairs or doubtful A-labels). */
  clean: boolean;
  /** The A-label forms a reader could show, lower case, distinct; empty when none can be made. */
  domains: string[];
}

/**
 * The domains a reader could show for a domain as written. NFKC first (UTS 46 maps fullwidth and
 * compatibility characters: `ｂａｎｋ.example` is shown, and resolved, as bank.example). A domain
 * holding controls or invisible characters gives two readings: cut at the first one (a C string,
 * a reader that stops there) and with them removed (a reader that does not draw them); and the
 * platform's UTS 46 reading (node:url domainToASCII: characters mapped to nothing removed). Every
 * reading is also read through IDNA (src/message/idna.ts aLabelReadings): an A-label in any case
 * that decodes to ASCII (`xn--bank-`, `XN--BANK-`) is that ASCII label, and an invalid A-label is
 * doubt, never clean.
 */
export function readerDomains(written: string): ReaderDomains {
  if (plainLdhName(written)) {
    const d = asciiDomain(written); // the usual case: nothing for NFKC, junk or IDNA to change
    if (d && !numericTop(d)) return { clean: true, domains: [d] };
  }
  const text = written.normalize("NFKC").replace(IDEOGRAPHIC_DOTS, ".");
  const junk = firstJunk(text);
  if (junk < 0 && !text.endsWith(".")) {
    const d = asciiDomain(text);
    if (d && !numericTop(d)) {
      const idna = aLabelReadings(d);
      const platform = uts46Ascii(text);
      if (idna.valid && (platform === undefined || platform === d)) return { clean: true, domains: [d] };
    }
  }
  const readings = junk < 0 ? [text] : [text.slice(0, junk), withoutJunk(text)];
  const platform = uts46Ascii(text);
  if (platform !== undefined) readings.push(platform);
  const out = new Set<string>();
  for (const r of readings) {
    // Decoded before repair: "xn--bank-" is "bank", while its repair ("xn--bank") is another name.
    for (const reading of aLabelReadings(r).readings) {
      const d = repair(reading);
      if (d) out.add(d);
    }
  }
  return { clean: false, domains: [...out] };
}

/** The text with balanced comments removed (one pass; an unclosed comment drops the rest). */
function withoutComments(text: string): string {
  let out = "";
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "(") {
      if (depth === 0) out += text.slice(from, i);
      depth++;
    } else if (c === ")" && depth > 0 && --depth === 0) from = i + 1;
  }
  return depth === 0 ? out + text.slice(from) : out;
}

/**
 * Every domain that follows an '@' in a header field's text, in the readings a reader could show:
 * as written, with encoded words decoded (RFC 2047 text hiding `ceo@bank.example`, read leniently:
 * an unknown charset as Latin-1, UTF-7 decoded), with comments removed (`ceo@(x)bank.example`), and
 * each of those with quotes and backslashes dropped (`ceo@"bank".example`). White space, controls,
 * invisible characters and punctuation right after the '@' are skipped (`ceo@ "bank.example"`,
 * `ceo@<bank.example>`, `ceo@,bank.example`), white space around dots too; trailing junk (`;`,
 * `>`, `'`, a missing `>`) ends the domain. A CR or LF inside it gives both readings (cut there, and
 * without it). Used for a From field the strict parser refuses; it over-collects on purpose (a
 * domain in a comment counts), since each domain found only makes the verdict stricter. Distinct,
 * in order of appearance.
 */
export function recoverDomains(value: string): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const base = [value, decodeEncodedWords(value, true), withoutComments(value)];
  // And each with quotes and backslashes dropped: `ceo@"bank".example` shows as ceo@bank.example.
  const sources = new Set([...base, ...base.map((t) => t.replace(/["\\]/g, ""))]);
  for (const source of sources) {
    const text = source.normalize("NFKC"); // fullwidth '＠' and small '﹫' become '@'
    const n = text.length;
    let at = text.indexOf("@");
    while (at >= 0) {
      let i = at + 1;
      while (i < n && beforeDomain(text[i]!)) i++;
      const start = i;
      while (i < n) {
        const c = text[i]!;
        if (inDomainRun(c)) {
          i++;
          continue;
        }
        if (!isWsp(c)) break;
        // White space counts only around a dot: "bank . example" (obs-domain, or a reader's view).
        let j = i;
        while (j < n && isWsp(text[j]!)) j++;
        if (text[i - 1] === "." || text[j] === ".") i = j;
        else break;
      }
      if (i > start) {
        const run = text.slice(start, i);
        if (!seen.has(run)) {
          seen.add(run); // a run repeated a million times is read once
          for (const d of readerDomains(run.replace(/[ \t]+/g, "")).domains) if (d.includes(".")) out.add(d);
        }
      }
      at = text.indexOf("@", Math.max(i, at + 1));
    }
  }
  return [...out];
}
