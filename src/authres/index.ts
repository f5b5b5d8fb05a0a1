export { arcEntry, dkimEntries, dkimEntry, dmarcEntry, iprevEntry, spfEntry } from "./entries.js";
export {
  type AuthResParse,
  type ParsedAuthResEntry,
  type ParsedAuthResults,
  parseAuthResults,
  removeAuthResults,
  type TrustedAuthResults,
  trustedAuthResults,
} from "./read.js";
export {
  type AuthResEntry,
  AuthResError,
  type AuthResProperty,
  authservIdValue,
  formatAuthResults,
  MAX_AUTHRES_TEXT,
  MAX_AUTHRES_VALUE,
  pvalue,
} from "./write.js";
