/**
 * The session against a small independent model of RFC 5321 (with RFC 3030 BDAT, RFC 3207
 * STARTTLS, RFC 4954 AUTH): random command sequences, each sent whole and cut at random points,
 * must give the model's reply codes and deliver exactly the model's messages with their envelopes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SessionOutput, SmtpSession } from "../../src/smtp/index.js";

type Cmd =
  | { t: "EHLO" | "HELO" | "RSET" | "NOOP" | "QUIT" | "STARTTLS" | "JUNK" }
  | { t: "MAIL"; from: string; binary: boolean }
  | { t: "LOGIN"; good: boolean; cancel: boolean }
  | { t: "RCPT"; local: boolean }
  | { t: "AUTH"; good: boolean }
  | { t: "DATA"; content: string }
  | { t: "BDAT"; content: string; last: boolean };

interface Delivery {
  data: string;
  mailFrom: string;
  rcptTo: string[];
  user: string | undefined;
  tls: boolean;
}

const MAX_SIZE = 40;
const MAX_ERRORS = 6;
const pieces = ["x", "hello", ".", "..", "\r\n", "\r", "\n", " ", "\r\n.", ".\r\n", "\r\n.\r\n"];
const content = fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => p.join(""));
const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Cmd>({ t: "EHLO" }, { t: "HELO" }, { t: "RSET" }, { t: "NOOP" }, { t: "JUNK" }) },
  { weight: 1, arbitrary: fc.constantFrom<Cmd>({ t: "QUIT" }, { t: "STARTTLS" }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ from: fc.constantFrom("a@example.com", "c@example.com"), binary: fc.boolean() })
      .map((m): Cmd => ({ t: "MAIL", ...m })),
  },
  { weight: 1, arbitrary: fc.record({ good: fc.boolean(), cancel: fc.boolean() }).map((l): Cmd => ({ t: "LOGIN", ...l })) },
  { weight: 3, arbitrary: fc.boolean().map((local): Cmd => ({ t: "RCPT", local })) },
  { weight: 1, arbitrary: fc.boolean().map((good): Cmd => ({ t: "AUTH", good })) },
  { weight: 2, arbitrary: content.map((c): Cmd => ({ t: "DATA", content: c })) },
  { weight: 2, arbitrary: fc.record({ content, last: fc.boolean() }).map((b): Cmd => ({ t: "BDAT", ...b })) },
);

/** A transaction that is likely to succeed, so deliveries (and their envelopes) are compared often. */
const transaction: fc.Arbitrary<Cmd[]> = fc
  .record({
    from: fc.constantFrom("a@example.com", "c@example.com"),
    binary: fc.boolean(),
    rcpts: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
    chunks: fc.array(content, { minLength: 1, maxLength: 3 }),
    bdat: fc.boolean(),
  })
  .map(({ from, binary, rcpts, chunks, bdat }): Cmd[] => [
    { t: "MAIL", from, binary: binary && bdat },
    ...rcpts.map((local): Cmd => ({ t: "RCPT", local: local || rcpts.length === 1 })),
    ...(bdat
      ? chunks.map((c, i): Cmd => ({ t: "BDAT", content: c, last: i === chunks.length - 1 }))
      : [{ t: "DATA", content: chunks.join("") } as Cmd]),
  ]);
const session: fc.Arbitrary<Cmd[]> = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.oneof({ weight: 3, arbitrary: command.map((c) => [c]) }, { weight: 2, arbitrary: transaction }), { maxLength: 12 }),
  )
  .map(([ehlo, parts]) => [...(ehlo ? [{ t: "EHLO" } as Cmd] : []), ...parts.flat()]);

/** What a strict client puts on the wire for DATA: lines starting with "." get one more (RFC 5321 4.5.2). */
function stuff(text: string): string {
  return text
    .split("\r\n")
    .map((l) => (l.startsWith(".") ? `.${l}` : l))
    .join("\r\n");
}

