import { z } from "zod";
import { formatIp, parseIp } from "../dns/ip.js";
import { ArgumentError } from "../errors.js";
import { optionsChecker } from "../options.js";
import { fieldValue, getFields, type HeaderField, unfold } from "./header.js";
import { toBytes } from "./input.js";
import { splitMessage } from "./split.js";

/**
 * One Received field (RFC 5321 4.4 Time-stamp-line), as far as it could be read. Received fields
 * are written by each MTA in its own style; this reader understands the RFC grammar and the
 * common variants (Postfix, Sendmail, Exim's `from [ip] (helo=...)` and `([ip] helo=...)`,
 * Microsoft, Gmail), and leaves out what it cannot read rather than guess.
 */
export interface ParsedReceived {
  /** The name the client gave in HELO/EHLO (an address literal keeps its brackets). */
  helo?: string;
  /** The client's address as the receiving MTA saw the connection (TCP-info), canonical form. */
  ip?: string;
  /** The client's reverse DNS name, when the TCP-info has one ("unknown" is left out). */
  reverseName?: string;
  /** The receiving host (by clause). */
  by?: string;
  /** The protocol (with clause: SMTP, ESMTPS, LMTP...). */
  with?: string;
  id?: string;
  /** The recipient (for clause), without angle brackets. */
  for?: string;
  /** Exim's "(envelope-from <...>)" comment, without angle brackets. */
  envelopeFrom?: string;
  /** The date-time after the last ";", as written. */
  date?: string;
}

/** Longest Received value read (a longer one is read up to here): bounded work for any input. */
const MAX_VALUE = 16 * 1024;

type Token = { kind: "word" | "literal" | "angle" | "comment"; text: string };

/**
 * Splits a Received value into words, [literals], <paths> and (comments, nesting kept in the
 * text), up to the last ";" outside comments. One pass; comments nest to any depth with a counter.
 */
function tokenize(value: string): { tokens: Token[]; date?: string } {
  const tokens: Token[] = [];
  const n = Math.min(value.length, MAX_VALUE);
  // The date follows the last ";" outside comments (RFC 5321: Stamp = ... ";" FWS date-time).
  let lastSemi = -1;
  for (let i = 0, depth = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x28) depth++;
    else if (c === 0x29) depth = Math.max(0, depth - 1);
    else if (c === 0x3b && depth === 0) lastSemi = i;
  }
  const end = lastSemi >= 0 ? lastSemi : n;
  let i = 0;
  while (i < end) {
    const c = value[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n" || c === ";" || c === ",") {
      i++;
    } else if (c === "(") {
      let depth = 1;
      let j = i + 1;
      for (; j < end && depth > 0; j++) {
        const d = value[j];
        if (d === "\\") j++;
        else if (d === "(") depth++;
        else if (d === ")") depth--;
      }
      tokens.push({ kind: "comment", text: value.slice(i + 1, depth === 0 ? j - 1 : j) });
      i = j;
    } else if (c === "[" || c === "<") {
      const close = value.indexOf(c === "[" ? "]" : ">", i + 1);
      const stop = close < 0 || close > end ? end : close;
      tokens.push({ kind: c === "[" ? "literal" : "angle", text: value.slice(i + 1, stop) });
      i = stop + 1;
    } else {
      let j = i;
      while (j < end && !" \t\r\n;,()[<".includes(value[j]!)) j++;
      // A word that runs into "[" (IPv6:... is inside the literal, "x[" is not a literal start).
      if (j === i) j++;
      tokens.push({ kind: "word", text: value.slice(i, j) });
      i = j;
    }
  }
  const date = lastSemi >= 0 ? value.slice(lastSemi + 1, n).trim() : undefined;
  return date ? { tokens, date } : { tokens };
}

/** The canonical IP of an address literal ("192.0.2.1", "IPv6:2001:db8::1"), or undefined. */
function literalIp(text: string): string | undefined {
  const t = text.trim();
  const p = parseIp(/^ipv6:/i.test(t) ? t.slice(5) : t);
  return p ? formatIp(p) : undefined;
}

const KEYWORDS = new Set(["from", "by", "via", "with", "id", "for"]);

/**
 * Reads one Received field value. Never throws; linear in the length of the value (values over
 * 16 KiB are read up to there).
 */
