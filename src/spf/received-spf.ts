import { ArgumentError } from "../errors.js";
import { commentText, quoteIfNeeded } from "../message/fold.js";
import { checkReceivedSpfOptions } from "../options.js";
import type { SpfResult } from "./check.js";

const RESULTS: ReadonlySet<string> = new Set(["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]);

/**
 * The result keyword of an SpfResult: one of the seven of RFC 7208 2.6, in any case (a stored or
 * parsed result may say "Pass"); anything else is refused, as it would be written into the field
 * as it is (a CR LF there would start a header field of its own).
 */
function resultWord(value: unknown): SpfResult["result"] {
  if (typeof value === "string") {
    if (RESULTS.has(value)) return value as SpfResult["result"];
    const lower = value.toLowerCase();
    if (RESULTS.has(lower)) return lower as SpfResult["result"];
  }
  throw new ArgumentError(
    `result.result must be an SPF result (pass, fail, softfail, neutral, none, temperror or permerror): got ${typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : typeof value}`,
  );
}

export interface ReceivedSpfOptions {
  /** This host's name (the `receiver` key, and the start of the comment). */
  receiver?: string;
}

function comment(r: SpfResult, result: SpfResult["result"], receiver: string): string {
  const who = `${receiver ? `${receiver}: ` : ""}`;
  const s = r.sender;
  switch (result) {
    case "pass":
      return `${who}domain of ${s} designates ${r.ip} as permitted sender`;
    case "fail":
      return `${who}domain of ${s} does not designate ${r.ip} as permitted sender`;
    case "softfail":
      return `${who}domain of transitioning ${s} does not designate ${r.ip} as permitted sender`;
    case "neutral":
      return `${who}${r.ip} is neither permitted nor denied by domain of ${s}`;
    case "none":
      return `${who}domain of ${s} does not designate permitted sender hosts`;
    case "temperror":
      return `${who}error in processing during lookup of ${s}: ${r.reason}`;
    default:
      return `${who}domain of ${s}: ${r.reason}`;
  }
}

/** Printable ASCII without '"' or '\\': quoted as it is, and commented as it is unless PAREN. */
const PLAIN = 1;
/** A dot-atom: written as it is. */
const ATOM = 2;
/** Holds '(' or ')', which a comment escapes. */
const PAREN = 4;
/** Holds a space. */
const SPACE = 8;

/**
 * What each printable ASCII character is, for classify: PLAIN (not '"' or '\\'), ATOM (RFC 5322
 * atext: what a dot-atom's atoms are made of), PAREN; 0 for anything else.
 */
const CHARS = (() => {
  const t = new Uint8Array(128);
  const atext = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~";
  for (let c = 0x20; c < 0x7f; c++)
    if (c !== 0x22 && c !== 0x5c)
      t[c] =
        PLAIN | (atext.includes(String.fromCharCode(c)) ? ATOM : 0) | (c === 0x28 || c === 0x29 ? PAREN : 0) | (c === 0x20 ? SPACE : 0);
  return t;
})();

/** What a value needs, in one pass over its characters: PLAIN, ATOM, PAREN, SPACE bits; 0 for anything else. */
function classify(value: string): number {
  const n = value.length;
  let all = ATOM; // every character but the dots is atext
  let paren = 0;
  let atom = n > 0;
  let dot = true; // at the start or just after a dot: an atom must begin here
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2e) {
      if (dot) atom = false;
      dot = true;
      continue;
    }
    const k = c < 128 ? CHARS[c]! : 0;
    if (k === 0) return 0;
    all &= k;
    paren |= k;
    dot = false;
  }
  return PLAIN | (atom && !dot ? all : 0) | (paren & (PAREN | SPACE));
}

/** quoteIfNeeded(value), knowing classify(value). */
function quoted(value: string, kind: number): string {
  return kind & ATOM ? value : kind & PLAIN ? `"${value}"` : quoteIfNeeded(value);
}

/**
 * quoteIfNeeded(value) in one pass over the characters for the usual values: a dot-atom (an IP, a
 * domain, a term) as it is, printable ASCII without '"' or '\' (an address) in quotes as it is;
 * anything else goes to quoteIfNeeded (test/spf/fast-paths.test.ts holds the two to the same text).
 */
export function quoteValue(value: string): string {
  return quoted(value, classify(value));
}

/** quoteValue(identity) for the usual identities without looking at their characters. */
function identityValue(identity: string): string {
  return identity === "mailfrom" || identity === "helo" ? identity : quoteValue(identity);
}

/** Whether a value is one word of a comment as it is: printable, no space, not empty. */
const word = (value: string, kind: number) => (kind & (PLAIN | SPACE)) === PLAIN && value !== "";

/** Whether a value goes into a comment as it is (commentText would leave it unchanged). */
const commentable = (kind: number) => (kind & (PLAIN | PAREN)) === PLAIN;

/** Whether receivedSpf's options are valid, decided by hand for {} and { receiver: string }; see plainSpfOptions. */
export function plainReceivedSpfOptions(options: unknown): boolean {
  if (typeof options !== "object" || options === null) return false;
  const proto = Object.getPrototypeOf(options);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in options) if (key !== "receiver") return false;
  const receiver = (options as ReceivedSpfOptions).receiver;
  return receiver === undefined || typeof receiver === "string";
}

const NAME = "Received-SPF:";

/** foldField("Received-SPF", pieces) fed one piece at a time, without an array of pieces. */
class Fold {
  out = NAME;
  line = NAME.length;
  put(piece: string): void {
    if (piece === "") return;
    if (this.line + 1 + piece.length > 78 && this.line > NAME.length) {
      this.out += `\r\n\t${piece}`;
      this.line = 8 + piece.length; // a tab counts as up to 8 columns
    } else {
      this.out += ` ${piece}`;
      this.line += 1 + piece.length;
    }
  }

