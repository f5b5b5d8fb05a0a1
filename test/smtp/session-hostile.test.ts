import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SessionEvent, type SessionOptions, type SessionOutput, SessionStateError, SmtpSession } from "../../src/smtp/index.js";
import { MessageBuffer } from "../../src/smtp/message-buffer.js";

const base: SessionOptions = { hostname: "mx.example.org", clientIp: "192.0.2.9", localDomains: ["example.org"] };
type Message = Extract<SessionEvent, { type: "message" }>;

/** Feeds the parts in order, answering events at once; collects replies and delivered messages. */
function drive(session: SmtpSession, parts: Array<string | Uint8Array>) {
  const replies: string[] = [];
  const messages: Message[] = [];
  const closes: string[] = [];
  const take = (out: SessionOutput) => {
    replies.push(...out.write.split("\r\n").filter(Boolean));
    for (const e of out.events) {
      if (e.type === "message") {
        messages.push(e);
        take(session.completeMessage());
      }
      if (e.type === "auth") take(session.completeAuth(e.credentials.password === "secret" ? e.credentials.username : false));
      if (e.type === "starttls") take(session.tlsStarted({ protocol: "TLSv1.3" }));
      if (e.type === "close") closes.push(e.reason);
    }
  };
  for (const p of parts) take(session.feed(p));
  return { replies, messages, closes, text: messages.map((m) => Buffer.from(m.data).toString("latin1")) };
}
const crlf = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join("");
const open = crlf("EHLO c.example", "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.org>");

describe("SMTP session: transaction state dies with its transaction", () => {
  const cases: Array<{ name: string; input: string; replies: string[]; delivered: string[]; envelopes?: string[] }> = [
    {
      name: "BDAT / RSET / BDAT LAST: the second chunk has no transaction (was a TypeError)",
      input: `${open}BDAT 5\r\nabcdeRSET\r\nBDAT 5 LAST\r\nfghij`,
      replies: ["250 2.0.0 5 octets received", "250 2.0.0 OK", "503 5.5.1 BDAT chunk discarded: no valid transaction"],
      delivered: [],
    },
    {
      name: "aborted BDAT bytes never reach the next transaction (was a leak between senders)",
      input: `${open}BDAT 9\r\nsecret-12RSET\r\nMAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.org>\r\nBDAT 5 LAST\r\nhello`,
      replies: ["250 2.1.0 Sender OK", "250 2.1.5 Recipient OK", "250 2.0.0 Ok: queued"],
      delivered: ["hello"],
      envelopes: ["c@example.com"],
    },
    {
      name: "EHLO ends a BDAT transaction too",
      input: `${open}BDAT 3\r\nabcEHLO c.example\r\nMAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.org>\r\nBDAT 2 LAST\r\nxy`,
      replies: ["250 2.1.5 Recipient OK", "250 2.0.0 Ok: queued"],
      delivered: ["xy"],
      envelopes: ["c@example.com"],
    },
    {
      name: "a BDAT refused for size ends the transaction; chunks already pipelined are read and refused",
      input: `${open}BDAT 20\r\n${"x".repeat(20)}BDAT 2 LAST\r\nabNOOP\r\n`,
      replies: [
        "552 5.3.4 Message size exceeds fixed maximum message size",
        "503 5.5.1 BDAT chunk discarded: no valid transaction",
        "250 2.0.0 OK",
      ],
      delivered: [],
    },
    {
      name: "DATA after BDAT in one transaction is 503 (RFC 3030 2)",
      input: `${open}BDAT 2\r\nabDATA\r\nBDAT 0 LAST\r\n`,
      replies: ["250 2.0.0 2 octets received", "503 5.5.1 DATA not allowed after BDAT (RFC 3030 2)", "250 2.0.0 Ok: queued"],
      delivered: ["ab"],
    },
    {
      name: "a DATA message refused as ambiguous leaves nothing behind for the next one",
      input: `${open}DATA\r\nleak\n.\nmore\r\n.\r\nMAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.org>\r\nDATA\r\nclean\r\n.\r\n`,
      replies: ["354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 Ok: queued"],
      delivered: ["clean\r\n"],
      envelopes: ["c@example.com"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = drive(new SmtpSession({ ...base, maxMessageSize: 10 }), [c.input]);
      expect(r.replies.slice(-c.replies.length)).toEqual(c.replies);
      expect(r.text).toEqual(c.delivered);
      if (c.envelopes) expect(r.messages.map((m) => m.envelope.mailFrom)).toEqual(c.envelopes);
      expect(r.closes).toEqual([]);
    });
  }

  it("one reply per BDAT even without a transaction (was two)", () => {
    const r = drive(new SmtpSession(base), ["BDAT 3\r\nabcNOOP\r\n"]);
    expect(r.replies).toEqual(["503 5.5.1 BDAT chunk discarded: no valid transaction", "250 2.0.0 OK"]);
  });

  it("STARTTLS forgets EHLO, AUTH and the transaction (RFC 3207 4.2)", () => {
    const s = new SmtpSession({ ...base, mode: "mx", tlsAvailable: true, auth: true, allowPlaintextAuth: true });
    const plain = `AUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}`;
    const r = drive(s, [
      crlf("EHLO c.example", plain, "MAIL FROM:<a@example.com>", "STARTTLS"),
      crlf("RCPT TO:<b@example.org>", "EHLO c.example"),
    ]);
    expect(r.replies).toContain("235 2.7.0 Authentication successful");
    expect(r.replies).toContain("503 5.5.1 Need MAIL before RCPT");
    expect(s.authenticatedUser).toBeUndefined();
    expect(s.envelope).toMatchObject({ mailFrom: "", tls: { protocol: "TLSv1.3" } });
  });

  it("an AUTH LOGIN user name does not outlive its exchange", () => {
    const b = (t: string) => Buffer.from(t).toString("base64");
    const s = new SmtpSession({ ...base, mode: "submissions" });
    const seen: string[] = [];
    const out = s.feed(crlf("EHLO c", "AUTH LOGIN", b("mallory"), "*", "AUTH LOGIN", b("alice"), b("pw")));
    for (const e of out.events) if (e.type === "auth") seen.push(e.credentials.username);
    expect(seen).toEqual(["alice"]);
  });

  it("answering an event that is not pending is a SessionStateError; after close it is a no-op", () => {
    const s = new SmtpSession(base);
    expect(() => s.completeMessage()).toThrow(SessionStateError);
    expect(() => s.completeAuth("x")).toThrow(SessionStateError);
    expect(() => s.tlsStarted()).toThrow(SessionStateError);
    s.feed("QUIT\r\n");
    expect(s.completeMessage()).toEqual({ write: "", events: [], close: true });
  });
});

