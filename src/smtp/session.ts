import type { Envelope } from "../authenticate.js";
import { describeError, MsgauthError, StateError } from "../errors.js";
import { checkSessionOptions } from "../options.js";
import { type MailParams, parseCommand, type RcptParams, type SmtpCommand } from "./command.js";
import { DataScanner } from "./data-scanner.js";
import { MessageBuffer } from "./message-buffer.js";
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
  /**
   * Domains that accept mail from anyone. Others only from authenticated or trusted clients.
   * A function must return the boolean `true` to grant: anything else that is not `false` (a
   * Promise, a string, 1) is a programming error, answered 451 4.3.0 with a "fault" event.
   */
  localDomains?: readonly string[] | ((domain: string) => boolean);
  /** Clients allowed to relay without AUTH (e.g. your own network). Only the boolean `true` grants, as for localDomains. */
  isTrustedClient?: (ip: string) => boolean;
  /** Largest message, bytes (SIZE). Default 25 MiB. */
  maxMessageSize?: number;
  /** Recipients per transaction. Default 100 (RFC 5321 4.5.3.1.8). */
  maxRecipients?: number;
  /** Failed commands before the session ends with 421. Default 10. */
  maxErrors?: number;
  /**
   * Longest command line, CRLF included. Default 512 (RFC 5321 4.5.3.1.4). MAIL and RCPT may be
   * 1,024 octets longer for the parameters of the extensions offered (RFC 1870, RFC 3461, RFC 4954).
   */
  maxLineLength?: number;
  /**
   * Refuse messages holding a bare LF or a bare CR (550 5.5.2). Default false: kept as content.
   * Ambiguous end-of-data lines (`<LF>.<LF>`, `<CR>.<CR>`, ...) are refused either way.
   */
  rejectBareLineFeed?: boolean;
  /**
   * Input held while the application decides on an event (a message, AUTH), bytes. Past it the
   * session replies 421 4.7.0 and closes. Servers should stop reading while `wantsInput` is false,
   * so a client only reaches this by ignoring the protocol. Default 1 MiB.
   */
  maxPendingInput?: number;
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
  /** An application callback broke its contract (see SessionCallbackError); the client got a 4xx, nothing was granted. Log it. */
  | { type: "fault"; error: SessionCallbackError }
  /** The session is over: close the connection after writing. */
  | { type: "close"; reason: string };

export interface SessionOutput {
  /** Bytes to write to the client, in order. */
  write: string;
  events: SessionEvent[];
  /** Close the connection after writing. */
  close: boolean;
}

/** completeMessage(), completeAuth() or tlsStarted() called when no such event is pending. */
export class SessionStateError extends StateError {}

/**
 * An application callback returned something other than what its contract allows: a predicate
 * (localDomains, isTrustedClient) something other than a boolean (an async function's Promise, "yes",
 * 1), completeAuth() something other than a user name or false. The session fails closed: nothing is
 * granted, the client gets a temporary error (451 4.3.0, 454 4.7.0 for AUTH).
 */
export class SessionCallbackError extends MsgauthError {
  declare readonly code: "ERR_MSGAUTH_SESSION_CALLBACK";
  constructor(
    readonly callback: "localDomains" | "isTrustedClient" | "completeAuth",
    readonly value: unknown,
  ) {
    const seen =
      value instanceof Promise || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function")
        ? "a Promise"
        : typeof value;
    super(
      "ERR_MSGAUTH_SESSION_CALLBACK",
      `${callback} must return ${callback === "completeAuth" ? "a user name or false" : "a boolean"}, got ${seen}`,
    );
  }
}

/** The message being received: its bytes, how they are framed and what the scanner saw. */
interface MessageInProgress {
  kind: "data" | "bdat";
  buffer: MessageBuffer;
  /** undefined for BINARYMIME: binary content is not scanned (RFC 3030 3). */
  scanner: DataScanner | undefined;
}

/** One mail transaction: MAIL to the end of the message. RSET, HELO/EHLO, STARTTLS and a new MAIL replace it whole. */
interface Transaction {
  from: SmtpPath;
  params: MailParams;
  recipients: Array<{ path: SmtpPath; params: RcptParams }>;
  rcptAttempts: number;
  message: MessageInProgress | undefined;
}

