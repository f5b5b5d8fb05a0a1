export { arcEntry, dkimEntry, dmarcEntry, iprevEntry, spfEntry } from "./entries.js";
export {
  type AuthResParse,
  type ParsedAuthResEntry,
  type ParsedAuthResults,
  parseAuthResults,
  removeAuthResults,
  type TrustedAuthResults,
  trustedAuthResults,
} from "./read.js";
export { type AuthResEntry, type AuthResProperty, formatAuthResults, pvalue } from "./write.js";