/** The model's reading of content: bare CR/LF, and a "." line whose line ends are not both CRLF. */
function inspect(text: string): { ambiguous: boolean; bare: boolean } {
  let ambiguous = false;
  let bare = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" && text[i - 1] !== "\r") bare = true;
    if (c === "\r" && i + 1 < text.length && text[i + 1] !== "\n") bare = true;
    if (c !== ".") continue;
    const before = i === 0 ? "start" : text[i - 1] === "\n" ? (text[i - 2] === "\r" ? "crlf" : "lf") : text[i - 1] === "\r" ? "cr" : "";
    const next = text[i + 1];
    if (before === "" || (next !== "\r" && next !== "\n")) continue;
    // After CRLF, "." CR may still become the CRLF.CRLF line: not known until the next byte.
    if ((before === "start" || before === "crlf") && next === "\r" && i + 2 >= text.length) continue;
    const crlfAfter = next === "\r" && text[i + 2] === "\n";
    if (!((before === "start" || before === "crlf") && crlfAfter)) ambiguous = true;
  }
  return { ambiguous, bare };
}

const plain = (pw: string) => Buffer.from(`\0alice\0${pw}`).toString("base64");
function wire(c: Cmd): string {
  switch (c.t) {
    case "EHLO":
      return "EHLO client.example\r\n";
    case "HELO":
      return "HELO client.example\r\n";
    case "JUNK":
      return "WHAT is this\r\n";
    case "MAIL":
      return `MAIL FROM:<${c.from}>${c.binary ? " BODY=BINARYMIME" : ""}\r\n`;
    case "LOGIN": {
      const b = (t: string) => Buffer.from(t).toString("base64");
      return `AUTH LOGIN\r\n${b("alice")}\r\n${c.cancel ? "*" : b(c.good ? "secret" : "wrong")}\r\n`;
    }
    case "RCPT":
      return `RCPT TO:<${c.local ? "b@example.org" : "x@elsewhere.example"}>\r\n`;
    case "AUTH":
      return `AUTH PLAIN ${plain(c.good ? "secret" : "wrong")}\r\n`;
    case "DATA":
      return `DATA\r\n${stuff(c.content)}\r\n.\r\n`;
    case "BDAT":
      return `BDAT ${c.content.length}${c.last ? " LAST" : ""}\r\n${c.content}`;
    default:
      return `${c.t}\r\n`;
  }
}

