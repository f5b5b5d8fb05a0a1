import { checkCommandOptions } from "../options.js";
import { decodeXtext, isAddressLiteral, isSmtpDomain, parsePath, type SmtpPath } from "./path.js";
import type { Reply } from "./reply.js";

export interface MailParams {
  /** SIZE= (RFC 1870). */
  size?: number;
  /** BODY= (RFC 6152, RFC 3030). */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** SMTPUTF8 (RFC 6531). */
  smtputf8: boolean;
  /** RET= (RFC 3461). */
  ret?: "FULL" | "HDRS";
  /** ENVID=, xtext decoded (RFC 3461). */
  envid?: string;
  /** AUTH= (RFC 4954 5), xtext decoded; "<>" for unknown. */
  auth?: string;
}

export interface RcptParams {
  /** NOTIFY= (RFC 3461). */
  notify?: Array<"NEVER" | "SUCCESS" | "FAILURE" | "DELAY">;
  /** ORCPT= addr-type ";" address, xtext decoded (RFC 3461). */
  orcpt?: { type: string; address: string };
}

export type SmtpCommand =
  | { verb: "HELO" | "EHLO"; domain: string }
  | { verb: "MAIL"; from: SmtpPath; params: MailParams }
  | { verb: "RCPT"; to: SmtpPath; params: RcptParams }
  | { verb: "BDAT"; size: number; last: boolean }
  | { verb: "DATA" | "RSET" | "QUIT" | "STARTTLS" }
  | { verb: "NOOP" | "HELP"; argument?: string }
  | { verb: "VRFY" | "EXPN"; argument: string }
  | { verb: "AUTH"; mechanism: string; initialResponse?: string };

/**
 * A refused command. `chunk` is set only for a refused BDAT, whose chunk follows the line whatever
 * the reply: its size when the line still tells it (the caller reads and drops that many bytes), or
 * "unknown" when it does not (the caller cannot tell where the chunk ends and must close the
 * connection rather than read chunk bytes as commands).
 */
export type CommandParse = { ok: true; command: SmtpCommand } | { ok: false; reply: Reply; chunk?: number | "unknown" };

export interface CommandOptions {
  /** Longest command line, CRLF included. Default 512 (RFC 5321 4.5.3.1.4). */
  maxLineLength?: number;
  /** The transaction uses SMTPUTF8: RCPT may hold UTF-8 (RFC 6531 3.4). */
  utf8?: boolean;
}

const err = (code: number, enhanced: string, text: string): Extract<CommandParse, { ok: false }> => ({
  ok: false,
  reply: { code, enhanced, lines: [text] },
});
const syntax = (text: string) => err(501, "5.5.4", text);
const badParam = (text: string) => err(555, "5.5.4", text);

const NO_ARGUMENT = new Set(["DATA", "RSET", "QUIT", "STARTTLS"]);

/** esmtp-param = keyword ["=" value]; keyword = ALPHA/DIGIT *(ALPHA/DIGIT/"-"); value = 1*(%d33-60 / %d62-126) */
function splitParams(rest: string, utf8: boolean): Array<[string, string | undefined]> | string {
  const out: Array<[string, string | undefined]> = [];
  const text = rest.trim();
  if (text === "") return out;
  if (!rest.startsWith(" ")) return "parameters must follow the address after a space";
  for (const item of text.split(/ +/)) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(key)) return `invalid parameter ${JSON.stringify(item)}`;
    if (value !== undefined) {
      if (value === "") return `empty value for ${key}`;
      for (const ch of value) {
        const c = ch.codePointAt(0)!;
        if (!((c >= 33 && c <= 126 && c !== 61) || (utf8 && c >= 0x80))) return `invalid character in ${key}=`;
      }
    }
    out.push([key.toUpperCase(), value]);
  }
  return out;
}

