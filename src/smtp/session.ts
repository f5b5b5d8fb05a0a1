import type { Envelope } from "../authenticate.js";
import { type MailParams, parseCommand, type RcptParams, type SmtpCommand } from "./command.js";
import type { SmtpPath } from "./path.js";
import { formatReply, type Reply } from "./reply.js";
import { type Credentials, decodeBase64Response, decodePlain, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT } from "./sasl.js";

/** "mx": port 25. "submission": port 587, STARTTLS then AUTH. "submissions": port 465, TLS from the start. */
export type SmtpMode = "mx" | "submission" | "submissions";

export interface SessionOptions {
  /** This server's name, in the greeting and the EHLO reply. */
  hostname: string;
  /** The client's address (goes into the envelope). */
  clientIp: string;
  mode?: SmtpMode;
  /** STARTTLS can be offered (the server has a certificate). Default false. */
  tlsAvailable?: boolean;
  /** Offer AUTH. Default: true in the submission modes, false on "mx". */
  auth?: boolean;
  /** Allow AUTH without TLS (never on by default: RFC 4954 4 and RFC 8314). */
  allowPlaintextAuth?: boolean;
  /** SASL mechanisms offered. Default ["PLAIN", "LOGIN"]. */
  authMechanisms?: ReadonlyArray<"PLAIN" | "LOGIN">;
  /** Domains that accept mail from anyone. Others only from authenticated or trusted clients. */
  localDomains?: readonly string[] | ((domain: string) => boolean);
  /** Clients allowed to relay without AUTH (e.g. your own network). */
  isTrustedClient?: (ip: string) => boolean;
  /** Largest message, bytes (SIZE). Default 25 MiB. */
  maxMessageSize?: number;
  /** Recipients per transaction. Default 100 (RFC 5321 4.5.3.1.8). */
  maxRecipients?: number;
  /** Failed commands before the session ends with 421. Default 10. */
  maxErrors?: number;
  /** Longest command line, CRLF included. Default 512. */
  maxLineLength?: number;
  /** Refuse messages with a bare LF in DATA (550 5.5.2). Default false: kept as content. */
  rejectBareLineFeed?: boolean;
}

export type SessionEvent =
  /** Write the pending reply, start TLS on the socket, then call tlsStarted(). */
  | { type: "starttls" }
  /** Check the credentials, then call completeAuth(username) or completeAuth(false). */
  | { type: "auth"; mechanism: "PLAIN" | "LOGIN"; credentials: Credentials }
  /** A complete message: decide (e.g. authenticate()), then call completeMessage(reply). */
  | {
      type: "message";
      envelope: Envelope;
      data: Uint8Array;
      mailParams: MailParams;
      recipients: Array<{ path: SmtpPath; params: RcptParams }>;
    }
  /** The session is over: close the connection after writing. */
  | { type: "close"; reason: string };

export interface SessionOutput {
  /** Bytes to write to the client, in order. */
  write: string;
  events: SessionEvent[];
  /** Close the connection after writing. */
  close: boolean;
}

type InputMode = "command" | "data" | "bdat" | "auth-plain" | "auth-login-user" | "auth-login-pass" | "wait" | "closed";

interface Transaction {
  from: SmtpPath;
  params: MailParams;
  recipients: Array<{ path: SmtpPath; params: RcptParams }>;
  rcptAttempts: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const r = (code: number, enhanced: string, ...lines: string[]): Reply => ({ code, enhanced, lines });

/**
 * An SMTP server session with no I/O: feed it the client's bytes, write what it returns, act on its
 * events. It enforces command order, pipelining, DATA and BDAT framing, size and recipient limits,
 * the relay policy (no open relay), and AUTH only over TLS on submission ports.
 */
export class SmtpSession {
  readonly options: Readonly<
    Required<Omit<SessionOptions, "localDomains" | "isTrustedClient">> & {
      localDomains: SessionOptions["localDomains"] | undefined;
      isTrustedClient: SessionOptions["isTrustedClient"] | undefined;
    }
  >;
  #mode: InputMode = "command";
  #buf = new Uint8Array(0);
  #helo: string | undefined;
  #esmtp = false;
  #tls: boolean;
  #tlsInfo: Record<string, unknown> | undefined;
  #user: string | undefined;
  #tx: Transaction | undefined;
  #errors = 0;
  #out: string[] = [];
  #events: SessionEvent[] = [];
  #close = false;
  #data: Uint8Array[] = [];
  #dataSize = 0;
  #overSize = false;
  #bareLf = false;
  #dataLineStart = true;
  #bdatRemaining = 0;
  #bdatLast = false;
  #bdatValid = false;
  #skipLongLine = false;
  #loginUser = "";
  #started = false;