/** The model: reply codes (final line of each reply) and deliveries. */
function model(cmds: Cmd[], rejectBare: boolean): { codes: string[]; deliveries: Delivery[]; wire: string[] } {
  const codes: string[] = [];
  // What the client sends: a client waits for 354 before the content (RFC 2920 3.1), so a refused
  // DATA is sent alone.
  const sent: string[] = [];
  const deliveries: Delivery[] = [];
  let closed = false;
  let helo = false;
  let esmtp = false;
  let tls = false;
  let user: string | undefined;
  let errors = 0;
  let tx: { from: string; binary: boolean; rcpts: string[]; attempts: number; bdat: string | undefined } | undefined;
  const ok = (code: string) => codes.push(code);
  const err = (code: string) => {
    codes.push(code);
    if (++errors >= MAX_ERRORS) {
      codes.push("421");
      closed = true;
    }
  };
  const finish = (text: string, last: boolean, kind: "DATA" | "BDAT") => {
    // BINARYMIME content is binary: not scanned (RFC 3030 3).
    // DATA: the wire form and the content delivered (unstuffed) are both read: `<CR><LF>..<LF>` on the
    // wire is `<CR><LF>.<LF>` in the content, refused like it (docs/smtp.md).
    const wireSeen = inspect(kind === "DATA" ? stuff(text) : text);
    const content = kind === "DATA" ? inspect(text).ambiguous : false;
    const seen = tx!.binary ? { ambiguous: false, bare: false } : { ambiguous: wireSeen.ambiguous || content, bare: wireSeen.bare };
    const refusal = seen.ambiguous || (rejectBare && seen.bare) ? "550" : text.length > MAX_SIZE ? "552" : undefined;
    if (refusal) {
      tx = undefined; // RFC 3030 2: a refused chunk ends the transaction
      return err(refusal);
    }
    if (!last) return ok("250");
    deliveries.push({ data: text, mailFrom: tx!.from, rcptTo: tx!.rcpts, user, tls });
    tx = undefined;
    ok("250");
  };
  for (const c of cmds) {
    if (closed) break;
    // A client waits for 354 before the content and for 334 before an AUTH response (RFC 2920 3.1).
    sent.push(c.t === "DATA" ? "DATA\r\n" : c.t === "LOGIN" ? "AUTH LOGIN\r\n" : wire(c));
    switch (c.t) {
      case "EHLO":
      case "HELO":
        helo = true;
        esmtp = c.t === "EHLO";
        tx = undefined;
        ok("250");
        break;
      case "NOOP":
        ok("250");
        break;
      case "RSET":
        tx = undefined;
        ok("250");
        break;
      case "QUIT":
        ok("221");
        closed = true;
        break;
      case "JUNK":
        err("500");
        break;
      case "STARTTLS":
        if (tls || !esmtp) err("503");
        else {
          ok("220");
          tls = true;
          helo = esmtp = false;
          user = undefined;
          tx = undefined;
        }
        break;
      case "AUTH":
        if (!esmtp || user !== undefined || tx) err("503");
        else if (c.good) {
          user = "alice";
          ok("235");
        } else err("535");
        break;
      case "MAIL":
        if (!helo || tx) err("503");
        else if (c.binary && !esmtp) err("555");
        else {
          tx = { from: c.from, binary: c.binary, rcpts: [], attempts: 0, bdat: undefined };
          ok("250");
        }
        break;
      case "LOGIN":
        if (!esmtp || user !== undefined || tx) err("503");
        else {
          sent[sent.length - 1] = wire(c);
          ok("334");
          ok("334");
          if (c.cancel) err("501");
          else if (c.good) {
            user = "alice";
            ok("235");
          } else err("535");
        }
        break;
      case "RCPT":
        if (!tx || tx.bdat !== undefined) err("503");
        else {
          tx.attempts++;
          if (c.local || user !== undefined) {
            tx.rcpts.push(c.local ? "b@example.org" : "x@elsewhere.example");
            ok("250");
          } else err("550");
        }
        break;
      case "DATA":
        if (!tx || tx.bdat !== undefined || tx.binary) err("503");
        else if (tx.rcpts.length === 0) err(tx.attempts > 0 ? "554" : "503");
        else {
          ok("354");
          sent[sent.length - 1] = wire(c);
          finish(`${c.content}\r\n`, true, "DATA");
        }
        break;
      case "BDAT":
        if (!tx || (tx.bdat === undefined && tx.rcpts.length === 0)) err("503");
        else {
          tx.bdat = (tx.bdat ?? "") + c.content;
          finish(tx.bdat, c.last, "BDAT");
        }
        break;
    }
  }
  return { codes, deliveries, wire: sent };
}

