import { listenAbort, signalAborted, unlistenAbort } from "../abort.js";
import { describeError } from "../errors.js";
import { checkOptionKeys, checkTimerMs } from "../options.js";
import { isDomain, parseStsPolicy, type StsPolicy } from "./policy.js";

/** What the policy fetcher is asked for: one HTTPS GET, no redirects followed, no HTTP cache. */
export interface PolicyFetchRequest {
  /** The Policy Host, `mta-sts.<domain>`: the certificate must be valid for it (RFC 8461 3.3). */
  host: string;
  /** `https://mta-sts.<domain>/.well-known/mta-sts.txt` */
  url: string;
  /** Fires when the caller's deadline passes: stop and settle. */
  signal: AbortSignal;
  /** Stop reading (and answer `too-large`) once the body is longer than this. */
  maxBytes: number;
}

/** A fetcher's answer: the raw response, or why there is none. */
export type PolicyFetchResult =
  | { kind: "response"; status: number; contentType: string | undefined; body: Uint8Array }
  | {
      kind: "error";
      /** `tls`: the certificate or handshake failed (reported as sts-webpki-invalid); the rest: sts-policy-fetch-error. */
      code: "tls" | "network" | "timeout" | "too-large";
      reason: string;
    };

/**
 * The HTTPS edge, injected like the resolver. {@link createNodePolicyFetcher} is Node's; a fetcher must
 * validate the certificate for `request.host` and must not follow redirects.
 */
export type PolicyFetcher = (request: PolicyFetchRequest) => Promise<PolicyFetchResult>;

/** RFC 8460 4.3.2.2 result types for a policy that could not be had. */
export type StsFailureType = "sts-policy-fetch-error" | "sts-policy-invalid" | "sts-webpki-invalid";

export interface StsFailure {
  resultType: StsFailureType;
  reason: string;
}

export type StsFetchOutcome = { ok: true; policy: StsPolicy; text: string } | { ok: false; failure: StsFailure };

export interface FetchStsPolicyOptions {
  fetch: PolicyFetcher;
  /** Milliseconds for the whole fetch. Default 60000 (RFC 8461 3.3 suggests one minute); at most 2^31-1. */
  timeoutMs?: number;
  /** Largest body accepted. Default 65536 (RFC 8461 3.3 suggests 64 KB). */
  maxBytes?: number;
  /** Stops the fetch (a fetch error) when it fires. */
  signal?: AbortSignal;
}

const FETCH_OPTIONS = ["fetch", "timeoutMs", "maxBytes", "signal"];

export const DEFAULT_FETCH_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_POLICY_BYTES = 65_536;

/** The media type of a Content-Type value, lower case, without parameters. */
function mediaType(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(";");
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
}

/**
 * Fetches and parses a domain's policy (RFC 8461 3.2, 3.3) through the injected fetcher. Only a 200
 * answer counts (a 3xx is never followed), the media type must be text/plain, the body at most
 * `maxBytes` of valid UTF-8 that parses as a policy. The whole fetch settles within `timeoutMs` even
 * when the fetcher does not; a fetcher that throws is a fetch error. Never throws.
 */
export async function fetchStsPolicy(domain: string, options: FetchStsPolicyOptions): Promise<StsFetchOutcome> {
  checkOptionKeys(options, FETCH_OPTIONS, "options", (k) => `options.${k}: unknown option (known: ${FETCH_OPTIONS.join(", ")})`);
  checkTimerMs(options.timeoutMs, "options.timeoutMs");
  if (typeof domain !== "string" || !isDomain(domain))
    return {
      ok: false,
      failure: { resultType: "sts-policy-fetch-error", reason: `${JSON.stringify(domain)} is not an A-label domain name` },
    };
  const host = `mta-sts.${domain}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_POLICY_BYTES;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<PolicyFetchResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error("policy fetch timed out"));
      resolve({ kind: "error", code: "timeout", reason: `no complete answer within ${timeoutMs} ms` });
    }, timeoutMs);
    const outer = options.signal;
    if (outer) {
      onAbort = () => {
        controller.abort(new Error("policy fetch aborted"));
        resolve({ kind: "error", code: "timeout", reason: "aborted by the caller" });
      };
      if (signalAborted(outer)) onAbort();
      else listenAbort(outer, onAbort);
    }
  });
  let result: PolicyFetchResult;
  try {
    result = await Promise.race([
      options.fetch({ host, url: `https://${host}/.well-known/mta-sts.txt`, signal: controller.signal, maxBytes }),
      deadline,
    ]);
  } catch (err) {
    result = { kind: "error", code: "network", reason: `fetcher threw: ${describeError(err)}` };
  } finally {
    clearTimeout(timer);
    if (onAbort && options.signal) unlistenAbort(options.signal, onAbort);
    if (!controller.signal.aborted) controller.abort(new Error("policy fetch settled"));
  }
  const fail = (resultType: StsFailureType, reason: string): StsFetchOutcome => ({ ok: false, failure: { resultType, reason } });
  if (result === null || typeof result !== "object") return fail("sts-policy-fetch-error", "the fetcher gave no result");
  if (result.kind === "error") {
    return fail(result.code === "tls" ? "sts-webpki-invalid" : "sts-policy-fetch-error", `${host}: ${result.reason}`);
  }
  // RFC 8461 3.3: only 200 is a policy; redirects are not followed.
  if (result.status !== 200) return fail("sts-policy-fetch-error", `${host} answered HTTP ${result.status}`);
  const type = mediaType(result.contentType);
  if (type !== "text/plain") return fail("sts-policy-invalid", `${host} served ${type ?? "no media type"}, not text/plain`);
  if (!(result.body instanceof Uint8Array)) return fail("sts-policy-fetch-error", "the fetcher gave no body");
  if (result.body.length > maxBytes) return fail("sts-policy-fetch-error", `${host}: the policy is larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(result.body);
  } catch {
    return fail("sts-policy-invalid", `${host}: the policy is not valid UTF-8`);
  }
  const parsed = parseStsPolicy(text);
  if (!parsed.ok) return fail("sts-policy-invalid", `${host}: line ${parsed.line}: ${parsed.reason}`);
  return { ok: true, policy: parsed.policy, text };
}