/** How the next input bytes are read. */
type Input =
  | { kind: "command" }
  | { kind: "data" }
  /** A BDAT chunk's bytes: kept when `error` is undefined, then `error` or the chunk's reply is sent. */
  | { kind: "bdat"; remaining: number; last: boolean; error: Reply | undefined }
  | { kind: "auth-plain" }
  | { kind: "auth-login-user" }
  | { kind: "auth-login-pass"; username: string }
  /** An event is out; input is held until the application answers it. */
  | { kind: "wait"; for: "message" | "auth" | "starttls" }
  | { kind: "closed" };

const LF = 0x0a;
const CR = 0x0d;
const AUTH_LINE_MAX = 12_288; // RFC 4954 4
const EXTENSION_ALLOWANCE = 1024; // SIZE +26 (RFC 1870), DSN +100/+500 (RFC 3461), AUTH= +500 (RFC 4954)
const utf8 = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();
const r = (code: number, enhanced: string, ...lines: string[]): Reply => ({ code, enhanced, lines });

/**
 * Bytes received and not yet read: one growable array read by index, compacted or doubled when
 * full, so a chunk of many pipelined commands, or input a byte at a time, costs linear time.
 */
class InputQueue {
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }
  get bytes(): Uint8Array {
    return this.#buf;
  }
  get start(): number {
    return this.#start;
  }
  get end(): number {
    return this.#end;
  }

  push(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buf.length) {
      const live = this.length;
      if (live + bytes.length <= this.#buf.length / 2) this.#buf.copyWithin(0, this.#start, this.#end);
      else {
        const grown = new Uint8Array(Math.max(2 * this.#buf.length, live + bytes.length));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Marks everything before `index` (an absolute index into `bytes`) as read. */
  consumeTo(index: number): void {
    this.#start = index;
    if (this.#start >= this.#end) this.clear();
  }

  clear(): void {
    this.#start = this.#end = 0;
    if (this.#buf.length > 65_536) this.#buf = new Uint8Array(4096);
  }
}

/**
 * An SMTP server session with no I/O: feed it the client's bytes, write what it returns, act on its
 * events. It enforces command order, pipelining, DATA and BDAT framing, size and recipient limits,
 * the relay policy (no open relay), and AUTH only over TLS on submission ports.
 *
 * feed() never throws: bad input gets replies. Memory is bounded: a command line by
 * `maxLineLength`, a message by `maxMessageSize` (held in large blocks), input held while an event
 * is pending by `maxPendingInput`. Stop reading from the socket while `wantsInput` is false.
 */
export class SmtpSession {
  readonly options: Readonly<
    Required<Omit<SessionOptions, "localDomains" | "isTrustedClient">> & {
      localDomains: SessionOptions["localDomains"] | undefined;
      isTrustedClient: SessionOptions["isTrustedClient"] | undefined;
    }
  >;
  #input: Input = { kind: "command" };
  #queue = new InputQueue();
  /** Bytes at the head of the queue already searched for LF (they hold none). */
  #scanned = 0;
  /** Skipping the rest of an over-long line (already answered with 500). */
  #skipLongLine = false;
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
  #started = false;

  constructor(options: SessionOptions) {
    checkSessionOptions(options);
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
      maxPendingInput: options.maxPendingInput ?? 1024 * 1024,
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
    return this.#input.kind === "closed";
  }

  /**
   * False while a message or AUTH event waits for the application's answer (or the session is
   * closed): stop reading from the socket (e.g. socket.pause()) and resume when it is true again.
   * Input fed meanwhile is held, up to `maxPendingInput`. It stays true while STARTTLS is pending:
   * the TLS handshake needs the socket read (plaintext fed then is dropped).
   */
  get wantsInput(): boolean {
    const input = this.#input;
    return input.kind === "wait" ? input.for === "starttls" : input.kind !== "closed";
  }

  /** Input bytes received and not yet read (held while an event is pending). */
  get pendingInput(): number {
    return this.#queue.length;
  }

  /** The greeting to send when the client connects. */
  start(): SessionOutput {
    if (!this.#started) {
      this.#started = true;
      this.#reply(r(220, "2.0.0", `${this.options.hostname} ESMTP ready`));
    }
    return this.#flush();
  }

  /** Feeds bytes from the client. Never throws. */
  feed(chunk: Uint8Array | string): SessionOutput {
    const input = this.#input;
    if (input.kind === "closed") return this.#flush();
    // RFC 3207 4.2 / CVE-2011-0411: plaintext sent after STARTTLS, before the handshake, is dropped.
    if (input.kind === "wait" && input.for === "starttls") return this.#flush();
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    this.#guarded(() => {
      // Message content with nothing queued before it is read where it is, not copied first.
      let offset = 0;
      while (offset < bytes.length && this.#queue.length === 0) {
        const now = this.#input;
        if (now.kind === "data") offset += this.#dataBytes(bytes, offset, bytes.length);
        else if (now.kind === "bdat") offset += this.#bdatBytes(now, bytes, offset, bytes.length);
        else break;
      }
      if (offset === bytes.length || this.closed) return;
      const rest = offset === 0 ? bytes : bytes.subarray(offset);
      if (this.#input.kind === "wait" && this.#queue.length + rest.length > this.options.maxPendingInput) return this.#overflow();
      this.#queue.push(rest);
      this.#process();
    });
    return this.#flush();
  }

  /** TLS is up after a starttls event: the session starts over (RFC 3207 4.2). */
  tlsStarted(info?: Record<string, unknown>): SessionOutput {
    if (this.closed) return this.#flush();
    this.#expectWait("starttls", "tlsStarted()");
    this.#tls = true;
    this.#tlsInfo = info;
    this.#helo = undefined;
    this.#esmtp = false;
    this.#user = undefined;
    this.#tx = undefined;
    this.#queue.clear();
    this.#scanned = 0;
    this.#skipLongLine = false;
    this.#input = { kind: "command" };
    return this.#flush();
  }

  /** Answers an auth event: the user name on success, false on failure. */
  completeAuth(username: string | false): SessionOutput {
    if (this.closed) return this.#flush();
    this.#expectWait("auth", "completeAuth()");
    this.#input = { kind: "command" };
    if (username !== false && (typeof username !== "string" || username === "")) {
      // Fail closed: a Promise, true or an empty name never authenticates (RFC 4954 6: 454 temporary).
      this.#events.push({ type: "fault", error: new SessionCallbackError("completeAuth", username) });
      this.#fail(r(454, "4.7.0", "Temporary authentication failure"));
    } else if (username === false) {
      this.#fail(r(535, "5.7.8", "Authentication credentials invalid"));
    } else {
      this.#user = username;
      this.#reply(r(235, "2.7.0", "Authentication successful"));
    }
    return this.#resume();
  }

  /** Answers a message event: the final reply (default 250 2.0.0 queued). Throws ArgumentError for a malformed reply. */
  completeMessage(reply: Reply = r(250, "2.0.0", "Ok: queued")): SessionOutput {
    if (this.closed) return this.#flush();
    this.#expectWait("message", "completeMessage()");
    formatReply(reply); // a malformed reply is the caller's error: throw before changing state
    this.#input = { kind: "command" };
    this.#tx = undefined;
    if (reply.code >= 400) this.#fail(reply);
    else this.#reply(reply);
    return this.#resume();
  }

  #expectWait(event: "message" | "auth" | "starttls", method: string): void {
    const input = this.#input;
    if (input.kind !== "wait" || input.for !== event) throw new SessionStateError(`${method} called with no ${event} event pending`);
  }

  #resume(): SessionOutput {
    this.#guarded(() => this.#process());
    return this.#flush();
  }

  /** A defect must not escape to the socket handler: the session ends with 421 instead. */
  #guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#shutdown(
        r(421, "4.3.0", `${this.options.hostname} Internal error, closing connection`),
        `internal error: ${describeError(error)}`,
      );
    }
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

  #overflow(): void {
    this.#shutdown(
      r(421, "4.7.0", `${this.options.hostname} Too much input while a reply is pending, closing connection`),
      "input overflow",
    );
  }

  #shutdown(reply: Reply, reason: string): void {
    if (this.#input.kind === "closed") return;
    this.#reply(reply);
    this.#end(reason);
  }

  #end(reason: string): void {
    this.#input = { kind: "closed" };
    this.#close = true;
    this.#tx = undefined;
    this.#queue.clear();
    this.#events.push({ type: "close", reason });
  }

  #process(): void {
    for (;;) {
      const input = this.#input;
      switch (input.kind) {
        case "closed":
          return;
        case "wait":
          if (this.#queue.length > this.options.maxPendingInput) this.#overflow();
          return;
        case "data": {
          const q = this.#queue;
          q.consumeTo(q.start + this.#dataBytes(q.bytes, q.start, q.end));
          if (this.#input.kind === "data") return;
          continue;
        }
        case "bdat": {
          const q = this.#queue;
          q.consumeTo(q.start + this.#bdatBytes(input, q.bytes, q.start, q.end));
          if (this.#input === input) return;
          continue;
        }
        case "command": {
          const line = this.#takeLine(this.options.maxLineLength + EXTENSION_ALLOWANCE);
          if (line === undefined) return;
          this.#command(line);
          continue;
        }
        default: {
          const line = this.#takeLine(AUTH_LINE_MAX);
          if (line === undefined) return;
          this.#authLine(input, line);
        }
      }
    }
  }

  /** A command line starting "BDAT " (its chunk follows it, whatever the reply). */
  #isBdatLine(bytes: Uint8Array, start: number): boolean {
    if (this.#input.kind !== "command") return false;
    const word = String.fromCharCode(bytes[start] ?? 0, bytes[start + 1] ?? 0, bytes[start + 2] ?? 0, bytes[start + 3] ?? 0);
    return word.toUpperCase() === "BDAT" && bytes[start + 4] === 0x20;
  }

  /** One line (CRLF or LF ended) from the queue, decoded as UTF-8; a line over `limit` gets 500 5.5.2 and is skipped. */
  #takeLine(limit: number): string | undefined {
    const q = this.#queue;
    const bytes = q.bytes;
    for (;;) {
      const from = q.start + this.#scanned;
      let lf = bytes.indexOf(LF, from);
      if (lf >= q.end) lf = -1;
      if (lf < 0) {
        if (q.length > limit) {
          if (!this.#skipLongLine && this.#isBdatLine(bytes, q.start)) return void this.#cannotDelimit("Line too long");
          // Drop what we have and skip to the end of this line.
          q.clear();
          this.#scanned = 0;
          if (!this.#skipLongLine) {
            this.#skipLongLine = true;
            this.#fail(r(500, "5.5.2", "Line too long"));
          }
        } else this.#scanned = q.length;
        return undefined;
      }
      const start = q.start;
      q.consumeTo(lf + 1);
      this.#scanned = 0;
      if (this.#skipLongLine) {
        this.#skipLongLine = false;
        if (this.closed) return undefined;
        continue;
      }
      let end = lf;
      if (end > start && bytes[end - 1] === CR) end--;
      if (end + 2 - start > limit) {
        if (this.#isBdatLine(bytes, start)) return void this.#cannotDelimit("Line too long");
        this.#fail(r(500, "5.5.2", "Line too long"));
        if (this.closed) return undefined;
        continue;
      }
      return utf8.decode(bytes.subarray(start, end));
    }
  }

  /** true, false, or undefined when the predicate broke its contract (a fault event is out). */
  #isLocal(domain: string): boolean | undefined {
    const d = domain.toLowerCase().replace(/\.$/, "");
    const local = this.options.localDomains;
    if (!local) return false;
    if (typeof local === "function") return this.#predicate("localDomains", local(d));
    return local.some((l) => l.toLowerCase() === d);
  }

  /** Only the boolean true grants; a Promise or any other non-boolean is reported and grants nothing. */
  #predicate(name: "localDomains" | "isTrustedClient", value: unknown): boolean | undefined {
    if (typeof value === "boolean") return value;
    if (value instanceof Promise) value.catch(() => undefined); // never an unhandled rejection
    this.#events.push({ type: "fault", error: new SessionCallbackError(name, value) });
    return undefined;
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
    const verb = line.slice(0, 5).toUpperCase();
    const extended = verb === "MAIL " || verb === "RCPT ";
    const parsed = parseCommand(line, {
      maxLineLength: this.options.maxLineLength + (extended ? EXTENSION_ALLOWANCE : 0),
      utf8: this.#tx?.params.smtputf8 ?? false,
    });
    if (!parsed.ok) {
      if (parsed.chunk === "unknown") return this.#cannotDelimit(parsed.reply.lines[0] ?? "Bad BDAT");
      // A refused BDAT whose size is known: its chunk is read and dropped, then the refusal is sent.
      if (parsed.chunk !== undefined) this.#input = { kind: "bdat", remaining: parsed.chunk, last: false, error: parsed.reply };
      else this.#fail(parsed.reply);
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
        this.#end("QUIT");
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

  /**
   * A BDAT line whose chunk size cannot be known (no size, a size past 15 digits, a line too long
   * to read): the chunk's bytes follow, and reading them as commands would run what the client sent
   * as message content. The session ends instead: 554 and close.
   */
  #cannotDelimit(why: string): void {
    this.#shutdown(r(554, "5.5.2", `${why}: the chunk that follows cannot be delimited, closing connection`), "BDAT without a size");
  }

  #starttls(): void {
    if (!this.options.tlsAvailable) return this.#fail(r(502, "5.5.1", "STARTTLS not available"));
    if (this.#tls) return this.#fail(r(503, "5.5.1", "TLS already active"));
    if (!this.#esmtp) return this.#fail(r(503, "5.5.1", "Send EHLO first"));
    this.#reply(r(220, "2.0.0", "Ready to start TLS"));
    // RFC 3207 4.2 / CVE-2011-0411: anything pipelined after STARTTLS came in plaintext; drop it.
    this.#queue.clear();
    this.#scanned = 0;
    this.#tx = undefined;
    this.#input = { kind: "wait", for: "starttls" };
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
        this.#input = { kind: "auth-plain" };
        return;
      }
      return this.#plain(c.initialResponse);
    }
    if (c.initialResponse === undefined) {
      this.#out.push(`334 ${LOGIN_USERNAME_PROMPT}\r\n`);
      this.#input = { kind: "auth-login-user" };
      return;
    }
    this.#authLine({ kind: "auth-login-user" }, c.initialResponse);
  }

  #plain(response: string): void {
    const decoded = decodePlain(response);
    if (!decoded.ok) {
      this.#input = { kind: "command" };
      return this.#fail(r(501, "5.5.2", `Cannot decode the AUTH response: ${decoded.reason}`));
    }
    this.#input = { kind: "wait", for: "auth" };
    this.#events.push({ type: "auth", mechanism: "PLAIN", credentials: decoded.credentials });
  }

  #authLine(input: Extract<Input, { kind: "auth-plain" | "auth-login-user" | "auth-login-pass" }>, line: string): void {
    if (line.trim() === "*") {
      this.#input = { kind: "command" };
      return this.#fail(r(501, "5.7.0", "Authentication cancelled"));
    }
    if (input.kind === "auth-plain") return this.#plain(line);
    const decoded = decodeBase64Response(line);
    if (!decoded.ok || decoded.value === "") {
      this.#input = { kind: "command" };
      return this.#fail(r(501, "5.5.2", "Cannot decode the AUTH response"));
    }
    if (input.kind === "auth-login-user") {
      this.#out.push(`334 ${LOGIN_PASSWORD_PROMPT}\r\n`);
      this.#input = { kind: "auth-login-pass", username: decoded.value };
      return;
    }
    this.#input = { kind: "wait", for: "auth" };
    this.#events.push({
      type: "auth",
      mechanism: "LOGIN",
      credentials: { authzid: "", username: input.username, password: decoded.value },
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
    this.#tx = { from: c.from, params: c.params, recipients: [], rcptAttempts: 0, message: undefined };
    this.#reply(r(250, "2.1.0", "Sender OK"));
  }

  #rcpt(c: Extract<SmtpCommand, { verb: "RCPT" }>): void {
    const tx = this.#tx;
    if (!tx) return this.#fail(r(503, "5.5.1", "Need MAIL before RCPT"));
    if (tx.message) return this.#fail(r(503, "5.5.1", "RCPT not allowed after BDAT"));
    tx.rcptAttempts++;
    if (tx.recipients.length >= this.options.maxRecipients) return this.#fail(r(452, "4.5.3", "Too many recipients"));
    const domain = c.to.domain;
    const local = domain === "" || this.#isLocal(domain);
    const trusted = this.options.isTrustedClient;
    const mayRelay =
      local === true || this.#user !== undefined || (trusted ? this.#predicate("isTrustedClient", trusted(this.options.clientIp)) : false);
    if (local === undefined || mayRelay === undefined) return this.#fail(r(451, "4.3.0", "Temporary local problem, try again later"));
    if (!local && !mayRelay) return this.#fail(r(550, "5.7.1", "Relaying denied"));
    tx.recipients.push({ path: c.to, params: c.params });
    this.#reply(r(250, "2.1.5", "Recipient OK"));
  }

  /** Why a message cannot start now, or undefined when it can. */
  #cannotStart(): Reply | undefined {
    const tx = this.#tx;
    if (!tx) return r(503, "5.5.1", "Need MAIL command");
    if (tx.recipients.length === 0)
      return tx.rcptAttempts > 0 ? r(554, "5.5.1", "No valid recipients") : r(503, "5.5.1", "Need RCPT command");
    return undefined;
  }

  #newMessage(kind: "data" | "bdat", tx: Transaction): MessageInProgress {
    const binary = kind === "bdat" && tx.params.body === "BINARYMIME";
    return { kind, buffer: new MessageBuffer(this.options.maxMessageSize), scanner: binary ? undefined : new DataScanner(kind === "data") };
  }

  #dataCommand(): void {
    const tx = this.#tx;
    if (tx?.params.body === "BINARYMIME") return this.#fail(r(503, "5.5.1", "BINARYMIME needs BDAT (RFC 3030)"));
    if (tx?.message) return this.#fail(r(503, "5.5.1", "DATA not allowed after BDAT (RFC 3030 2)"));
    const refused = this.#cannotStart();
    if (refused) return this.#fail(refused);
    tx!.message = this.#newMessage("data", tx!);
    this.#reply({ code: 354, lines: ["End data with <CR><LF>.<CR><LF>"] });
    this.#input = { kind: "data" };
  }

  #bdatCommand(c: Extract<SmtpCommand, { verb: "BDAT" }>): void {
    // The chunk's bytes follow whatever we answer: read them either way, then reply once (RFC 3030 2).
    const tx = this.#tx;
    let error: Reply | undefined;
    if (!tx?.message) {
      const refused = this.#cannotStart();
      if (refused) error = r(503, "5.5.1", "BDAT chunk discarded: no valid transaction");
      else tx!.message = this.#newMessage("bdat", tx!);
    }
    this.#input = { kind: "bdat", remaining: c.size, last: c.last, error };
  }

  /** DATA content from buf[start, end) (see DataScanner): returns the bytes used; at CRLF.CRLF the message ends. */
  #dataBytes(buf: Uint8Array, start: number, end: number): number {
    const message = this.#tx!.message!;
    const stop = message.scanner!.scan(buf, start, end, this.#keeping(message) ? message.buffer : undefined);
    if (!this.#keeping(message)) message.buffer.discard();
    if (stop < 0) return end - start;
    this.#endMessage();
    return stop - start;
  }

  /** Content is still worth keeping: not over size, nothing that will refuse the message. */
  #keeping(message: MessageInProgress): boolean {
    const f = message.scanner?.flags;
    if (message.buffer.overflowed || !f) return !message.buffer.overflowed;
    return !f.ambiguousEnd && !(this.options.rejectBareLineFeed && (f.bareLf || f.bareCr));
  }

  /** A BDAT chunk's bytes from buf[start, end): returns the bytes used; at the chunk's end, its reply. */
  #bdatBytes(input: Extract<Input, { kind: "bdat" }>, buf: Uint8Array, start: number, end: number): number {
    const take = Math.min(input.remaining, end - start);
    if (take > 0) {
      const message = this.#tx?.message;
      if (!input.error && message) {
        const sink = this.#keeping(message) ? message.buffer : undefined;
        if (message.scanner) message.scanner.scan(buf, start, start + take, sink);
        else sink?.write(buf, start, start + take);
        if (!this.#keeping(message)) message.buffer.discard();
      }
      input.remaining -= take;
    }
    if (input.remaining > 0) return take;
    this.#input = { kind: "command" };
    if (input.error) {
      this.#fail(input.error);
      return take;
    }
    const message = this.#tx!.message!;
    if (this.#refusal(message) || input.last) this.#endMessage();
    else this.#reply(r(250, "2.0.0", `${message.buffer.size} octets received`));
    return take;
  }

  /**
   * The reply that refuses this message, if any. The scanner's findings come first: they depend only
   * on the bytes, while the size is no longer counted once content is dropped for them.
   */
  #refusal(message: MessageInProgress): Reply | undefined {
    const f = message.scanner?.flags;
    if (f?.ambiguousEnd)
      return r(550, "5.5.2", "Ambiguous end-of-data sequence: lines must end with CRLF (RFC 5321 2.3.8, SMTP smuggling)");
    if (f && this.options.rejectBareLineFeed && (f.bareLf || f.bareCr))
      return r(550, "5.5.2", "Bare CR or LF is not allowed: lines must end with CRLF (RFC 5321 2.3.8)");
    if (message.buffer.overflowed) return r(552, "5.3.4", "Message size exceeds fixed maximum message size");
    return undefined;
  }

  #endMessage(): void {
    const tx = this.#tx!;
    const message = tx.message!;
    this.#input = { kind: "command" };
    const refused = this.#refusal(message);
    if (refused) {
      // RFC 3030 2: a failed chunk ends the transaction; the client must start over.
      this.#tx = undefined;
      return this.#fail(refused);
    }
    const data = message.buffer.finish();
    tx.message = undefined;
    this.#input = { kind: "wait", for: "message" };
    this.#events.push({ type: "message", envelope: this.envelope, data, mailParams: tx.params, recipients: tx.recipients });
  }
}
