export { DmarcLookups, type DmarcMode, OrgDomains, pslOrgDomain, selectOrgDomain, treeWalk, treeWalkTargets } from "./discover.js";
export { checkDmarc, type DmarcAlignment, type DmarcInput, type DmarcOptions, type DmarcResult, type DmarcResultWord } from "./evaluate.js";
export { type AlignmentMode, type DmarcPolicy, type DmarcRecord, type DmarcUri, isDmarcRecord, parseDmarcRecord } from "./record.js";
export { type ReportDestinationCheck, type ReportDestinationOptions, verifyReportDestination } from "./report.js";
