// msgauth public API: re-exports, and the authenticate() entry point. The `export type` lines name
// types that exported functions take or return, so users can name them too (and the API reference,
// `npm run docs`, links them).

export * from "./arc/index.js";
export type { AuthenticateSealerOptions, AuthenticateSealOptions } from "./arc/seal.js";
export {
  type ArcOverrideOptions,
  type AuthenticateOptions,
  type AuthenticationResult,
  arcOverride,
  authenticate,
  type CheckTiming,
  type Envelope,
  type Logger,
} from "./authenticate.js";
export * from "./authres/index.js";
export type { BodySink } from "./dkim/canonicalize.js";
export * from "./dkim/index.js";
export type { SignatureProblem } from "./dkim/signature.js";
export type { RecordLookup, WalkResult } from "./dmarc/discover.js";
export * from "./dmarc/index.js";
export type { DmarcRecordParse } from "./dmarc/record.js";
export type { Speculation } from "./dns/budget.js";
export * from "./dns/index.js";
export type { RecordsByType } from "./dns/types.js";
export * from "./dnsbl/index.js";
export * from "./dsn/index.js";
export * from "./errors.js";
export * from "./iprev/index.js";
export type { AuthorDefect } from "./message/from.js";
export * from "./message/index.js";
export * from "./mtasts/index.js";
export * from "./mx/index.js";
export { MAX_TIMER_MS } from "./options.js";
export * from "./ratelimit/index.js";
export * from "./report/index.js";
export * from "./smtp/index.js";
export type { SaslDecode } from "./smtp/sasl.js";
export * from "./spf/index.js";
export type { MacroLetter, MacroParse } from "./spf/macro.js";
export type { RecordParse } from "./spf/record.js";
export * from "./store/index.js";
export * from "./tlsrpt/index.js";