  constructor(options: SessionOptions) {
    const mode = options.mode ?? "mx";
    this.options = {
      mode,
      tlsAvailable: options.tlsAvailable ?? false,
      auth: options.auth ?? mode !== "mx",
      allowPlaintextAuth: options.allowPlaintextAuth ?? false,
      authMechanisms: options.authMechanisms ?? ["PLAIN", "LOGIN"],
      maxMessageSize: options.maxMessageSize ?? 25 * 1024 * 1024,
      maxRecipients: options.maxRecipients ?? 100,
      maxErrors: options.maxErrors ?? 10,
      maxLineLength: options.maxLineLength ?? 512,
      rejectBareLineFeed: options.rejectBareLineFeed ?? false,
      hostname: options.hostname,
      clientIp: options.clientIp,
      localDomains: options.localDomains,
      isTrustedClient: options.isTrustedClient,
    };
    this.#tls = mode === "submissions";
  }

  /** The envelope so far, in the shape authenticate() takes. */
  get envelope(): Envelope {
    const e: Envelope = {
      ip: this.options.clientIp,
      helo: this.#helo ?? "",
      mailFrom: this.#tx?.from.address ?? "",
      rcptTo: this.#tx?.recipients.map((x) => x.path.address) ?? [],
    };
    e.tls = this.#tlsInfo ?? this.#tls;
    if (this.#user !== undefined) e.authenticatedUser = this.#user;
    return e;
  }

  get authenticatedUser(): string | undefined {
    return this.#user;
  }

  get tls(): boolean {
    return this.#tls;
  }

  get closed(): boolean {
    return this.#mode === "closed";
  }

  /** The greeting to send when the client connects. */
  start(): SessionOutput {
    if (!this.#started) {
      this.#started = true;
      this.#reply(r(220, "2.0.0", `${this.options.hostname} ESMTP ready`));
    }
    return this.#flush();
  }

  /** Feeds bytes from the client. */
  feed(chunk: Uint8Array | string): SessionOutput {
    if (this.#mode === "closed") return this.#flush();
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    const merged = new Uint8Array(this.#buf.length + bytes.length);
    merged.set(this.#buf);
    merged.set(bytes, this.#buf.length);
    this.#buf = merged;
    this.#process();
    return this.#flush();
  }

  /** TLS is up after a starttls event: the session starts over (RFC 3207 4.2). */
  tlsStarted(info?: Record<string, unknown>): SessionOutput {
    this.#tls = true;
    this.#tlsInfo = info;
    this.#helo = undefined;
    this.#esmtp = false;
    this.#user = undefined;
    this.#tx = undefined;
    this.#buf = new Uint8Array(0);
    this.#mode = "command";
    return this.#flush();
  }

  /** Answers an auth event: the user name on success, false on failure. */
  completeAuth(username: string | false): SessionOutput {
    if (username === false) {
      this.#fail(r(535, "5.7.8", "Authentication credentials invalid"));
    } else {
      this.#user = username;
      this.#reply(r(235, "2.7.0", "Authentication successful"));
    }
    return this.#resume();
  }

  /** Answers a message event: the final reply (default 250 2.0.0 queued). */
  completeMessage(reply: Reply = r(250, "2.0.0", "Ok: queued")): SessionOutput {
    if (reply.code >= 400) this.#fail(reply);
    else this.#reply(reply);
    this.#tx = undefined;
    return this.#resume();
  }

  #resume(): SessionOutput {
    if (this.#mode === "wait") this.#mode = "command";
    this.#process();
    return this.#flush();
  }

  #flush(): SessionOutput {
    const out: SessionOutput = { write: this.#out.join(""), events: this.#events, close: this.#close };
    this.#out = [];
    this.#events = [];
    return out;
  }

  #reply(reply: Reply): void {
    this.#out.push(formatReply(reply));
  }

  /** An error reply; too many end the session (RFC 5321 4.2.3: 421). */
  #fail(reply: Reply): void {
    this.#reply(reply);
    if (++this.#errors >= this.options.maxErrors)
      this.#shutdown(r(421, "4.7.0", `${this.options.hostname} Too many errors, closing connection`), "too many errors");
  }

  #shutdown(reply: Reply, reason: string): void {
    if (this.#mode === "closed") return;
    this.#reply(reply);
    this.#mode = "closed";
    this.#close = true;
    this.#buf = new Uint8Array(0);
    this.#events.push({ type: "close", reason });
  }

  #process(): void {
    for (;;) {
      switch (this.#mode) {
        case "closed":
        case "wait":
          return;
        case "data":
          if (!this.#processData()) return;
          continue;
        case "bdat":
          if (!this.#processBdat()) return;
          continue;
        default: {
          const line = this.#takeLine(this.#mode === "command" ? this.options.maxLineLength : 12288);
          if (line === undefined) return;
          if (this.#mode === "command") this.#command(line);
          else this.#authLine(line);
        }
      }
    }
  }

  /** One line (CRLF or LF ended) from the buffer, decoded as UTF-8; long lines get 500 5.5.2. */
  #takeLine(limit: number): string | undefined {
    const lf = this.#buf.indexOf(LF);
    if (lf < 0) {
      if (this.#buf.length > limit) {
        // Drop what we have and skip to the end of this line.
        this.#buf = new Uint8Array(0);
        if (!this.#skipLongLine) {
          this.#skipLongLine = true;
          this.#fail(r(500, "5.5.2", "Line too long"));
        }
      }
      return undefined;
    }
    let end = lf;
    if (end > 0 && this.#buf[end - 1] === CR) end--;
    const bytes = this.#buf.subarray(0, end);
    this.#buf = this.#buf.slice(lf + 1);
    if (this.#skipLongLine) {
      this.#skipLongLine = false;
      return this.#mode === "closed" ? undefined : this.#takeLine(limit);
    }
    if (bytes.length + 2 > limit) {
      this.#fail(r(500, "5.5.2", "Line too long"));
      return this.#takeLine(limit);
    }
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  }

  #isLocal(domain: string): boolean {
    const d = domain.toLowerCase().replace(/\.$/, "");
    const local = this.options.localDomains;
    if (!local) return false;
    if (typeof local === "function") return local(d);
    return local.some((l) => l.toLowerCase() === d);
  }

  #authOffered(): boolean {
    return this.options.auth && (this.#tls || this.options.allowPlaintextAuth);
  }

  #ehloLines(): string[] {
    const lines = [
      `${this.options.hostname} Hello ${this.#helo}`,
      "PIPELINING",
      `SIZE ${this.options.maxMessageSize}`,
      "8BITMIME",
      "SMTPUTF8",
      "ENHANCEDSTATUSCODES",
      "CHUNKING",
      "BINARYMIME",
      "DSN",
    ];
    if (this.options.tlsAvailable && !this.#tls) lines.push("STARTTLS");
    if (this.#authOffered()) lines.push(`AUTH ${this.options.authMechanisms.join(" ")}`);
    return lines;
  }

  #command(line: string): void {
    const parsed = parseCommand(line, { maxLineLength: this.options.maxLineLength, utf8: this.#tx?.params.smtputf8 ?? false });
    if (!parsed.ok) {
      this.#fail(parsed.reply);
      return;
    }
    const c = parsed.command;
    switch (c.verb) {
      case "HELO":
      case "EHLO":
        this.#helo = c.domain;
        this.#esmtp = c.verb === "EHLO";
        this.#tx = undefined; // RFC 5321 4.1.4: EHLO resets the transaction
        this.#reply(c.verb === "EHLO" ? { code: 250, lines: this.#ehloLines() } : { code: 250, lines: [this.options.hostname] });
        return;
      case "NOOP":
        this.#reply(r(250, "2.0.0", "OK"));
        return;
      case "RSET":
        this.#tx = undefined;
        this.#reply(r(250, "2.0.0", "OK"));
        return;
      case "QUIT":
        this.#reply(r(221, "2.0.0", `${this.options.hostname} closing connection`));
        this.#mode = "closed";
        this.#close = true;
        this.#buf = new Uint8Array(0);
        this.#events.push({ type: "close", reason: "QUIT" });
        return;
      case "HELP":
        this.#reply(r(214, "2.0.0", "See RFC 5321"));
        return;
      case "VRFY":
        // RFC 5321 3.5.3: a server that does not verify says it will try to deliver.
        this.#reply(r(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"));
        return;
      case "EXPN":
        this.#fail(r(502, "5.5.1", "EXPN not available"));
        return;
      case "STARTTLS":
        return this.#starttls();
      case "AUTH":
        return this.#auth(c);
      case "MAIL":
        return this.#mail(c);
      case "RCPT":
        return this.#rcpt(c);
      case "DATA":
        return this.#dataCommand();
      case "BDAT":
        return this.#bdatCommand(c);
    }
  }

  #starttls(): void {
    if (!this.options.tlsAvailable) return this.#fail(r(502, "5.5.1", "STARTTLS not available"));
    if (this.#tls) return this.#fail(r(503, "5.5.1", "TLS already active"));
    if (!this.#esmtp) return this.#fail(r(503, "5.5.1", "Send EHLO first"));
    this.#reply(r(220, "2.0.0", "Ready to start TLS"));
    // RFC 3207 4.2 / CVE-2011-0411: anything pipelined after STARTTLS came in plaintext; drop it.
    this.#buf = new Uint8Array(0);
    this.#mode = "wait";
    this.#events.push({ type: "starttls" });
  }

  #auth(c: Extract<SmtpCommand, { verb: "AUTH" }>): void {
    if (!this.options.auth) return this.#fail(r(502, "5.5.1", "AUTH not available"));
    if (!this.#esmtp) return this.#fail(r(503, "5.5.1", "Send EHLO first"));
    if (this.#user !== undefined) return this.#fail(r(503, "5.5.1", "Already authenticated"));
    if (this.#tx) return this.#fail(r(503, "5.5.1", "AUTH not allowed during a mail transaction"));
    if (!this.#authOffered()) return this.#fail(r(538, "5.7.11", "Encryption required for requested authentication mechanism"));
    const mech = c.mechanism as "PLAIN" | "LOGIN";
    if (!this.options.authMechanisms.includes(mech)) return this.#fail(r(504, "5.5.4", "Unrecognized authentication type"));
    if (mech === "PLAIN") {
      if (c.initialResponse === undefined) {
        this.#out.push("334 \r\n");
        this.#mode = "auth-plain";
        return;
      }
      return this.#plain(c.initialResponse);
    }
    if (c.initialResponse === undefined) {
      this.#out.push(`334 ${LOGIN_USERNAME_PROMPT}\r\n`);
      this.#mode = "auth-login-user";
      return;
    }
    this.#mode = "auth-login-user";
    this.#authLine(c.initialResponse);
  }

  #plain(response: string): void {
    const decoded = decodePlain(response);
    if (!decoded.ok) {
      this.#mode = "command";
      return this.#fail(r(501, "5.5.2", `Cannot decode the AUTH response: ${decoded.reason}`));
    }
    this.#mode = "wait";
    this.#events.push({ type: "auth", mechanism: "PLAIN", credentials: decoded.credentials });
  }

  #authLine(line: string): void {
    if (line.trim() === "*") {
      this.#mode = "command";
      return this.#fail(r(501, "5.7.0", "Authentication cancelled"));
    }
    if (this.#mode === "auth-plain") return this.#plain(line);
    const decoded = decodeBase64Response(line);
    if (!decoded.ok || decoded.value === "") {
      this.#mode = "command";
      return this.#fail(r(501, "5.5.2", "Cannot decode the AUTH response"));
    }
    if (this.#mode === "auth-login-user") {
      this.#loginUser = decoded.value;
      this.#out.push(`334 ${LOGIN_PASSWORD_PROMPT}\r\n`);
      this.#mode = "auth-login-pass";
      return;
    }
    this.#mode = "wait";
    this.#events.push({
      type: "auth",
      mechanism: "LOGIN",
      credentials: { authzid: "", username: this.#loginUser, password: decoded.value },
    });
  }

  #mail(c: Extract<SmtpCommand, { verb: "MAIL" }>): void {
    if (this.#helo === undefined) return this.#fail(r(503, "5.5.1", "Send HELO/EHLO first"));
    if (this.#tx) return this.#fail(r(503, "5.5.1", "Nested MAIL command"));
    if (this.options.mode !== "mx" && this.#user === undefined) return this.#fail(r(530, "5.7.0", "Authentication required"));
    if (
      !this.#esmtp &&
      (c.params.size !== undefined || c.params.body || c.params.smtputf8 || c.params.ret || c.params.envid || c.params.auth)
    ) {
      return this.#fail(r(555, "5.5.4", "Parameters need EHLO"));
    }
    if (c.params.size !== undefined && c.params.size > this.options.maxMessageSize) {
      return this.#fail(r(552, "5.3.4", "Message size exceeds fixed maximum message size"));
    }
    this.#tx = { from: c.from, params: c.params, recipients: [], rcptAttempts: 0 };
    this.#reply(r(250, "2.1.0", "Sender OK"));
  }

  #rcpt(c: Extract<SmtpCommand, { verb: "RCPT" }>): void {
    const tx = this.#tx;
    if (!tx) return this.#fail(r(503, "5.5.1", "Need MAIL before RCPT"));
    tx.rcptAttempts++;
    if (tx.recipients.length >= this.options.maxRecipients) return this.#fail(r(452, "4.5.3", "Too many recipients"));
    const domain = c.to.domain;
    const local = domain === "" || this.#isLocal(domain);
    const mayRelay = this.#user !== undefined || (this.options.isTrustedClient?.(this.options.clientIp) ?? false);
    if (!local && !mayRelay) return this.#fail(r(550, "5.7.1", "Relaying denied"));
    tx.recipients.push({ path: c.to, params: c.params });
    this.#reply(r(250, "2.1.5", "Recipient OK"));
  }

  #startMessage(): boolean {
    if (!this.#tx) {
      this.#fail(r(503, "5.5.1", "Need MAIL command"));
      return false;
    }
    if (this.#tx.recipients.length === 0) {
      this.#fail(this.#tx.rcptAttempts > 0 ? r(554, "5.5.1", "No valid recipients") : r(503, "5.5.1", "Need RCPT command"));
      return false;
    }
    this.#data = [];
    this.#dataSize = 0;
    this.#overSize = false;
    this.#bareLf = false;
    return true;
  }

  #dataCommand(): void {
    if (this.#tx?.params.body === "BINARYMIME") return this.#fail(r(503, "5.5.1", "BINARYMIME needs BDAT (RFC 3030)"));
    if (!this.#startMessage()) return;
    this.#reply({ code: 354, lines: ["End data with <CR><LF>.<CR><LF>"] });
    this.#mode = "data";
    this.#dataLineStart = true;
  }

  #bdatCommand(c: Extract<SmtpCommand, { verb: "BDAT" }>): void {
    // The chunk's bytes follow whatever we answer; read them either way (RFC 3030 2).
    if (this.#bdatRemaining === 0 && this.#data.length === 0 && !this.#bdatValid) this.#bdatValid = this.#startMessage();
    this.#bdatRemaining = c.size;
    this.#bdatLast = c.last;
    this.#mode = "bdat";
  }

  #append(bytes: Uint8Array): void {
    if (this.#overSize) return;
    if (this.#dataSize + bytes.length > this.options.maxMessageSize) {
      this.#overSize = true;
      this.#data = [];
      return;
    }
    this.#data.push(bytes.slice());
    this.#dataSize += bytes.length;
  }

  /**
   * DATA: lines end with CRLF only; "." alone ends the message; a leading dot is removed (RFC 5321
   * 4.5.2). A bare LF never ends a line or the message (SMTP smuggling defence).
   */
  #processData(): boolean {
    const buf = this.#buf;
    let lineStart = 0;
    let pos = 0;
    for (;;) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) break;
      if (lf === 0 || buf[lf - 1] !== CR) {
        this.#bareLf = true;
        pos = lf + 1;
        continue;
      }
      const line = buf.subarray(lineStart, lf - 1);
      if (this.#dataLineStart && line.length === 1 && line[0] === DOT) {
        this.#buf = buf.slice(lf + 1);
        this.#endMessage();
        return true;
      }
      const unstuffed = this.#dataLineStart && line[0] === DOT ? line.subarray(1) : line;
      this.#append(buf.subarray(lineStart + (unstuffed.length < line.length ? 1 : 0), lf + 1));
      this.#dataLineStart = true;
      lineStart = pos = lf + 1;
    }
    // Keep the partial line; flush it when large (a lone "." line is short, so it is never split).
    let rest = buf.subarray(lineStart);
    if (rest.length > 65_536) {
      const keep = rest[rest.length - 1] === CR ? 1 : 0;
      let part = rest.subarray(0, rest.length - keep);
      if (this.#dataLineStart && part[0] === DOT) part = part.subarray(1);
      this.#append(part);
      this.#dataLineStart = false;
      rest = rest.subarray(rest.length - keep);
    }
    this.#buf = rest.slice();
    return false;
  }

  #processBdat(): boolean {
    const take = Math.min(this.#bdatRemaining, this.#buf.length);
    if (take > 0) {
      if (this.#bdatValid) this.#append(this.#buf.subarray(0, take));
      this.#buf = this.#buf.slice(take);
      this.#bdatRemaining -= take;
    }
    if (this.#bdatRemaining > 0) return false;
    this.#mode = "command";
    if (!this.#bdatValid) {
      this.#fail(r(503, "5.5.1", "BDAT chunk discarded: no valid transaction"));
      return true;
    }
    if (this.#bdatLast) {
      this.#bdatValid = false;
      this.#endMessage();
    } else {
      this.#reply(r(250, "2.0.0", `${this.#dataSize} octets received`));
    }
    return true;
  }

  #endMessage(): void {
    const tx = this.#tx!;
    this.#mode = "command";
    if (this.#overSize) {
      this.#tx = undefined;
      return this.#fail(r(552, "5.3.4", "Message size exceeds fixed maximum message size"));
    }
    if (this.#bareLf && this.options.rejectBareLineFeed) {
      this.#tx = undefined;
      return this.#fail(r(550, "5.5.2", "Bare LF is not allowed: lines must end with CRLF (RFC 5321 2.3.8)"));
    }
    const data = new Uint8Array(this.#dataSize);
    let o = 0;
    for (const part of this.#data) {
      data.set(part, o);
      o += part.length;
    }
    this.#data = [];
    this.#mode = "wait";
    this.#events.push({ type: "message", envelope: this.envelope, data, mailParams: tx.params, recipients: tx.recipients });
  }
}