export function parseReceived(value: string): ParsedReceived {
  const { tokens, date } = tokenize(unfold(value));
  const out: ParsedReceived = {};
  if (date) out.date = date;
  let clause: string | undefined;
  let item: Token | undefined;
  const fromComments: string[] = [];
  const finish = () => {
    if (!clause || !item) return;
    const text = item.text;
    if (clause === "from") {
      if (item.kind === "literal") out.helo = `[${text}]`;
      else if (item.kind === "word") out.helo = text;
    } else if (clause === "by" && item.kind === "word") out.by = text.toLowerCase().replace(/\.$/, "");
    else if (clause === "with" && item.kind === "word") out.with = text;
    else if (clause === "id" && item.kind !== "comment") out.id = text;
    else if (clause === "for" && (item.kind === "angle" || item.kind === "word")) out.for = text;
  };
  for (const t of tokens) {
    if (t.kind === "word" && KEYWORDS.has(t.text.toLowerCase()) && (clause === undefined || item !== undefined)) {
      finish();
      clause = t.text.toLowerCase();
      item = undefined;
      continue;
    }
    if (t.kind === "comment") {
      if (clause === "from") fromComments.push(t.text);
      const ef = /^\s*envelope-from\s+<?([^<>\s]*)>?\s*$/i.exec(t.text);
      if (ef) out.envelopeFrom = ef[1]!;
      continue;
    }
    if (clause !== undefined && item === undefined) item = t;
  }
  finish();

  // TCP-info of the from clause: "(name [ip])", "(unknown [ip])", "([ip] helo=name)", "(helo=name)".
  for (const comment of fromComments) {
    const { tokens: inner } = tokenize(comment.replaceAll(";", " "));
    let sawLiteral = false;
    let previousWord: string | undefined;
    for (const t of inner) {
      if (t.kind === "literal" && !sawLiteral) {
        sawLiteral = true;
        const ip = literalIp(t.text);
        if (ip && out.ip === undefined) {
          out.ip = ip;
          if (previousWord && previousWord.toLowerCase() !== "unknown" && /^[a-z0-9_.-]+$/i.test(previousWord))
            out.reverseName = previousWord.toLowerCase().replace(/\.$/, "");
        }
      } else if (t.kind === "word") {
        const helo = /^helo=(.+)$/i.exec(t.text);
        if (helo) {
          // Exim: the from item is the reverse name (or the peer's literal), helo= is what the client said.
          if (out.reverseName === undefined && out.helo !== undefined && !out.helo.startsWith("["))
            out.reverseName = out.helo.toLowerCase();
          if (out.helo?.startsWith("[") && out.ip === undefined) {
            const ip = literalIp(out.helo.slice(1, -1));
            if (ip) out.ip = ip;
          }
          out.helo = helo[1]!;
        } else previousWord = t.text;
      }
    }
  }
  return out;
}

export interface ReceivedTrustOptions {
  /**
   * How many Received fields, from the top, were written by hosts you run. The last of them (the
   * n-th from the top) is the one your border MTA wrote when the message came in from outside: its
   * from clause describes the client. Default 1 (the filter runs on the border MTA's own host).
   */
  trustedHops?: number;
  /**
   * Your receiving hosts' names. When given, the chosen field's by clause must name one of them,
   * or nothing is recovered (a safety check that the hop count matches your setup).
   */
  receivedBy?: readonly string[];
  /** Take MAIL FROM from the topmost Return-Path field (RFC 5321 4.4: the delivering MTA writes it). Default true. */
  returnPath?: boolean;
}

export type ReceivedEnvelope =
  | {
      ok: true;
      /** What authenticate() takes as its envelope. */
      envelope: { ip: string; helo?: string; mailFrom?: string };
      /** The field the envelope came from, and its position from the top (0-based). */
      received: ParsedReceived;
      index: number;
    }
  | { ok: false; reason: string };

const checkTrustOptions = optionsChecker<ReceivedTrustOptions>("options", {
  trustedHops: z.number().int().min(1).max(100).optional(),
  receivedBy: z.array(z.string()).optional(),
  returnPath: z.boolean().optional(),
});

/**
 * The SMTP envelope recovered from a message's trace fields, for filters that run after the MTA
 * (mailauth's `trustReceived`): client IP and HELO from the Received field your last trusted hop
 * wrote (see ReceivedTrustOptions), MAIL FROM from Return-Path. Trace fields above that one could
 * be forged by nobody but your own hosts; fields below it are the sender's claims and are never read.
 * Never throws for message content: a field that cannot be read is `{ ok: false, reason }`.
 */
export function envelopeFromReceived(headers: readonly HeaderField[], options: ReceivedTrustOptions = {}): ReceivedEnvelope {
  checkTrustOptions(options);
  const hops = options.trustedHops ?? 1;
  const received = getFields(headers, "received");
  if (received.length < hops)
    return { ok: false, reason: `the message has ${received.length} Received field(s), fewer than the ${hops} trusted hop(s)` };
  const index = hops - 1;
  const parsed = parseReceived(fieldValue(received[index]!));
  if (options.receivedBy) {
    const names = options.receivedBy.map((n) => n.toLowerCase().replace(/\.$/, ""));
    if (!parsed.by || !names.includes(parsed.by))
      return {
        ok: false,
        reason: `Received field ${hops} was written by ${parsed.by ?? "an unnamed host"}, not one of ${names.join(", ")}`,
      };
  }
  if (!parsed.ip) return { ok: false, reason: `Received field ${hops} has no client address in its from clause` };
  const envelope: { ip: string; helo?: string; mailFrom?: string } = { ip: parsed.ip };
  if (parsed.helo !== undefined) envelope.helo = parsed.helo;
  if (options.returnPath !== false) {
    const rp = getFields(headers, "return-path")[0];
    if (rp) {
      const path = unfold(fieldValue(rp)).trim();
      const m = /^<([^<>]*)>$/.exec(path);
      envelope.mailFrom = m ? m[1]! : path;
    }
  }
  return { ok: true, envelope, received: parsed, index };
}

/**
 * envelopeFromReceived for a whole message in memory (bytes or text; only the header is read).
 * A stream would be consumed here: read it into bytes first, then pass the bytes to both calls.
 */
export function envelopeFromMessage(message: Uint8Array | string, options: ReceivedTrustOptions = {}): ReceivedEnvelope {
  if (typeof message !== "string" && !(message instanceof Uint8Array)) throw new ArgumentError("message must be a Uint8Array or a string");
  checkTrustOptions(options);
  return envelopeFromReceived(splitMessage(toBytes(message)).headers, options);
}
