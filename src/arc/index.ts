export {
  type ArcAuthResults,
  type ArcMessageSignature,
  type ArcSeal,
  type ArcSet,
  type ArcSetsParse,
  MAX_ARC_INSTANCES,
  parseArcSets,
} from "./parse.js";
export {
  type ArcSealCallOptions,
  ArcSealer,
  type ArcSealerOptions,
  type ArcSealOptions,
  type ArcSealResult,
  createArcSealer,
  mergeAuthResults,
  sealArc,
} from "./seal.js";
export { type ArcResult, type ArcSetSummary, ArcVerifier, type ArcVerifyOptions, verifyArc } from "./verify.js";
