/** SASL PLAIN (RFC 4616) and LOGIN decoding for SMTP AUTH (RFC 4954). */

export interface Credentials {
  /** Authorization identity (act as); "" when absent. */
  authzid: string;
  /** Authentication identity (the user name). */
  username: string;
  password: string;
}

export type SaslDecode = { ok: true; value: string } | { ok: false; reason: string };

/** Strict base64 to UTF-8 text; "=" is an empty response (RFC 4954 4). */
export function decodeBase64Response(text: string): SaslDecode {
  const t = text.trim();
  if (t === "=") return { ok: true, value: "" };
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return { ok: false, reason: "invalid base64" };
  const bytes = Buffer.from(t, "base64");
  const value = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (value.includes("\ufffd")) return { ok: false, reason: "not UTF-8" };
  return { ok: true, value };
}

/**
 * Decodes a PLAIN response: [authzid] NUL authcid NUL passwd, each at most 255 characters, authcid
 * and passwd not empty (RFC 4616 2).
 */
export function decodePlain(response: string): { ok: true; credentials: Credentials } | { ok: false; reason: string } {
  const decoded = decodeBase64Response(response);
  if (!decoded.ok) return decoded;
  const parts = decoded.value.split("\0");
  if (parts.length !== 3) return { ok: false, reason: "PLAIN needs exactly authzid NUL authcid NUL password" };
  const [authzid, username, password] = parts as [string, string, string];
  if (username === "" || password === "") return { ok: false, reason: "empty user name or password" };
  if ([authzid, username, password].some((p) => p.length > 255))
    return { ok: false, reason: "a PLAIN field is longer than 255 characters" };
  return { ok: true, credentials: { authzid, username, password } };
}

export const LOGIN_USERNAME_PROMPT = Buffer.from("Username:").toString("base64");
export const LOGIN_PASSWORD_PROMPT = Buffer.from("Password:").toString("base64");