function mailParams(rest: string, utf8Allowed: boolean): MailParams | CommandParse {
  const list = splitParams(rest, utf8Allowed);
  if (typeof list === "string") return badParam(list);
  const p: MailParams = { smtputf8: false };
  const seen = new Set<string>();
  for (const [key, value] of list) {
    if (seen.has(key)) return badParam(`${key} given twice`);
    seen.add(key);
    switch (key) {
      case "SIZE":
        if (!value || !/^[0-9]{1,20}$/.test(value)) return badParam("SIZE needs a number");
        p.size = Number(value);
        break;
      case "BODY": {
        const v = value?.toUpperCase();
        if (v !== "7BIT" && v !== "8BITMIME" && v !== "BINARYMIME") return badParam("BODY must be 7BIT, 8BITMIME or BINARYMIME");
        p.body = v;
        break;
      }
      case "SMTPUTF8":
        if (value !== undefined) return badParam("SMTPUTF8 takes no value");
        p.smtputf8 = true;
        break;
      case "RET": {
        const v = value?.toUpperCase();
        if (v !== "FULL" && v !== "HDRS") return badParam("RET must be FULL or HDRS");
        p.ret = v;
        break;
      }
      case "ENVID": {
        const v = value === undefined ? undefined : decodeXtext(value);
        if (v === undefined || v.length > 100) return badParam("ENVID must be xtext of at most 100 characters");
        p.envid = v;
        break;
      }
      case "AUTH": {
        const v = value === "<>" ? "<>" : value === undefined ? undefined : decodeXtext(value);
        if (v === undefined) return badParam("AUTH= must be xtext or <>");
        p.auth = v;
        break;
      }
      default:
        return badParam(`unsupported MAIL parameter ${key}`);
    }
  }
  return p;
}

function rcptParams(rest: string, utf8: boolean): RcptParams | CommandParse {
  const list = splitParams(rest, utf8);
  if (typeof list === "string") return badParam(list);
  const p: RcptParams = {};
  const seen = new Set<string>();
  for (const [key, value] of list) {
    if (seen.has(key)) return badParam(`${key} given twice`);
    seen.add(key);
    switch (key) {
      case "NOTIFY": {
        const items = (value ?? "").toUpperCase().split(",");
        const ok = items.every((i) => ["NEVER", "SUCCESS", "FAILURE", "DELAY"].includes(i)) && new Set(items).size === items.length;
        if (!value || !ok || (items.includes("NEVER") && items.length > 1))
          return badParam("NOTIFY must be NEVER, or a list of SUCCESS, FAILURE, DELAY");
        p.notify = items as RcptParams["notify"] & object;
        break;
      }
      case "ORCPT": {
        const semi = value?.indexOf(";") ?? -1;
        const address = semi > 0 ? decodeXtext(value!.slice(semi + 1)) : undefined;
        if (semi <= 0 || address === undefined || address === "") return badParam("ORCPT must be addr-type;xtext");
        p.orcpt = { type: value!.slice(0, semi).toLowerCase(), address };
        break;
      }
      default:
        return badParam(`unsupported RCPT parameter ${key}`);
    }
  }
  return p;
}

/**
 * Parses one SMTP command line (without its CRLF). Returns the command, or the reply a server
 * should send: 500 (unknown or too long), 501 (syntax), 555 (parameters), each with an enhanced code.
 */
