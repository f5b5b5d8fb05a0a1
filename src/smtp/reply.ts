import { ArgumentError } from "../errors.js";
/** SMTP replies (RFC 5321 4.2) with RFC 3463 enhanced status codes. */

export interface Reply {
  /** Three-digit reply code, 200-599. */
  code: number;
  /** class.subject.detail, e.g. "5.7.1" (RFC 3463); its class must match the code's first digit. */
  enhanced?: string;
  /** Text lines (without the code); at least one. */
  lines: string[];
}

const ENHANCED = /^([245])\.([0-9]{1,3})\.([0-9]{1,3})$/;

/** Checks an enhanced status code (RFC 3463 2: class 2, 4 or 5; subject and detail 0-999). */
export function isEnhancedCode(code: string): boolean {
  return ENHANCED.test(code);
}

/**
 * Formats a reply for the wire: "250-first\r\n250 last\r\n". The enhanced code starts every line
 * (RFC 2034 4). Text is cleaned of CR, LF and other controls so a reply can never split.
 */
export function formatReply(reply: Reply): string {
  if (!Number.isInteger(reply.code) || reply.code < 200 || reply.code > 599)
    throw new ArgumentError(`reply code ${reply.code} is not 200-599`);
  if (reply.enhanced !== undefined) {
    if (!isEnhancedCode(reply.enhanced) || reply.enhanced[0] !== String(reply.code)[0]) {
      throw new ArgumentError(`enhanced code ${reply.enhanced} does not fit reply ${reply.code}`);
    }
  }
  const lines = reply.lines.length > 0 ? reply.lines : [""];
  const prefix = reply.enhanced ? `${reply.enhanced} ` : "";
  return lines
    .map((line, i) => {
      const text = line.replace(/[\x00-\x1f\x7f]/g, " ");
      const sep = i === lines.length - 1 ? " " : "-";
      const body = prefix + text;
      return `${reply.code}${body === "" && sep === " " ? "" : sep}${body}\r\n`;
    })
    .join("");
}

export type ReplyParse = { ok: true; reply: Reply } | { ok: false; reason: string };

/**
 * Reads replies line by line (a client's side): push lines, get complete replies. Lines of a
 * multi-line reply must share the code (RFC 5321 4.2.1).
 */
export class ReplyParser {
  #code: number | undefined;
  #lines: string[] = [];
  #enhanced: string | undefined;

  /** Feeds one line (without CRLF); returns a reply when the line ends one. */
  push(line: string): ReplyParse | undefined {
    const m = /^([2-5][0-9][0-9])([ -]?)(.*)$/s.exec(line);
    if (!m) {
      this.#reset();
      return { ok: false, reason: `not a reply line: ${JSON.stringify(line.slice(0, 80))}` };
    }
    const code = Number(m[1]);
    if (this.#code !== undefined && code !== this.#code) {
      this.#reset();
      return { ok: false, reason: `reply code changed from ${this.#code} to ${code} inside a multi-line reply` };
    }
    this.#code = code;
    let text = m[3] ?? "";
    const enh = /^([245]\.[0-9]{1,3}\.[0-9]{1,3})(?: |$)/.exec(text);
    if (enh && enh[1]![0] === m[1]![0]) {
      this.#enhanced ??= enh[1];
      text = text.slice(enh[0].length);
    }
    this.#lines.push(text);
    if (m[2] === "-") return undefined;
    const reply: Reply = { code, lines: this.#lines };
    if (this.#enhanced) reply.enhanced = this.#enhanced;
    this.#reset();
    return { ok: true, reply };
  }

  #reset(): void {
    this.#code = undefined;
    this.#lines = [];
    this.#enhanced = undefined;
  }
}

/** Parses a whole reply from text ("250-a\r\n250 b\r\n"). */
export function parseReply(text: string): ReplyParse {
  const parser = new ReplyParser();
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const r = parser.push(lines[i]!);
    if (r && (!r.ok || i === lines.length - 1)) return r;
    if (r?.ok) return { ok: false, reason: "text holds more than one reply" };
  }
  return { ok: false, reason: "incomplete reply" };
}

/** RFC 3463 / RFC 5248 descriptions of the enhanced codes msgauth uses, for logs. */
export const ENHANCED_CODES: Readonly<Record<string, string>> = {
  "X.0.0": "Other undefined status",
  "X.1.0": "Other address status",
  "X.1.1": "Bad destination mailbox address",
  "X.1.3": "Bad destination mailbox address syntax",
  "X.1.7": "Bad sender's mailbox address syntax",
  "X.1.8": "Bad sender's system address",
  "X.1.10": "Recipient address has null MX",
  "X.2.2": "Mailbox full",
  "X.3.4": "Message too big for system",
  "X.4.3": "Directory server failure",
  "X.5.0": "Other or undefined protocol status",
  "X.5.1": "Invalid command",
  "X.5.2": "Syntax error",
  "X.5.3": "Too many recipients",
  "X.5.4": "Invalid command arguments",
  "X.5.6": "Authentication Exchange line is too long",
  "X.6.7": "Non-ASCII addresses not permitted for that sender/recipient",
  "X.7.0": "Other or undefined security status",
  "X.7.1": "Delivery not authorized, message refused",
  "X.7.8": "Authentication credentials invalid",
  "X.7.11": "Encryption required for requested authentication mechanism",
  "X.7.23": "SPF validation failed",
  "X.7.25": "Reverse DNS validation failed",
  "X.7.26": "Multiple authentication checks failed",
};

/** The description of an enhanced code, e.g. describeEnhanced("5.7.1"). */
export function describeEnhanced(code: string): string | undefined {
  return ENHANCED_CODES[code.replace(/^[245]/, "X")];
}
