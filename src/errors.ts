/**
 * Errors for programming mistakes: a wrong call, never bad mail or bad DNS (those are results).
 *
 * Every error msgauth throws on purpose is a {@link MsgauthError}: a TypeError (so existing
 * `instanceof TypeError` checks keep working) with a stable `code`. Catch by class or by code.
 *
 * | class | code | thrown when |
 * |---|---|---|
 * | OptionsError | ERR_MSGAUTH_UNKNOWN_OPTION | an options object has a key msgauth does not know |
 * | OptionsError | ERR_MSGAUTH_INVALID_OPTION | a known option has a wrong type or value, or a required one is missing |
 * | ArgumentError | ERR_MSGAUTH_INVALID_ARGUMENT | a positional argument is wrong (a message that is not bytes, text or a stream) |
 * | KeyError | ERR_MSGAUTH_KEY_UNREADABLE | a private key is neither PEM nor DER that Node can read |
 * | KeyError | ERR_MSGAUTH_KEY_NOT_PRIVATE | a public key (or certificate) was given where a private key is needed |
 * | KeyError | ERR_MSGAUTH_KEY_UNSUPPORTED | the key is not RSA or Ed25519 (EC, DSA, X25519...) |
 * | KeyError | ERR_MSGAUTH_KEY_TOO_SMALL | an RSA signing key has fewer than 1024 bits (RFC 8301 3.2) |
 * | KeyError | ERR_MSGAUTH_KEY_ALGORITHM | the algorithm option does not fit the key |
 * | AuthResError (authres/write.ts) | ERR_MSGAUTH_AUTHRES_SYNTAX | formatAuthResults got a method, result, ptype, property, version or authserv-id outside RFC 8601's grammar |
 * | StateError, SessionStateError (smtp/session.ts) | ERR_MSGAUTH_INVALID_STATE | a method called when it cannot work: completeMessage(), completeAuth() or tlsStarted() with no such event pending; BodyHashes.add after the body began |
 * | SessionCallbackError (smtp/session.ts) | ERR_MSGAUTH_SESSION_CALLBACK | never thrown: carried by the session's `fault` event when an application callback broke its contract (a predicate not returning a boolean) |
 * | ZoneError (dns/zone.ts) | ERR_MSGAUTH_ZONE_INVALID | fixture zone data (zone file, YAML, JSON or object) that does not parse or is inconsistent; `file`, `line` and `why` say where |
 * | ZoneError (dns/zone.ts) | ERR_MSGAUTH_ZONE_UNREADABLE | loadZones could not read a fixture file (or a YAML file without the yaml package) |
 *
 * Not programming errors, so not MsgauthErrors (and not TypeErrors): a store or rate-limit backend
 * that fails rejects with StoreError (store/types.ts, `code` "unavailable", "timeout", "closed" or
 * "unsupported-runtime") or RateLimitFaultError (ratelimit/store.ts, `fault`). The reporters,
 * collectors and the RateLimiter turn these into result values; only a store called directly
 * rejects with them.
 */
export class MsgauthError extends TypeError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type OptionsErrorCode = "ERR_MSGAUTH_UNKNOWN_OPTION" | "ERR_MSGAUTH_INVALID_OPTION";

/** An options object (or the envelope) was refused. `path` names the option, e.g. "envelope.sender". */
export class OptionsError extends MsgauthError {
  declare readonly code: OptionsErrorCode;
  /** Where the problem is: "options.limits.maxDnsQueries", "envelope.sender". */
  readonly path: string;
  /** For a key msgauth knows under another name (often mailauth's): the name to use instead. */
  readonly suggestion?: string;
  constructor(code: OptionsErrorCode, path: string, message: string, suggestion?: string) {
    super(code, message);
    this.path = path;
    if (suggestion !== undefined) this.suggestion = suggestion;
  }
}

/** A positional argument of the wrong kind. */
export class ArgumentError extends MsgauthError {
  declare readonly code: "ERR_MSGAUTH_INVALID_ARGUMENT";
  constructor(message: string) {
    super("ERR_MSGAUTH_INVALID_ARGUMENT", message);
  }
}

export type KeyErrorCode =
  | "ERR_MSGAUTH_KEY_UNREADABLE"
  | "ERR_MSGAUTH_KEY_NOT_PRIVATE"
  | "ERR_MSGAUTH_KEY_UNSUPPORTED"
  | "ERR_MSGAUTH_KEY_TOO_SMALL"
  | "ERR_MSGAUTH_KEY_ALGORITHM";

/** A signing key msgauth cannot or will not use. */
export class KeyError extends MsgauthError {
  declare readonly code: KeyErrorCode;
  constructor(code: KeyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A method called when it cannot work: an SMTP session answer with no such event pending
 * (SessionStateError), BodyHashes.add after the body began or a body hash read before end().
 */
export class StateError extends MsgauthError {
  declare readonly code: "ERR_MSGAUTH_INVALID_STATE";
  constructor(message: string) {
    super("ERR_MSGAUTH_INVALID_STATE", message);
  }
}

/**
 * Text for a caught value, whatever was thrown: an Error's message, a string, else a generic
 * description. Never throws: a thrown `Object.create(null)`, an object whose toString throws or a
 * Proxy whose every trap throws all get a description instead of a second exception.
 */
export function describeError(err: unknown): string {
  try {
    if (typeof err === "string") return err;
    if (err instanceof Error) {
      const m: unknown = err.message;
      if (typeof m === "string") return m;
    }
  } catch {
    // a Proxy's getPrototypeOf or get trap threw
  }
  try {
    const t = typeof err;
    if (t === "number" || t === "boolean" || t === "bigint" || t === "undefined" || t === "symbol") return String(err);
    if (err === null) return "null";
  } catch {
    // unreachable for primitives; kept so that nothing can escape
  }
  return "a non-Error value was thrown";
}
