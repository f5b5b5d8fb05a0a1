// msgauth public API: re-exports, and the authenticate() entry point.

export * from "./arc/index.js";
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
export * from "./dkim/index.js";
export * from "./dmarc/index.js";
export * from "./dns/index.js";
export * from "./dnsbl/index.js";
export * from "./dsn/index.js";
export * from "./errors.js";
export * from "./iprev/index.js";
export * from "./message/index.js";
export * from "./mtasts/index.js";
export * from "./mx/index.js";
export * from "./ratelimit/index.js";
export * from "./smtp/index.js";
export * from "./spf/index.js";
export * from "./tlsrpt/index.js";
