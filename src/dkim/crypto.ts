import { sign as cryptoSign, verify as cryptoVerify, type KeyObject, hash as oneShotHash } from "node:crypto";

/** SHA-256 of the input in one call (crypto.hash: about 0.4 us less than createHash, update and digest). */
const sha256 = (data: Uint8Array): Buffer => oneShotHash("sha256", data, "buffer");

/**
 * Signs the header-hash input of a DKIM or ARC signature: RSA with SHA-256, or Ed25519 over the
 * SHA-256 hash of the input (RFC 8463 3).
 */
export function signHeaderData(key: KeyObject, data: Uint8Array): Buffer {
  return key.asymmetricKeyType === "ed25519" ? cryptoSign(null, sha256(data), key) : cryptoSign("sha256", data, key);
}

/** Verifies what signHeaderData made (RSA may also use SHA-1 for DKIM). Never throws: bad input is false. */
export function verifyHeaderData(
  keyType: "rsa" | "ed25519",
  hash: "sha256" | "sha1",
  data: Uint8Array,
  key: KeyObject,
  signature: Uint8Array,
): boolean {
  try {
    return keyType === "ed25519" ? cryptoVerify(null, sha256(data), key, signature) : cryptoVerify(hash, data, key, signature);
  } catch {
    return false;
  }
}
