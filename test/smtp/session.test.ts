import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SessionEvent, type SessionOptions, type SessionOutput, SmtpSession } from "../../src/smtp/index.js";

const base: SessionOptions = { hostname: "mx.example.org", clientIp: "192.0.2.9", localDomains: ["example.org"] };

/** Feeds input and answers events the way a simple server would; returns reply codes and events. */
function run(session: SmtpSession, input: string | Uint8Array, answers: { auth?: (u: string, p: string) => boolean } = {}) {
  const replies: string[] = [];
  const events: SessionEvent[] = [];
  const take = (out: SessionOutput) => {
    replies.push(...out.write.split("\r\n").filter(Boolean));
    for (const e of out.events) {
      events.push(e);
      if (e.type === "message") take(session.completeMessage());
      if (e.type === "auth")
        take(session.completeAuth(answers.auth?.(e.credentials.username, e.credentials.password) ? e.credentials.username : false));
    }
  };
  take(session.feed(input));
  return { replies, codes: replies.map((r) => r.slice(0, 3)), events, messages: events.filter((e) => e.type === "message") };
}

const crlf = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join("");

describe("SMTP session: the dialogue", () => {
  it("greets, takes a whole transaction pipelined, and hands over the message with its envelope", () => {
    const s = new SmtpSession(base);
    expect(s.start().write).toBe("220 2.0.0 mx.example.org ESMTP ready\r\n");
    const r = run(
      s,
      crlf(
        "EHLO client.example.com",
        "MAIL FROM:<alice@example.com>",
        "RCPT TO:<bob@example.org>",
        "DATA",
        "Subject: hi",
        "",
        "..dot-stuffed line",
        ".",
        "QUIT",
      ),
    );
    expect(r.codes).toEqual(["250", "250", "250", "250", "250", "250", "250", "250", "250", "250", "250", "354", "250", "221"]);
    expect(r.messages).toHaveLength(1);
    const m = r.messages[0] as Extract<SessionEvent, { type: "message" }>;
    expect(new TextDecoder().decode(m.data)).toBe("Subject: hi\r\n\r\n.dot-stuffed line\r\n");
    expect(m.envelope).toEqual({
      ip: "192.0.2.9",
      helo: "client.example.com",
      mailFrom: "alice@example.com",
      rcptTo: ["bob@example.org"],
      tls: false,
    });
    expect(r.events.at(-1)).toEqual({ type: "close", reason: "QUIT" });
    expect(s.closed).toBe(true);
  });

  it("advertises the extensions it supports", () => {
    const r = run(new SmtpSession({ ...base, tlsAvailable: true }), crlf("EHLO c.example"));
    expect(r.replies.map((l) => l.slice(4))).toEqual([
      "mx.example.org Hello c.example",
      "PIPELINING",
      "SIZE 26214400",
      "8BITMIME",
      "SMTPUTF8",
      "ENHANCEDSTATUSCODES",
      "CHUNKING",
      "BINARYMIME",
      "DSN",
      "STARTTLS",
    ]);
  });

  it("works when the input arrives one byte at a time", () => {
    const s = new SmtpSession(base);
    const text = crlf("EHLO c.example", "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.org>", "DATA", "x", ".");
    const codes: string[] = [];
    let messages = 0;
    for (const ch of text) {
      const out = s.feed(ch);
      codes.push(
        ...out.write
          .split("\r\n")
          .filter(Boolean)
          .map((l) => l.slice(0, 3)),
      );
      for (const e of out.events) if (e.type === "message") messages++;
    }
    expect(messages).toBe(1);
    expect(codes.at(-1)).toBe("354");
  });

  const order: Array<[string, string, string[]]> = [
    ["MAIL before EHLO is 503", crlf("MAIL FROM:<a@example.com>"), ["503 5.5.1 Send HELO/EHLO first"]],
    ["RCPT before MAIL is 503", crlf("EHLO c", "RCPT TO:<b@example.org>"), ["503 5.5.1 Need MAIL before RCPT"]],
    ["DATA before RCPT is 503", crlf("EHLO c", "MAIL FROM:<a@example.com>", "DATA"), ["503 5.5.1 Need RCPT command"]],
    [
      "DATA after only refused recipients is 554",
      crlf("EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<x@elsewhere.example>", "DATA"),
      ["554 5.5.1 No valid recipients"],
    ],
    ["a second MAIL is 503", crlf("EHLO c", "MAIL FROM:<a@example.com>", "MAIL FROM:<a@example.com>"), ["503 5.5.1 Nested MAIL command"]],
    [
      "RSET ends the transaction",
      crlf("EHLO c", "MAIL FROM:<a@example.com>", "RSET", "RCPT TO:<b@example.org>"),
      ["503 5.5.1 Need MAIL before RCPT"],
    ],
    [
      "EHLO ends the transaction",
      crlf("EHLO c", "MAIL FROM:<a@example.com>", "EHLO c", "RCPT TO:<b@example.org>"),
      ["503 5.5.1 Need MAIL before RCPT"],
    ],
    ["an unknown command is 500", crlf("WHAT"), ["500 5.5.1 Command unrecognized"]],
    ["VRFY does not disclose", crlf("VRFY root"), ["252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery"]],
    [
      "SIZE over the limit is refused at MAIL",
      crlf("EHLO c", "MAIL FROM:<a@example.com> SIZE=999999999999"),
      ["552 5.3.4 Message size exceeds fixed maximum message size"],
    ],
    ["parameters after HELO are refused", crlf("HELO c", "MAIL FROM:<a@example.com> BODY=8BITMIME"), ["555 5.5.4 Parameters need EHLO"]],
    [
      "BINARYMIME with DATA is refused",
      crlf("EHLO c", "MAIL FROM:<a@example.com> BODY=BINARYMIME", "RCPT TO:<b@example.org>", "DATA"),
      ["503 5.5.1 BINARYMIME needs BDAT (RFC 3030)"],
    ],
  ];
  for (const [name, input, last] of order) {
    it(name, () => {
      const r = run(new SmtpSession(base), input);
      expect(r.replies.slice(-last.length)).toEqual(last);
    });
  }
});

