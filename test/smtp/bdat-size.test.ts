// BDAT chunk sizes (RFC 3030 2: chunk-size = 1*DIGIT) and what happens to a chunk whose BDAT line is
// refused: its bytes follow the line whatever the reply, so they are never read as commands.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/smtp/command.js";
import { type SessionOutput, SmtpSession } from "../../src/smtp/index.js";

const base = { hostname: "mx.example.org", clientIp: "192.0.2.9", localDomains: ["example.org"] };
const open = "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n";

function drive(input: string) {
  const session = new SmtpSession(base);
  const replies: string[] = [];
  const delivered: string[] = [];
  let closed = false;
  const take = (out: SessionOutput) => {
    replies.push(...out.write.split("\r\n").filter(Boolean));
    if (out.close) closed = true;
    for (const e of out.events) {
      if (e.type === "message") {
        delivered.push(Buffer.from(e.data).toString("latin1"));
        take(session.completeMessage());
      }
    }
  };
  take(session.start());
  take(session.feed(Buffer.from(input, "latin1")));
  // The replies after RCPT's.
  return { replies: replies.slice(replies.indexOf("250 2.1.5 Recipient OK") + 1), delivered, closed };
}

describe("BDAT chunk size: 1*DIGIT of any length", () => {
  it("leading zeros, 16 and more digits: the size is the number (was 501 past 15 digits)", () => {
    for (const spelling of ["52", "052", "0000000000000052", `${"0".repeat(200)}52`]) {
      expect(parseCommand(`BDAT ${spelling} LAST`)).toEqual({ ok: true, command: { verb: "BDAT", size: 52, last: true } });
    }
    expect(parseCommand("BDAT 0000")).toEqual({ ok: true, command: { verb: "BDAT", size: 0, last: false } });
    expect(parseCommand("BDAT 999999999999999")).toMatchObject({ ok: true, command: { size: 999_999_999_999_999 } });
  });

  it("past 15 significant digits: 552 5.3.4, the chunk cannot be counted", () => {
    expect(parseCommand("BDAT 1000000000000000 LAST")).toEqual({
      ok: false,
      reply: { code: 552, enhanced: "5.3.4", lines: ["BDAT chunk size too large"] },
      chunk: "unknown",
    });
  });

  it("a malformed line tells the chunk size when it starts with one, and 'unknown' when not", () => {
    expect(parseCommand("BDAT 52 LAST junk")).toMatchObject({ ok: false, reply: { code: 501 }, chunk: 52 });
    expect(parseCommand("BDAT 007 FIRST")).toMatchObject({ ok: false, reply: { code: 501 }, chunk: 7 });
    for (const line of ["BDAT", "BDAT LAST", "BDAT -5", "BDAT x52", "BDAT +52", "BDAT 5e3", "BDAT 0-"]) {
      expect(parseCommand(line)).toMatchObject({ ok: false, chunk: "unknown" });
    }
    // Other commands never carry a chunk.
    expect(parseCommand("NOOP x y")).not.toHaveProperty("chunk");
  });

  it("fast-check: any spelling of a size (leading zeros, digits) parses to its value", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), fc.nat({ max: 40 }), fc.boolean(), (n, zeros, last) => {
        const parsed = parseCommand(`BDAT ${"0".repeat(zeros)}${n}${last ? " LAST" : ""}`);
        expect(parsed).toEqual({ ok: true, command: { verb: "BDAT", size: n, last } });
      }),
    );
  });

  it("fast-check: random BDAT arguments never let chunk bytes run as commands", () => {
    const argument = fc.stringMatching(/^[0-9 A-Za-z+\-.]{0,30}$/);
    fc.assert(
      fc.property(argument, (arg) => {
        // The chunk is a command line: it must never be answered as one.
        const { replies, delivered, closed } = drive(`${open}BDAT ${arg}\r\nRSET\r\n`);
        const parsed = parseCommand(`BDAT ${arg}`);
        if (parsed.ok && parsed.command.verb === "BDAT") {
          // Its chunk is the next `size` bytes: "RSET\r\n" (6) is content when size >= 6.
          if (parsed.command.size >= 6) expect(replies.filter((l) => l.startsWith("250 2.0.0 OK"))).toEqual([]);
        } else if (parsed.ok) {
          throw new Error("BDAT parsed as another command");
        } else if (parsed.chunk === "unknown") {
          expect(closed).toBe(true);
          expect(replies.at(-1)).toMatch(/^554 5\.5\.2 .*cannot be delimited, closing connection$/);
        } else if (parsed.chunk! <= 6) {
          expect(replies[0]).toMatch(/^5\d\d /); // after its chunk, the refusal
        } else {
          expect(replies).toEqual([]); // the chunk is not over yet
        }
        expect(delivered.join("")).not.toContain("\r\n.\r\n");
      }),
    );
  });
});

describe("SmtpSession: a refused BDAT's bytes are not commands", () => {
  it("BDAT 0000000000000052 LAST: the 52 bytes are the message (they were run as commands after a 501)", () => {
    const chunk = "MAIL FROM:<x@evil.example>\r\nRCPT TO:<y@example.org>\r";
    expect(chunk.length).toBe(52);
    const { replies, delivered } = drive(`${open}BDAT 0000000000000052 LAST\r\n${chunk}`);
    expect(replies.slice(-1)).toEqual(["250 2.0.0 Ok: queued"]);
    expect(delivered).toEqual([chunk]);
  });

  it("a malformed BDAT line with a size: the chunk is read and dropped, then 501; the session goes on", () => {
    const { replies, delivered, closed } = drive(`${open}BDAT 10 LAST junk\r\nRSET\r\nNOOPNOOP\r\n`);
    expect(replies).toEqual(["501 5.5.4 Syntax: BDAT <size> [LAST]", "250 2.0.0 OK"]);
    expect(delivered).toEqual([]);
    expect(closed).toBe(false);
  });

  it("a BDAT line whose size cannot be known: 554 and close, nothing after it runs", () => {
    for (const line of ["BDAT", "BDAT x", "BDAT 12345678901234567890 LAST"]) {
      const { replies, closed } = drive(`${open}${line}\r\nRSET\r\nQUIT\r\n`);
      expect(closed).toBe(true);
      expect(replies).toHaveLength(1);
      expect(replies.at(-1)).toMatch(/^554 5\.5\.2 .*: the chunk that follows cannot be delimited, closing connection$/);
    }
  });

  it("a BDAT line too long to read (600 leading zeros) or holding a control character: 554 and close, not 500 and its chunk run as commands", () => {
    for (const input of [`BDAT ${"0".repeat(600)}6 LAST\r\nRSET\r\n`, `BDAT ${"0".repeat(3000)}`, "BDAT 6\x01 LAST\r\nRSET\r\n"]) {
      const { replies, closed } = drive(`${open}${input}`);
      expect(closed).toBe(true);
      expect(replies).toHaveLength(1);
      expect(replies[0]).toMatch(
        /^554 5\.5\.2 (Line too long|Control characters .*): the chunk that follows cannot be delimited, closing connection$/,
      );
    }
    // Any other long line is still 500 and the session goes on.
    const { replies, closed } = drive(`${open}NOOP ${"0".repeat(600)}\r\nNOOP\r\n`);
    expect(replies).toEqual(["500 5.5.2 Line too long", "250 2.0.0 OK"]);
    expect(closed).toBe(false);
  });
});
