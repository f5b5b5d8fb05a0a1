export { BodyHashes, type BodyHashResult, type BodyHashSpec } from "./body-hash.js";
export { BodyCanonicalizer, type CanonEngine, canonicalizeHeader, canonicalizeSignatureField, selectHeaders } from "./canonicalize.js";
export { type DkimKey, type KeyParse, parseKeyRecord } from "./key.js";
export { ed25519KeyFromSeed, loadPrivateKey, MIN_SIGNING_RSA_BITS, type PrivateKeyInput } from "./private-key.js";
export {
  createDkimSigner,
  DEFAULT_OVERSIGNED_HEADERS,
  DEFAULT_SIGNED_HEADERS,
  DkimSigner,
  type DkimSignOptions,
  signDkim,
  signedHeaderList,
  signMessage,
} from "./sign.js";
export { type Canonicalization, type DkimAlgorithm, type DkimSignature, parseSignature } from "./signature.js";
export { DkimSignStream } from "./stream.js";
export { decodeBase64, parseTagList, type Tag, type TagList } from "./tags.js";
export { type DkimResult, type DkimResultWord, DkimVerifier, type DkimVerifyOptions, headerHashInput, verifyDkim } from "./verify.js";