/** Runs the session on the commands, each flight (up to a STARTTLS) cut at the given points. */
function runSession(cmds: Cmd[], sent: string[], rejectBare: boolean, cuts: number[]) {
  const s = new SmtpSession({
    hostname: "mx.example.org",
    clientIp: "192.0.2.9",
    localDomains: ["example.org"],
    tlsAvailable: true,
    auth: true,
    allowPlaintextAuth: true,
    maxMessageSize: MAX_SIZE,
    maxErrors: MAX_ERRORS,
    rejectBareLineFeed: rejectBare,
  });
  const codes: string[] = [];
  const deliveries: Delivery[] = [];
  const closes: string[] = [];
  const take = (out: SessionOutput): void => {
    for (const line of out.write.split("\r\n")) if (/^[0-9]{3}( |$)/.test(line)) codes.push(line.slice(0, 3));
    for (const e of out.events) {
      if (e.type === "message") {
        deliveries.push({
          data: Buffer.from(e.data).toString("latin1"),
          mailFrom: e.envelope.mailFrom ?? "",
          rcptTo: e.envelope.rcptTo ?? [],
          user: e.envelope.authenticatedUser,
          tls: e.envelope.tls !== false,
        });
        take(s.completeMessage());
      } else if (e.type === "auth") take(s.completeAuth(e.credentials.password === "secret" ? e.credentials.username : false));
      else if (e.type === "starttls") take(s.tlsStarted());
      else if (e.type === "close") closes.push(e.reason);
    }
  };
  take(s.start());
  codes.shift(); // the greeting
  // Plaintext after STARTTLS is dropped by design, so each flight ends at a STARTTLS.
  const flights: string[] = [""];
  sent.forEach((text, i) => {
    flights[flights.length - 1] += text;
    if (cmds[i]!.t === "STARTTLS") flights.push("");
  });
  let k = 0;
  for (const flight of flights) {
    let at = 0;
    while (at < flight.length) {
      const n = Math.max(1, cuts.length ? cuts[k++ % cuts.length]! : flight.length);
      take(s.feed(flight.slice(at, at + n)));
      at += n;
    }
  }
  return { codes, deliveries, closes };
}

describe("SMTP session against a model of the RFC 5321 state machine", () => {
  it("random sessions, whole and cut at random points: the model's replies and deliveries, never an internal error", () => {
    const seen = { delivered: 0, refused550: 0, refused552: 0, auth: 0, tls: 0 };
    fc.assert(
      fc.property(session, fc.boolean(), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }), (cmds, rejectBare, cuts) => {
        const expected = model(cmds, rejectBare);
        seen.delivered += expected.deliveries.length;
        seen.refused550 += expected.codes.filter((c) => c === "550").length;
        seen.refused552 += expected.codes.filter((c) => c === "552").length;
        seen.auth += expected.codes.filter((c) => c === "235").length;
        seen.tls += expected.codes.filter((c) => c === "220").length;
        const whole = runSession(cmds, expected.wire, rejectBare, []);
        const cut = runSession(cmds, expected.wire, rejectBare, cuts);
        expect(whole.codes).toEqual(expected.codes);
        expect(whole.deliveries).toEqual(expected.deliveries);
        expect(cut.codes).toEqual(whole.codes);
        expect(cut.deliveries).toEqual(whole.deliveries);
        expect(whole.closes.concat(cut.closes).filter((c) => c.startsWith("internal"))).toEqual([]);
      }),
      { numRuns: 3000 },
    );
    // The generator reaches every outcome, so the comparison is not vacuous.
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(20);
  });

  it("random bytes mixed with commands never throw and never hit an internal error", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), command.map(wire)), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 8 }),
        (parts, cuts) => {
          const s = new SmtpSession({ hostname: "h.example", clientIp: "192.0.2.1", mode: "submissions", maxErrors: 1000 });
          const bytes = Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
          let at = 0;
          let k = 0;
          const closes: string[] = [];
          const take = (out: SessionOutput): void => {
            for (const line of out.write.split("\r\n").filter(Boolean)) expect(line).toMatch(/^[2-5][0-9]{2}([ -]|$)/);
            for (const e of out.events) {
              if (e.type === "message") take(s.completeMessage());
              if (e.type === "auth") take(s.completeAuth(false));
              if (e.type === "close") closes.push(e.reason);
            }
          };
          while (at < bytes.length) {
            const n = cuts.length ? cuts[k++ % cuts.length]! : bytes.length;
            take(s.feed(bytes.subarray(at, at + n)));
            at += n;
          }
          expect(closes.filter((c) => c.startsWith("internal"))).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