describe("SMTP session: end-of-data ambiguities (SMTP smuggling, 2023-2024)", () => {
  const ambiguous = "550 5.5.2 Ambiguous end-of-data sequence: lines must end with CRLF (RFC 5321 2.3.8, SMTP smuggling)";
  const bare = "550 5.5.2 Bare CR or LF is not allowed: lines must end with CRLF (RFC 5321 2.3.8)";
  // [name, bytes between "DATA\r\nbody" and the real "\r\n.\r\n", reply by default, reply with rejectBareLineFeed]
  const table: Array<[string, string, string, string]> = [
    ["<LF>.<LF>", "\n.\n", ambiguous, ambiguous],
    ["<CR>.<CR>", "\r.\r", ambiguous, ambiguous],
    ["<CR><LF>.<LF>", "\r\n.\n", ambiguous, ambiguous],
    ["<LF>.<CR><LF>", "\n.\r\n", ambiguous, ambiguous],
    ["<CR>.<CR><LF>", "\r.\r\n", ambiguous, ambiguous],
    ["<CR><LF>.<CR> then text", "\r\n.\rX", ambiguous, ambiguous],
    ["<CR><LF>.<CR><CR><LF>", "\r\n.\r\r\n", ambiguous, ambiguous],
    ["<CR>.<LF>", "\r.\n", ambiguous, ambiguous],
    ["<LF>.<CR> then text", "\n.\rX", ambiguous, ambiguous],
    ["<CR><CR><LF>.<LF>", "\r\r\n.\n", ambiguous, ambiguous],
    ["bare LF in text", "a\nb", "250 2.0.0 Ok: queued", bare],
    ["bare CR in text", "a\rb", "250 2.0.0 Ok: queued", bare],
    ["<LF>.. <LF>: a stuffed-looking line after a bare LF", "\n..\n", "250 2.0.0 Ok: queued", bare],
    ["<LF>.text", "\n.text", "250 2.0.0 Ok: queued", bare],
    ["<CR><LF>..<CR><LF>: dot-stuffed dot", "\r\n..\r\n", "250 2.0.0 Ok: queued", "250 2.0.0 Ok: queued"],
  ];
  for (const [name, middle, reply, strict] of table) {
    for (const [mode, expected] of [
      ["default", reply],
      ["rejectBareLineFeed", strict],
    ] as const) {
      it(`DATA with ${name} (${mode}): ${expected.slice(0, 3)}; the text after it is never a command`, () => {
        const s = new SmtpSession({ ...base, rejectBareLineFeed: mode === "rejectBareLineFeed" });
        const input = `body${middle}MAIL FROM:<smuggled@evil.example>\r\n.\r\nNOOP\r\n`;
        // Whole, and a byte at a time: the same replies, and nothing in between is run as a command.
        for (const parts of [[input], [...input]]) {
          expect(drive(s, [`${open}DATA\r\n`]).replies.at(-1)).toBe("354 End data with <CR><LF>.<CR><LF>");
          expect(drive(s, parts).replies).toEqual([expected, "250 2.0.0 OK"]);
          drive(s, ["RSET\r\n"]);
        }
      });
    }
  }

  it("BDAT text: ambiguous forms are refused, <CR><LF>.<CR><LF> is content", () => {
    const chunk = (t: string) => `BDAT ${Buffer.byteLength(t)} LAST\r\n${t}`;
    const ok = drive(new SmtpSession(base), [open + chunk("a\r\n.\r\nb\r\n")]);
    expect(ok.text).toEqual(["a\r\n.\r\nb\r\n"]);
    for (const bad of ["a\n.\nb", "a\r.\rb", "a\r\n.\nb", "a\n.\r\nb"]) {
      const r = drive(new SmtpSession(base), [open + chunk(bad)]);
      expect(r.messages).toHaveLength(0);
      expect(r.replies.at(-1)).toBe(ambiguous);
    }
  });

  it("BDAT with BODY=BINARYMIME is binary: nothing is scanned or refused", () => {
    const t = "a\n.\nb\r.\r";
    const r = drive(new SmtpSession(base), [
      `${crlf("EHLO c", "MAIL FROM:<a@example.com> BODY=BINARYMIME", "RCPT TO:<b@example.org>")}BDAT ${t.length} LAST\r\n${t}`,
    ]);
    expect(r.text).toEqual([t]);
  });

  it("property: no byte sequence other than CRLF.CRLF ends DATA", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom("\r", "\n", ".", "\r\n", "x", "\r\n.", ".\r\n"), fc.string({ maxLength: 4 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        (pieces, step) => {
          const body = pieces.join("");
          const s = new SmtpSession(base);
          s.feed(`${open}DATA\r\n`);
          let ended = false;
          for (let i = 0; i < body.length; i += step) {
            const out = s.feed(body.slice(i, i + step));
            if (out.write !== "" || out.events.length > 0) ended = true;
          }
          // The message ends exactly when CRLF.CRLF (or "." CRLF at the very start) is in the stream.
          expect(ended).toBe(body.includes("\r\n.\r\n") || body.startsWith(".\r\n"));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("SMTP session: memory and linear time", () => {
  it("a 25 MiB DATA of empty lines is held in a few large blocks, not a buffer per line", () => {
    const size = 25 * 1024 * 1024 - 16;
    const body = Buffer.alloc(size, "\r\n");
    const s = new SmtpSession({ ...base, maxMessageSize: 25 * 1024 * 1024 });
    s.feed(`${open}DATA\r\n`);
    const before = process.memoryUsage();
    let message: Message | undefined;
    for (let i = 0; i < body.length; i += 65_536) {
      for (const e of s.feed(body.subarray(i, i + 65_536)).events) if (e.type === "message") message = e;
    }
    for (const e of s.feed(".\r\n").events) if (e.type === "message") message = e;
    const after = process.memoryUsage();
    expect(message?.data.length).toBe(size);
    // Loose: the message, its blocks and the input chunks; one buffer per line cost ~3 GB.
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    expect(grown).toBeLessThan(8 * size);
  }, 60_000);

  it("MessageBuffer: 13 million two-byte writes land in a handful of blocks", () => {
    const b = new MessageBuffer(30 * 1024 * 1024);
    const line = Buffer.from("\r\n");
    for (let i = 0; i < 13_000_000; i++) b.write(line);
    expect(b.size).toBe(26_000_000);
    expect(b.blockCount).toBeLessThanOrEqual(16);
    expect(b.finish().length).toBe(26_000_000);
  }, 60_000);

  it("over maxMessageSize: the content is dropped at once, the rest read to the end, then 552", () => {
    const s = new SmtpSession({ ...base, maxMessageSize: 1000 });
    s.feed(`${open}DATA\r\n`);
    s.feed("x".repeat(2000));
    expect(s.pendingInput).toBe(0);
    const r = drive(s, [`${"y".repeat(5000)}\r\n.\r\nNOOP\r\n`]);
    expect(r.replies).toEqual(["552 5.3.4 Message size exceeds fixed maximum message size", "250 2.0.0 OK"]);
  });

  it("300,000 pipelined NOOPs in one chunk (2.4 MB) get 300,000 replies (was ~40 s)", () => {
    const s = new SmtpSession({ ...base, maxErrors: 1 });
    const out = s.feed("NOOP\r\n".repeat(300_000) + "NOOP\r\n".repeat(100_000));
    expect(out.write.length).toBe("250 2.0.0 OK\r\n".length * 400_000);
  }, 30_000);

  it("commands cut at odd points across the input buffer's compactions are all read", () => {
    for (const step of [3, 7, 61, 1000, 4093]) {
      const s = new SmtpSession(base);
      const input = Buffer.from(`${"NOOP\r\n".repeat(20_000)}HELP\r\n`);
      let out = "";
      for (let i = 0; i < input.length; i += step) out += s.feed(input.subarray(i, i + step)).write;
      expect(out).toBe(`${"250 2.0.0 OK\r\n".repeat(20_000)}214 2.0.0 See RFC 5321\r\n`);
    }
  });

  it("DATA a byte at a time (was ~36 us a byte) keeps nothing in the input queue", () => {
    const s = new SmtpSession(base);
    s.feed(`${open}DATA\r\n`);
    const line = Buffer.from(`${"z".repeat(78)}\r\n`);
    for (let n = 0; n < 2000; n++) for (let i = 0; i < line.length; i++) s.feed(line.subarray(i, i + 1));
    expect(s.pendingInput).toBe(0);
    const r = drive(s, [".\r\n"]);
    expect(r.messages[0]?.data.length).toBe(2000 * 80);
  }, 30_000);

  it("a command line longer than the limit is dropped as it arrives, answered once with 500 5.5.2", () => {
    const s = new SmtpSession(base);
    const replies: string[] = [];
    for (let i = 0; i < 1000; i++) {
      replies.push(...s.feed("x".repeat(1000)).write.split("\r\n").filter(Boolean));
      expect(s.pendingInput).toBeLessThanOrEqual(512 + 1024 + 1000);
    }
    replies.push(...s.feed("\r\nNOOP\r\n").write.split("\r\n").filter(Boolean));
    expect(replies).toEqual(["500 5.5.2 Line too long", "250 2.0.0 OK"]);
  });

  it("MAIL may use the extension allowance (RFC 3461/4954 parameters), other commands may not", () => {
    const envid = "E".repeat(100);
    const auth = "a".repeat(400);
    const r = drive(new SmtpSession(base), [
      crlf("EHLO c", `MAIL FROM:<a@example.com> ENVID=${envid} AUTH=${auth}@example.com SIZE=1000`, `NOOP ${"n".repeat(600)}`),
    ]);
    expect(r.replies.slice(-2)).toEqual(["250 2.1.0 Sender OK", "500 5.5.2 Line too long"]);
  });
});

describe("SMTP session: input while the application decides", () => {
  it("wantsInput is false while a message or AUTH event is pending, true again after the answer", () => {
    const s = new SmtpSession({ ...base, mode: "submissions" });
    s.feed(`EHLO c\r\nAUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}\r\n`);
    expect(s.wantsInput).toBe(false);
    s.completeAuth("alice");
    expect(s.wantsInput).toBe(true);
    s.feed(crlf("MAIL FROM:<a@example.com>", "RCPT TO:<b@example.org>", "DATA", "x", "."));
    expect(s.wantsInput).toBe(false);
    s.completeMessage();
    expect(s.wantsInput).toBe(true);
  });

  it("wantsInput stays true while STARTTLS is pending (the handshake needs the socket), false once closed", () => {
    const s = new SmtpSession({ ...base, tlsAvailable: true });
    expect(s.feed("EHLO c\r\nSTARTTLS\r\n").events).toEqual([{ type: "starttls" }]);
    expect(s.wantsInput).toBe(true);
    expect(s.feed("MAIL FROM:<injected@evil.example>\r\n").write).toBe("");
    s.tlsStarted();
    s.feed("QUIT\r\n");
    expect(s.wantsInput).toBe(false);
  });

  it("input past maxPendingInput while an event is pending: 421 4.7.0 and close, nothing buffered", () => {
    const s = new SmtpSession({ ...base, maxPendingInput: 10_000 });
    s.feed(`${open}DATA\r\nx\r\n.\r\n`);
    for (let i = 0; i < 9; i++) expect(s.feed("NOOP\r\n".repeat(100)).close).toBe(false);
    const out = s.feed("NOOP\r\n".repeat(1000));
    expect(out.write).toBe("421 4.7.0 mx.example.org Too much input while a reply is pending, closing connection\r\n");
    expect(out.events).toEqual([{ type: "close", reason: "input overflow" }]);
    expect(s.pendingInput).toBe(0);
    expect(s.completeMessage().write).toBe("");
  });

  it("pipelined input within the cap is answered in order after the event", () => {
    const s = new SmtpSession(base);
    s.feed(`${open}DATA\r\nx\r\n.\r\n`);
    s.feed("NOOP\r\n".repeat(1000));
    expect(s.pendingInput).toBe(6000);
    expect(s.completeMessage().write.split("\r\n").filter(Boolean)).toHaveLength(1001);
  });
});

describe("SMTP session: callbacks that break their contract fail closed (never an open relay)", () => {
  const foreign = crlf("EHLO c.example", "MAIL FROM:<a@example.com>", "RCPT TO:<victim@foreign.example>");
  // Each value is truthy or not a boolean: before, `if (!local && !mayRelay)` granted every truthy one.
  const values: Array<[string, () => unknown]> = [
    ["an async predicate's Promise of false", () => Promise.resolve(false)],
    ["a rejected Promise", () => Promise.reject(new Error("db down"))],
    ['"yes"', () => "yes"],
    ["1", () => 1],
    ["an object", () => ({})],
    ["undefined", () => undefined],
  ];
  for (const [name, value] of values) {
    for (const option of ["localDomains", "isTrustedClient"] as const) {
      it(`${option} returning ${name}: 451 4.3.0, a fault event, nothing relayed`, () => {
        const session = new SmtpSession({ ...base, localDomains: ["example.org"], [option]: value } as unknown as SessionOptions);
        const faults: unknown[] = [];
        const out = session.feed(foreign);
        for (const e of out.events) if (e.type === "fault") faults.push(e.error);
        expect(out.write).toContain("451 4.3.0 Temporary local problem, try again later\r\n");
        expect(out.write).not.toContain("250 2.1.5");
        expect(faults).toEqual([expect.objectContaining({ name: "SessionCallbackError", callback: option })]);
        const after = drive(session, [crlf("DATA"), "x\r\n.\r\n"]);
        expect(after.messages).toEqual([]);
      });
    }
  }

  it("the boolean true still grants; false still refuses with 550", () => {
    const yes = drive(new SmtpSession({ ...base, isTrustedClient: () => true }), [foreign]);
    expect(yes.replies.at(-1)).toBe("250 2.1.5 Recipient OK");
    const no = drive(new SmtpSession({ ...base, localDomains: () => false }), [foreign]);
    expect(no.replies.at(-1)).toBe("550 5.7.1 Relaying denied");
  });

  for (const [name, value] of [
    ["true", true],
    ["a Promise", Promise.resolve("alice")],
    ["an empty name", ""],
    ["1", 1],
  ] as const) {
    it(`completeAuth(${name}) never authenticates: 454 4.7.0 and a fault event`, () => {
      const session = new SmtpSession({ ...base, mode: "submission", allowPlaintextAuth: true });
      const auth = session.feed(crlf("EHLO c.example", `AUTH PLAIN ${Buffer.from("\0alice\0pw").toString("base64")}`));
      expect(auth.events.map((e) => e.type)).toEqual(["auth"]);
      const out = session.completeAuth(value as unknown as string);
      expect(out.write).toBe("454 4.7.0 Temporary authentication failure\r\n");
      expect(out.events).toEqual([{ type: "fault", error: expect.objectContaining({ callback: "completeAuth" }) }]);
      expect(session.envelope.authenticatedUser).toBeUndefined();
      const relay = session.feed(crlf("MAIL FROM:<a@example.com>", "RCPT TO:<victim@foreign.example>"));
      expect(relay.write).toContain("530 5.7.0 Authentication required");
    });
  }
});