describe("SMTP session: no open relay", () => {
  const dialog = (opts: Partial<SessionOptions>, rcpt: string, auth = "") =>
    run(new SmtpSession({ ...base, ...opts }), crlf("EHLO c", ...(auth ? [auth] : []), "MAIL FROM:<a@example.com>", `RCPT TO:<${rcpt}>`), {
      auth: (u, p) => u === "alice" && p === "secret",
    }).replies.at(-1);
  const plain = `AUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}`;

  it("a local domain is accepted from anyone", () => expect(dialog({}, "bob@EXAMPLE.org")).toBe("250 2.1.5 Recipient OK"));
  it("Postmaster without a domain is accepted", () => expect(dialog({}, "Postmaster")).toBe("250 2.1.5 Recipient OK"));
  it("another domain from an unauthenticated client is relaying: 550 5.7.1", () =>
    expect(dialog({}, "victim@elsewhere.example")).toBe("550 5.7.1 Relaying denied"));
  it("a trusted client may relay", () =>
    expect(dialog({ isTrustedClient: (ip) => ip === "192.0.2.9" }, "x@elsewhere.example")).toBe("250 2.1.5 Recipient OK"));
  it("an authenticated client may relay", () => {
    expect(dialog({ auth: true, allowPlaintextAuth: true }, "x@elsewhere.example", plain)).toBe("250 2.1.5 Recipient OK");
  });
  it("recipients past the limit get 452 4.5.3", () => {
    const r = run(
      new SmtpSession({ ...base, maxRecipients: 2 }),
      crlf("EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<1@example.org>", "RCPT TO:<2@example.org>", "RCPT TO:<3@example.org>"),
    );
    expect(r.replies.at(-1)).toBe("452 4.5.3 Too many recipients");
  });
});

