import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeBase64, parseTagList, stripWsp } from "./tags.js";

export interface DkimKey {
  keyType: "rsa" | "ed25519";
  publicKey: KeyObject;
  /** RSA modulus bits, or 256 for Ed25519. */
  bits: number;
  /** h=: acceptable hash algorithms, when listed. */
  hashes?: string[];
  /** t=y: the domain is testing DKIM. */
  testing: boolean;
  /** t=s: i= must use exactly d=, not a subdomain. */
  strict: boolean;
}

export type KeyParse = { ok: true; key: DkimKey } | { ok: false; revoked: boolean; reason: string };

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function rsaKey(der: Uint8Array): KeyObject | undefined {
  for (const type of ["spki", "pkcs1"] as const) {
    try {
      const key = createPublicKey({ key: Buffer.from(der), format: "der", type });
      if (key.asymmetricKeyType === "rsa") return key;
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

/**
 * Parsed records by their exact text: the same text is always the same key, and building a KeyObject
 * (DER parsing) was most of the cost of verifying a small message. Bounded; oldest entries go first.
 */
const parsedKeys = new Map<string, KeyParse>();
const MAX_CACHED_KEYS = 1000;

/** Parses a DKIM key record (RFC 6376 3.6.1, RFC 8463 4). */
export function parseKeyRecord(text: string): KeyParse {
  const cached = parsedKeys.get(text);
  if (cached) return cached;
  const parsed = parseKeyRecordUncached(text);
  if (parsedKeys.size >= MAX_CACHED_KEYS) parsedKeys.delete(parsedKeys.keys().next().value as string);
  // Shared between messages: frozen so no caller can change what the next one gets.
  if (parsed.ok && parsed.key.hashes) Object.freeze(parsed.key.hashes);
  if (parsed.ok) Object.freeze(parsed.key);
  parsedKeys.set(text, Object.freeze(parsed));
  return parsed;
}

function parseKeyRecordUncached(text: string): KeyParse {
  const parsed = parseTagList(text);
  if (!parsed.ok) return { ok: false, revoked: false, reason: `key record: ${parsed.reason}` };
  const tags = parsed.tags;
  const v = tags.get("v");
  // 3.6.1: v= is optional, but if present it MUST be the first tag and be "DKIM1".
  if (v && (v.value !== "DKIM1" || [...tags.keys()][0] !== "v"))
    return { ok: false, revoked: false, reason: "key record: v= must be DKIM1 and first" };
  const k = (tags.get("k")?.value ?? "rsa").toLowerCase();
  if (k !== "rsa" && k !== "ed25519") return { ok: false, revoked: false, reason: `key record: unknown key type k=${k}` };
  const s = tags.get("s");
  if (
    s &&
    !stripWsp(s.value)
      .split(":")
      .some((x) => x === "*" || x.toLowerCase() === "email")
  ) {
    return { ok: false, revoked: false, reason: "key record: not for email (s=)" };
  }
  const p = tags.get("p");
  if (!p) return { ok: false, revoked: false, reason: "key record: no p= tag" };
  if (stripWsp(p.value) === "") return { ok: false, revoked: true, reason: "key revoked (empty p=)" };
  const der = decodeBase64(p.value);
  if (!der) return { ok: false, revoked: false, reason: "key record: p= is not valid base64" };
  const flags = stripWsp(tags.get("t")?.value ?? "").split(":");
  const h = tags.get("h");
  let publicKey: KeyObject | undefined;
  let bits = 0;
  if (k === "rsa") {
    publicKey = rsaKey(der);
    if (!publicKey) return { ok: false, revoked: false, reason: "key record: p= is not an RSA public key" };
    bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  } else {
    // RFC 8463 4.2: p= is the raw 32-byte Ed25519 public key.
    if (der.length !== 32) return { ok: false, revoked: false, reason: `key record: an Ed25519 p= must be 32 bytes, not ${der.length}` };
    const spki = new Uint8Array(44);
    spki.set(ED25519_SPKI_PREFIX);
    spki.set(der, 12);
    try {
      publicKey = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    } catch {
      return { ok: false, revoked: false, reason: "key record: p= is not an Ed25519 public key" };
    }
    bits = 256;
  }
  const key: DkimKey = { keyType: k, publicKey, bits, testing: flags.includes("y"), strict: flags.includes("s") };
  if (h) key.hashes = stripWsp(h.value).toLowerCase().split(":");
  return { ok: true, key };
}
