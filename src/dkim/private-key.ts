import { createPrivateKey, createPublicKey, KeyObject } from "node:crypto";
import { KeyError } from "../errors.js";

/** What a signing key may be given as: PEM text or bytes, DER bytes (PKCS#8 or PKCS#1), or a KeyObject. */
export type PrivateKeyInput = string | Uint8Array | KeyObject;

/** Smallest RSA key msgauth signs with (RFC 8301 3.2: signers MUST use at least 1024 bits). */
export const MIN_SIGNING_RSA_BITS = 1024;

const PEM_START = /^\s*-----BEGIN /;
const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** DER bytes start with a SEQUENCE tag (0x30). */
const looksDer = (b: Uint8Array) => b.length > 2 && b[0] === 0x30;

function tryKey(make: () => KeyObject): KeyObject | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

function fromPem(pem: string): KeyObject {
  const labels = [...pem.matchAll(PEM_LABEL)].map((m) => m[1]!);
  if (labels.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(pem))
    throw new KeyError(
      "ERR_MSGAUTH_KEY_UNREADABLE",
      "unreadable key: the PEM key is encrypted; decrypt it first (crypto.createPrivateKey({ key, passphrase })) and pass the KeyObject",
    );
  if (!labels.some((l) => l.endsWith("PRIVATE KEY"))) {
    if (labels.some((l) => l.endsWith("PUBLIC KEY") || l === "CERTIFICATE"))
      throw new KeyError(
        "ERR_MSGAUTH_KEY_NOT_PRIVATE",
        `not a private key: the PEM holds a ${labels.join(", ")}, signing needs the private key`,
      );
    throw new KeyError("ERR_MSGAUTH_KEY_UNREADABLE", "unreadable key: no -----BEGIN ... PRIVATE KEY----- block in the PEM text");
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new KeyError(
      "ERR_MSGAUTH_KEY_UNREADABLE",
      `unreadable key: the PEM private key could not be decoded (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

function fromDer(der: Buffer): KeyObject {
  const key =
    tryKey(() => createPrivateKey({ key: der, format: "der", type: "pkcs8" })) ??
    tryKey(() => createPrivateKey({ key: der, format: "der", type: "pkcs1" })) ??
    tryKey(() => createPrivateKey({ key: der, format: "der", type: "sec1" }));
  if (key) return key;
  const pub =
    tryKey(() => createPublicKey({ key: der, format: "der", type: "spki" })) ??
    tryKey(() => createPublicKey({ key: der, format: "der", type: "pkcs1" }));
  if (pub) throw new KeyError("ERR_MSGAUTH_KEY_NOT_PRIVATE", `not a private key: the DER bytes hold a ${pub.asymmetricKeyType} public key`);
  throw new KeyError("ERR_MSGAUTH_KEY_UNREADABLE", "unreadable key: the bytes are neither PEM nor a DER private key (PKCS#8, PKCS#1)");
}

/**
 * Reads a DKIM/ARC signing key, the one loader used by signDkim, sealArc, authenticate's `seal` and
 * the command line. Accepts:
 * - PEM text, as a string or as bytes (what `fs.readFileSync(path)` returns): PKCS#8 ("PRIVATE KEY")
 *   or PKCS#1 ("RSA PRIVATE KEY"); other PEM blocks (a certificate before the key) are skipped;
 * - DER bytes: PKCS#8 (RSA or Ed25519) or PKCS#1 (RSA);
 * - a private KeyObject (fastest when signing many messages: the key is parsed once).
 *
 * A raw 32-byte Ed25519 seed is not guessed at (any 32 bytes would be "valid"): wrap it with
 * {@link ed25519KeyFromSeed}. Throws a {@link KeyError} naming the problem: unreadable, not a private
 * key, unsupported key type (only RSA and Ed25519 sign DKIM, RFC 6376 3.3 and RFC 8463), or an RSA
 * key under 1024 bits (RFC 8301 3.2; 2048 is the recommendation).
 */
export function loadPrivateKey(input: PrivateKeyInput): KeyObject {
  let key: KeyObject;
  if (input instanceof KeyObject) {
    if (input.type !== "private")
      throw new KeyError(
        "ERR_MSGAUTH_KEY_NOT_PRIVATE",
        `not a private key: the KeyObject is a ${input.type} key, signing needs the private key`,
      );
    key = input;
  } else if (typeof input === "string") {
    key = fromPem(input);
  } else if (input instanceof Uint8Array) {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    // PEM read from a file as a Buffer: text, not DER.
    const head = bytes
      .subarray(0, 64)
      .toString("latin1")
      .replace(/^\uFEFF|^\xEF\xBB\xBF/, "");
    if (PEM_START.test(head)) key = fromPem(bytes.toString("utf8"));
    else if (looksDer(bytes)) key = fromDer(bytes);
    else if (bytes.length === 32)
      throw new KeyError(
        "ERR_MSGAUTH_KEY_UNREADABLE",
        "unreadable key: 32 bytes that are not DER; if this is a raw Ed25519 seed, pass ed25519KeyFromSeed(bytes)",
      );
    else
      throw new KeyError("ERR_MSGAUTH_KEY_UNREADABLE", "unreadable key: the bytes are neither PEM nor a DER private key (PKCS#8, PKCS#1)");
  } else {
    throw new KeyError("ERR_MSGAUTH_KEY_UNREADABLE", `unreadable key: expected PEM text, DER bytes or a KeyObject, got ${describe(input)}`);
  }
  const type = key.asymmetricKeyType;
  if (type !== "rsa" && type !== "ed25519")
    throw new KeyError(
      "ERR_MSGAUTH_KEY_UNSUPPORTED",
      `unsupported key type ${type ?? "unknown"}: DKIM and ARC sign with RSA (rsa-sha256) or Ed25519 (ed25519-sha256) keys`,
    );
  if (type === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_SIGNING_RSA_BITS)
      throw new KeyError(
        "ERR_MSGAUTH_KEY_TOO_SMALL",
        `RSA key too small: ${bits} bits; signers must use at least 1024 (RFC 8301 3.2), 2048 is recommended`,
      );
  }
  return key;
}

/** PKCS#8 prefix of an Ed25519 private key (RFC 8410 7): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 private key from its raw 32-byte seed (the form libsodium and many tools store). */
export function ed25519KeyFromSeed(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== 32)
    throw new KeyError("ERR_MSGAUTH_KEY_UNREADABLE", "unreadable key: an Ed25519 seed is exactly 32 bytes");
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return v.constructor?.name ?? "an object";
  return typeof v;
}