describe("SMTP session: submission, TLS and AUTH", () => {
  const plain = `AUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}`;
  const auth = { auth: (u: string, p: string) => u === "alice" && p === "secret" };

  it("port 587: AUTH before STARTTLS is refused with 538 5.7.11, and not offered", () => {
    const r = run(new SmtpSession({ ...base, mode: "submission", tlsAvailable: true }), crlf("EHLO c", plain), auth);
    expect(r.replies.some((l) => l.includes("AUTH"))).toBe(false);
    expect(r.replies.at(-1)).toBe("538 5.7.11 Encryption required for requested authentication mechanism");
  });
  it("port 587: MAIL without AUTH is refused with 530 5.7.0", () => {
    const r = run(new SmtpSession({ ...base, mode: "submission", tlsAvailable: true }), crlf("EHLO c", "MAIL FROM:<a@example.com>"));
    expect(r.replies.at(-1)).toBe("530 5.7.0 Authentication required");
  });
  it("STARTTLS drops pipelined plaintext (no command injection), then the session starts over", () => {
    const s = new SmtpSession({ ...base, mode: "submission", tlsAvailable: true });
    const r = run(s, crlf("EHLO c", "STARTTLS", "MAIL FROM:<injected@evil.example>"));
    expect(r.replies.at(-1)).toBe("220 2.0.0 Ready to start TLS");
    expect(r.events).toEqual([{ type: "starttls" }]);
    s.tlsStarted({ protocol: "TLSv1.3" });
    expect(s.tls).toBe(true);
    const after = run(s, crlf("MAIL FROM:<a@example.com>"));
    expect(after.replies).toEqual(["503 5.5.1 Send HELO/EHLO first"]);
  });
  it("port 587 after STARTTLS: AUTH PLAIN, then relay as the user, envelope carries TLS and user", () => {
    const s = new SmtpSession({ ...base, mode: "submission", tlsAvailable: true });
    run(s, crlf("EHLO c", "STARTTLS"));
    s.tlsStarted({ protocol: "TLSv1.3" });
    const r = run(s, crlf("EHLO c", plain, "MAIL FROM:<alice@example.org>", "RCPT TO:<x@elsewhere.example>", "DATA", "hi", "."), auth);
    expect(r.replies.filter((l) => l.startsWith("235"))).toEqual(["235 2.7.0 Authentication successful"]);
    const m = r.messages[0] as Extract<SessionEvent, { type: "message" }>;
    expect(m.envelope).toMatchObject({ authenticatedUser: "alice", tls: { protocol: "TLSv1.3" }, rcptTo: ["x@elsewhere.example"] });
  });
  it("port 465: TLS from the start, AUTH LOGIN in steps", () => {
    const s = new SmtpSession({ ...base, mode: "submissions" });
    const b = (t: string) => Buffer.from(t).toString("base64");
    const r = run(s, crlf("EHLO c", "AUTH LOGIN", b("alice"), b("secret")), auth);
    expect(r.replies.slice(-3)).toEqual(["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 Authentication successful"]);
  });
  it("wrong credentials: 535 5.7.8; '*' cancels; bad base64: 501", () => {
    const s = new SmtpSession({ ...base, mode: "submissions" });
    const bad = `AUTH PLAIN ${Buffer.from("\0alice\0wrong").toString("base64")}`;
    const r = run(s, crlf("EHLO c", bad, "AUTH PLAIN", "*", "AUTH PLAIN !!!"), auth);
    expect(r.replies.slice(-4)).toEqual([
      "535 5.7.8 Authentication credentials invalid",
      "334 ",
      "501 5.7.0 Authentication cancelled",
      "501 5.5.4 Syntax: AUTH mechanism [initial-response]",
    ]);
  });
  it("AUTH on port 25 is not offered by default", () => {
    expect(run(new SmtpSession(base), crlf("EHLO c", plain)).replies.at(-1)).toBe("502 5.5.1 AUTH not available");
  });
});