  /**
   * put() of each word of "(" + text + ")" (text: nonempty words separated by single spaces),
   * taking as many words as fit on the line at once; the parentheses are not joined to the text
   * first, so that a text flattened once is not copied again.
   */
  putComment(text: string): void {
    const n = text.length;
    let at = 0;
    while (at < n) {
      // The longest run of words from `at` that fits on the line (a run of one word always goes).
      const room = 78 - this.line - 1 - (at === 0 ? 1 : 0);
      let end = text.indexOf(" ", at);
      if (end < 0) end = n;
      while (end < n) {
        let next = text.indexOf(" ", end + 1);
        if (next < 0) next = n;
        if (next - at + (next === n ? 1 : 0) > room) break;
        end = next;
      }
      const run = at === 0 && end === n ? text : text.slice(at, end);
      this.put(at === 0 ? (end === n ? `(${run})` : `(${run}`) : end === n ? `${run})` : run);
      at = end + 1;
    }
  }
}

/**
 * The Received-SPF header field (RFC 7208 9.1), folded, with CRLF line breaks and no final CRLF.
 * Every value is quoted or escaped, so nothing in the envelope or DNS can break out of the field.
 */
export function receivedSpf(result: SpfResult, options: ReceivedSpfOptions = {}): string {
  if (!plainReceivedSpfOptions(options)) checkReceivedSpfOptions(options);
  // Each value read once and checked as read: a getter could give a checked value first and
  // another one when it is written (red team: CR LF through result.result, sender, ip, receiver).
  const receiver: unknown = options.receiver;
  if (receiver !== undefined && typeof receiver !== "string") throw new ArgumentError("options.receiver must be a string");
  return writeReceivedSpf(snapshot(result), receiver ?? "");
}

/** The fields writeReceivedSpf reads, each read once from a caller's result and type-checked. */
function snapshot(result: SpfResult): SpfResult {
  if (typeof result !== "object" || result === null) throw new ArgumentError("result must be an SPF result (checkSpf's)");
  const { result: word, sender, ip, reason, helo, identity, mechanism } = result;
  const text = (name: string, v: unknown, optional = false) => {
    if (typeof v === "string" || (optional && v === undefined)) return;
    throw new ArgumentError(`result.${name} must be a string${optional ? " or undefined" : ""}: got ${v === null ? "null" : typeof v}`);
  };
  text("sender", sender);
  text("ip", ip);
  text("reason", reason);
  text("identity", identity);
  text("helo", helo, true);
  text("mechanism", mechanism, true);
  return { ...NO_COUNTS, result: resultWord(word), sender, ip, reason, helo, identity, ...(mechanism === undefined ? {} : { mechanism }) };
}
const NO_COUNTS = { domain: "", lookups: 0, voidLookups: 0 } as const;

/** receivedSpf(result, { receiver }) for a receiver already known to be a string (authenticate()'s authserv-id): no options object to check. */
export function writeReceivedSpf(result: SpfResult, receiver: string): string {
  const f = new Fold();
  const keyword = RESULTS.has(result.result) ? result.result : resultWord(result.result);
  f.put(keyword);
  // Each value is looked at once, for the comment and for its key=value pair.
  const error = keyword === "permerror" || keyword === "temperror";
  const kReceiver = classify(receiver);
  const kSender = classify(result.sender);
  const kIp = classify(result.ip);
  const kReason = error ? classify(result.reason) : PLAIN;
  // The comment in parentheses, folding between words. Its fixed words are plain, so it needs
  // escaping only when a value does. Its text is put a line's worth at a time (words joined by
  // their single spaces fit where they would have gone one by one); a text with runs of spaces or
  // spaces at an end goes word by word, as those are dropped.
  let text = comment(result, keyword, receiver);
  if (!(commentable(kReceiver) && commentable(kSender) && commentable(kIp) && commentable(kReason))) text = commentText(text);
  // Printable values without a space, not empty, in the text of a result without a reason make
  // words with single spaces: no need to look.
  const spaced = !error && word(result.sender, kSender) && word(result.ip, kIp) && (receiver === "" || word(receiver, kReceiver));
  if (spaced || (text !== "" && !text.includes("  ") && text.charCodeAt(0) !== 0x20 && text.charCodeAt(text.length - 1) !== 0x20))
    f.putComment(text);
  else {
    let word: string | undefined;
    for (let at = 0; at <= text.length; ) {
      let sp = text.indexOf(" ", at);
      if (sp < 0) sp = text.length;
      if (sp > at) {
        if (word === undefined) word = `(${text.slice(at, sp)}`;
        else {
          f.put(word);
          word = text.slice(at, sp);
        }
      }
      at = sp + 1;
    }
    f.put(word === undefined ? "()" : `${word})`);
  }
  // key=value pairs separated by ";", the last without one.
  f.put(`client-ip=${quoted(result.ip, kIp)};`);
  const nullSender = result.identity === "helo" && result.sender.startsWith("postmaster@");
  f.put(`envelope-from=${nullSender ? '""' : quoted(result.sender, kSender)};`);
  if (result.helo) f.put(`helo=${quoteValue(result.helo)};`);
  if (receiver) f.put(`receiver=${quoted(receiver, kReceiver)};`);
  const mechanism = result.mechanism && result.mechanism !== "default";
  f.put(`identity=${identityValue(result.identity)}${mechanism || error ? ";" : ""}`);
  if (mechanism) f.put(`mechanism=${quoteValue(result.mechanism!)}${error ? ";" : ""}`);
  if (error) f.put(`problem=${quoted(result.reason, kReason)}`);
  return f.out;
}
