export type { CachedPolicy, PolicyStore } from "./cache.js";
export { MtaSts, type MtaStsOptions, type StsPolicyLookup } from "./client.js";
export { decideDelivery, type StsDecision, type StsHostDecision, type StsTransportOptions, stsTransportOptions } from "./decision.js";
export {
  DEFAULT_FETCH_TIMEOUT_MS,
  DEFAULT_MAX_POLICY_BYTES,
  type FetchStsPolicyOptions,
  fetchStsPolicy,
  type PolicyFetcher,
  type PolicyFetchRequest,
  type PolicyFetchResult,
  type StsFailure,
  type StsFailureType,
  type StsFetchOutcome,
} from "./fetch.js";
export { createNodePolicyFetcher, type NodePolicyFetcherOptions } from "./node-fetch.js";
export { MAX_POLICY_AGE, mxMatches, parseStsPolicy, policyStrings, type StsPolicy, type StsPolicyParse } from "./policy.js";
export { discoverStsRecord, parseStsRecord, type StsDiscovery, type StsRecord, type StsRecordParse } from "./record.js";
export { checkDnsIdentity, classifyTlsError, dnsIds, type TlsNegotiationFailure } from "./tls.js";