describe("SMTP session: DATA, BDAT and limits", () => {
  const start = crlf("EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.org>");

  it("only CRLF.CRLF ends DATA: a bare-LF dot line neither ends the message nor passes (SMTP smuggling defence)", () => {
    const r = run(new SmtpSession(base), `${start}DATA\r\nSubject: a\r\n\r\nhello\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nNOOP\r\n`);
    // The smuggled MAIL is never run as a command, and the message holding it is refused.
    expect(r.messages).toHaveLength(0);
    expect(r.replies.slice(-2)).toEqual([
      "550 5.5.2 Ambiguous end-of-data sequence: lines must end with CRLF (RFC 5321 2.3.8, SMTP smuggling)",
      "250 2.0.0 OK",
    ]);
  });
  it("a bare LF elsewhere is content by default", () => {
    const r = run(new SmtpSession(base), `${start}DATA\r\nSubject: a\r\n\r\nhello\nworld\r\n.\r\n`);
    const m = r.messages[0] as Extract<SessionEvent, { type: "message" }>;
    expect(new TextDecoder().decode(m.data)).toBe("Subject: a\r\n\r\nhello\nworld\r\n");
  });
  it("rejectBareLineFeed refuses such a message with 550 5.5.2", () => {
    const r = run(new SmtpSession({ ...base, rejectBareLineFeed: true }), `${start}DATA\r\nhello\n.\n\r\n.\r\n`);
    expect(r.messages).toHaveLength(0);
    expect(r.replies.at(-1)).toMatch(/^550 5\.5\.2/);
  });
  it("a message over maxMessageSize is read to its end and refused with 552 5.3.4", () => {
    const r = run(new SmtpSession({ ...base, maxMessageSize: 100 }), `${start}DATA\r\n${"x".repeat(300)}\r\n.\r\nNOOP\r\n`);
    expect(r.replies.slice(-2)).toEqual(["552 5.3.4 Message size exceeds fixed maximum message size", "250 2.0.0 OK"]);
  });
  it("a long line in DATA is kept whole, and a leading dot removed only at a line start", () => {
    const long = `.${"y".repeat(200_000)}`;
    const r = run(new SmtpSession(base), `${start}DATA\r\n${long}\r\n.\r\n`);
    const m = r.messages[0] as Extract<SessionEvent, { type: "message" }>;
    expect(m.data.length).toBe(200_002);
  });
  it("BDAT chunks, binary-safe, with BINARYMIME", () => {
    const s = new SmtpSession(base);
    const chunk1 = Buffer.from("Subject: x\r\n\r\n");
    const chunk2 = Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a, 255]);
    const input = Buffer.concat([
      Buffer.from(crlf("EHLO c", "MAIL FROM:<a@example.com> BODY=BINARYMIME", "RCPT TO:<b@example.org>", `BDAT ${chunk1.length}`)),
      chunk1,
      Buffer.from(`BDAT ${chunk2.length} LAST\r\n`),
      chunk2,
    ]);
    const r = run(s, input);
    expect(r.replies.slice(-2)).toEqual([`250 2.0.0 ${chunk1.length} octets received`, "250 2.0.0 Ok: queued"]);
    const m = r.messages[0] as Extract<SessionEvent, { type: "message" }>;
    expect(Buffer.from(m.data)).toEqual(Buffer.concat([chunk1, chunk2]));
  });
  it("a BDAT chunk without a transaction is read and discarded: its bytes are not taken as commands", () => {
    const r = run(new SmtpSession(base), "EHLO c\r\nBDAT 12 LAST\r\nQUIT\r\nQUIT\r\nNOOP\r\n");
    expect(r.replies.slice(-2)).toEqual(["503 5.5.1 BDAT chunk discarded: no valid transaction", "250 2.0.0 OK"]);
  });
  it("a command line over 512 octets is 500 5.5.2, and the session goes on", () => {
    const r = run(new SmtpSession(base), `NOOP ${"x".repeat(2000)}\r\nNOOP\r\n`);
    expect(r.replies).toEqual(["500 5.5.2 Line too long", "250 2.0.0 OK"]);
  });
  it("too many errors end the session with 421", () => {
    const r = run(new SmtpSession({ ...base, maxErrors: 3 }), crlf("A", "B", "C", "D"));
    expect(r.codes).toEqual(["500", "500", "500", "421"]);
    expect(r.events.at(-1)).toEqual({ type: "close", reason: "too many errors" });
  });
  it("a rejected message reply from the server counts, and the transaction ends", () => {
    const s = new SmtpSession(base);
    const out = s.feed(`${start}DATA\r\nx\r\n.\r\n`);
    expect(out.events.map((e) => e.type)).toEqual(["message"]);
    expect(s.completeMessage({ code: 550, enhanced: "5.7.1", lines: ["Rejected per DMARC"] }).write).toBe(
      "550 5.7.1 Rejected per DMARC\r\n",
    );
    expect(s.feed("RCPT TO:<b@example.org>\r\n").write).toBe("503 5.5.1 Need MAIL before RCPT\r\n");
  });
  it("input after a message waits until the server has answered it (pipelining keeps order)", () => {
    const s = new SmtpSession(base);
    const out = s.feed(`${start}DATA\r\nx\r\n.\r\nNOOP\r\n`);
    expect(out.write.split("\r\n").filter(Boolean).at(-1)).toMatch(/^354/);
    expect(s.completeMessage().write).toBe("250 2.0.0 Ok: queued\r\n250 2.0.0 OK\r\n");
  });
});

describe("SMTP session: hostile input", () => {
  it("any bytes: never throws, every reply is well-formed", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            fc.constantFrom(
              "EHLO c\r\n",
              "MAIL FROM:<a@example.com>\r\n",
              "RCPT TO:<b@example.org>\r\n",
              "DATA\r\n",
              ".\r\n",
              "BDAT 5\r\n",
              "AUTH LOGIN\r\n",
              "STARTTLS\r\n",
            ),
          ),
          { maxLength: 20 },
        ),
        (parts) => {
          const s = new SmtpSession({ ...base, mode: "submissions" });
          for (const p of parts) {
            const out = s.feed(p);
            for (const line of out.write.split("\r\n").filter(Boolean)) expect(line).toMatch(/^[2-5][0-9]{2}([ -]|$)/);
            for (const e of out.events) {
              if (e.type === "message") s.completeMessage();
              if (e.type === "auth") s.completeAuth(false);
              if (e.type === "starttls") s.tlsStarted();
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
