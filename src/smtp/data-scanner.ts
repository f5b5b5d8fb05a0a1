import type { MessageBuffer } from "./message-buffer.js";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

// Scanner states: where the last byte left us.
const MID = 0; // inside a line
const AFTER_CR = 1; // a CR that may start CRLF
const SOL = 2; // just after CRLF (or at the start of the message): a real line start
const SOL_BARE = 3; // just after a bare LF or a bare CR: a line start only for lenient readers
const DOT_SOL = 4; // SOL then "."
const DOT_SOL_CR = 5; // SOL "." CR
const DOT_BARE = 6; // SOL_BARE then "."
const DOT_SOL_DOT = 7; // SOL ".." (dot-stuffed): the content line starts "."
const DOT_SOL_DOT_CR = 8; // SOL ".." CR

/** What the scanner saw in one message. */
export interface ScanFlags {
  /** An LF not preceded by CR. */
  bareLf: boolean;
  /** A CR not followed by LF. */
  bareCr: boolean;
  /**
   * A line holding only "." whose line ends are not both CRLF: `<LF>.<LF>`, `<CR>.<CR>`,
   * `<CR><LF>.<LF>`, `<LF>.<CR><LF>`, `<CR><LF>.<CR>x`, ... Some SMTP servers take one of these as
   * the end of the message, so a message holding one could smuggle a second message past a relay
   * (SMTP smuggling, SEC Consult 2023; CVE-2023-51764, CVE-2023-51765, CVE-2023-51766).
   * The rule is about the content delivered: in DATA, `<CR><LF>..<LF>` and `<CR><LF>..<CR>x` count
   * too, since unstuffed they are `<CR><LF>.<LF>` and `<CR><LF>.<CR>x`. (`<LF>..<LF>` is not
   * unstuffed, a "." is removed only after CRLF, so it is delivered as it came and is not flagged.)
   */
  ambiguousEnd: boolean;
}

/**
 * A linear byte scanner for message content: finds the end of DATA (only `<CR><LF>.<CR><LF>`,
 * RFC 5321 4.1.1.4), removes dot-stuffing (RFC 5321 4.5.2), copies the content into a
 * MessageBuffer in runs (never a buffer per line) and flags bare CR, bare LF and every ambiguous
 * end-of-data form. Its state is a few integers, so input may be cut anywhere.
 *
 * With `dotStuffed: false` (BDAT text, RFC 3030) nothing is removed and nothing ends the message:
 * `<CR><LF>.<CR><LF>` is content; the other forms are still flagged.
 */
export class DataScanner {
  readonly flags: ScanFlags = { bareLf: false, bareCr: false, ambiguousEnd: false };
  readonly dotStuffed: boolean;
  #state = SOL;

  constructor(dotStuffed: boolean) {
    this.dotStuffed = dotStuffed;
  }

  /**
   * Scans buf[start, end), writing content to `sink` (none: scan only). Returns the index just after
   * the end-of-data line, or -1 when the message goes on.
   */
  scan(buf: Uint8Array, start: number, end: number, sink: MessageBuffer | undefined): number {
    const flags = this.flags;
    const stuffed = this.dotStuffed;
    let s = this.#state;
    let seg = start;
    let i = start;
    while (i < end) {
      switch (s) {
        case MID: {
          while (i < end && buf[i] !== CR && buf[i] !== LF) i++;
          if (i === end) break;
          if (buf[i] === CR) s = AFTER_CR;
          else {
            flags.bareLf = true;
            s = SOL_BARE;
          }
          i++;
          break;
        }
        case AFTER_CR:
          if (buf[i] === LF) {
            s = SOL;
            i++;
          } else {
            flags.bareCr = true;
            s = SOL_BARE; // look at this byte again as a (lenient) line start
          }
          break;
        case SOL:
          if (buf[i] === DOT) {
            if (stuffed) {
              sink?.write(buf, seg, i);
              seg = i + 1; // RFC 5321 4.5.2: the first "." of a line is removed
            }
            s = DOT_SOL;
            i++;
          } else s = MID;
          break;
        case SOL_BARE:
          if (buf[i] === DOT) {
            s = DOT_BARE;
            i++;
          } else s = MID;
          break;
        case DOT_SOL:
          if (buf[i] === DOT && stuffed) {
            s = DOT_SOL_DOT; // the content line starts "."
            i++;
          } else if (buf[i] === CR) {
            s = DOT_SOL_CR;
            i++;
          } else {
            if (buf[i] === LF) flags.ambiguousEnd = true; // <CR><LF>.<LF>
            s = MID;
          }
          break;
        case DOT_SOL_CR:
          if (buf[i] === LF) {
            if (stuffed) {
              // The end of data: ".<CR><LF>" is not content; the CRLF before it is.
              this.#state = SOL;
              return i + 1;
            }
            s = SOL;
            i++;
          } else {
            flags.ambiguousEnd = true; // <CR><LF>.<CR> then not <LF>
            flags.bareCr = true;
            s = SOL_BARE;
          }
          break;
        case DOT_BARE:
          if (buf[i] === CR || buf[i] === LF) flags.ambiguousEnd = true; // <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, ...
          s = MID;
          break;
        case DOT_SOL_DOT:
          // <CR><LF>..<LF>: the content line "." ended by a bare LF (the line "." itself when unstuffed).
          if (buf[i] === CR) {
            s = DOT_SOL_DOT_CR;
            i++;
          } else {
            if (buf[i] === LF) flags.ambiguousEnd = true; // MID then flags the bare LF
            s = MID;
          }
          break;
        case DOT_SOL_DOT_CR:
          if (buf[i] === LF) {
            s = SOL; // <CR><LF>..<CR><LF>: a stuffed "." line, content
            i++;
          } else {
            flags.ambiguousEnd = true; // <CR><LF>..<CR> then not <LF>
            flags.bareCr = true;
            s = SOL_BARE;
          }
          break;
      }
    }
    this.#state = s;
    // A "." CR at the end of a chunk may be the end of data: hold the CR back (the "." already is).
    sink?.write(buf, seg, s === DOT_SOL_CR && stuffed ? end - 1 : end);
    return -1;
  }
}
