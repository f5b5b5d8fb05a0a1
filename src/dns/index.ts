export { BudgetedResolver, type DnsQueryEvent, type QueryBudgetOptions } from "./budget.js";
export { type CacheOptions, CachingResolver } from "./cache.js";
export { DEFAULT_QUERY_TIMEOUT_MS, type GuardOptions, guardedQuery, guardResolver, validateAnswer } from "./guard.js";
export { formatFromPath, loadZone, parseZone, type ZoneFormat } from "./load.js";
export { fromResolveFunction, NodeResolver, type NodeResolverOptions, type ResolveFunction, toResolveFunction } from "./node.js";
export { RecordingResolver } from "./recorder.js";
export { ipFromReverseName, reverseName } from "./reverse.js";
export { type DnsAnswer, type MxRecord, normalizeName, type QueryOptions, RECORD_TYPES, type RecordType, type Resolver } from "./types.js";
export {
  FixtureResolver,
  type FixtureResolverOptions,
  mergeZones,
  type Zone,
  type ZoneEntry,
  ZoneError,
} from "./zone.js";
export { parseZoneFile, type ZoneFileOptions } from "./zonefile.js";
export { type ZoneObject, zoneFromObject, zoneToObject, zoneToYaml } from "./zoneobject.js";