export function parseCommand(line: string, options: CommandOptions = {}): CommandParse {
  checkCommandOptions(options);
  const max = options.maxLineLength ?? 512;
  // A BDAT line refused before its size is read: where its chunk ends is unknown.
  const bdat = (parse: Extract<CommandParse, { ok: false }>): CommandParse =>
    /^BDAT(?: |$)/i.test(line) ? { ...parse, chunk: "unknown" } : parse;
  if (Buffer.byteLength(line) + 2 > max) return bdat(err(500, "5.5.2", "Line too long"));
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return bdat(err(500, "5.5.2", "Control characters are not allowed in commands"));
  const space = line.indexOf(" ");
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const arg = space < 0 ? "" : line.slice(space + 1);
  if (NO_ARGUMENT.has(verb)) {
    if (arg.trim() !== "") return syntax(`${verb} takes no argument`);
    return { ok: true, command: { verb } as SmtpCommand };
  }
  switch (verb) {
    case "HELO":
    case "EHLO": {
      const domain = arg.trim();
      if (domain === "") return syntax(`${verb} needs a domain`);
      const valid =
        verb === "EHLO" ? isSmtpDomain(domain, true) || isAddressLiteral(domain) : isSmtpDomain(domain, true) || isAddressLiteral(domain);
      if (!valid) return syntax(`${verb} argument is not a domain or address literal`);
      return { ok: true, command: { verb, domain } };
    }
    case "MAIL": {
      const m = /^FROM:[ ]*/i.exec(arg);
      if (!m) return syntax("Syntax: MAIL FROM:<address>");
      const rest = arg.slice(m[0].length);
      const utf8Param = / SMTPUTF8(?: |$)/i.test(rest);
      const path = parsePath(rest, { utf8: utf8Param, allowNull: true });
      if (!path.ok) {
        const enhanced = path.reason.includes("SMTPUTF8") ? "5.6.7" : "5.1.7";
        return err(path.reason.includes("SMTPUTF8") ? 553 : 501, enhanced, `Bad sender address: ${path.reason}`);
      }
      const params = mailParams(path.rest, utf8Param);
      if ("ok" in params) return params;
      return { ok: true, command: { verb, from: path.path, params } };
    }
    case "RCPT": {
      const m = /^TO:[ ]*/i.exec(arg);
      if (!m) return syntax("Syntax: RCPT TO:<address>");
      const path = parsePath(arg.slice(m[0].length), { utf8: options.utf8 ?? false, allowNull: false, allowPostmaster: true });
      if (!path.ok) {
        const utf = path.reason.includes("SMTPUTF8");
        return err(utf ? 553 : 501, utf ? "5.6.7" : "5.1.3", `Bad recipient address: ${path.reason}`);
      }
      const params = rcptParams(path.rest, options.utf8 ?? false);
      if ("ok" in params) return params;
      return { ok: true, command: { verb, to: path.path, params } };
    }
    case "BDAT": {
      // RFC 3030 2: chunk-size = 1*DIGIT, any number of digits (leading zeros included).
      const text = arg.trim();
      const digits = /^[0-9]+(?= |$)/.exec(text)?.[0]; // "5e3" or "0-": no size known
      const significant = digits?.replace(/^0+/, "") ?? "";
      // Past 15 significant digits (a petabyte) the size is not a safe integer: nothing to count.
      const size = digits === undefined || significant.length > 15 ? undefined : Number(significant || "0");
      const refuse = (code: number, enhanced: string, why: string): CommandParse => ({
        ok: false,
        reply: { code, enhanced, lines: [why] },
        chunk: size ?? "unknown",
      });
      if (digits !== undefined && size === undefined) return refuse(552, "5.3.4", "BDAT chunk size too large");
      const m = /^[0-9]+(?: +(LAST))?$/i.exec(text);
      if (!m || size === undefined) return refuse(501, "5.5.4", "Syntax: BDAT <size> [LAST]");
      return { ok: true, command: { verb, size, last: m[1] !== undefined } };
    }
    case "NOOP":
    case "HELP":
      return { ok: true, command: arg.trim() ? { verb, argument: arg.trim() } : { verb } };
    case "VRFY":
    case "EXPN":
      if (arg.trim() === "") return syntax(`${verb} needs an argument`);
      return { ok: true, command: { verb, argument: arg.trim() } };
    case "AUTH": {
      const m = /^([A-Za-z0-9_-]{1,20})(?: +([A-Za-z0-9+/]+={0,2}|=))?$/.exec(arg.trim());
      if (!m) return syntax("Syntax: AUTH mechanism [initial-response]");
      const command: SmtpCommand = { verb, mechanism: m[1]!.toUpperCase() };
      if (m[2] !== undefined) command.initialResponse = m[2];
      return { ok: true, command };
    }
    default:
      return err(500, "5.5.1", "Command unrecognized");
  }
}
