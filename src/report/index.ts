export { type FailureReport, type FailureReportParse, parseFailureReport } from "./arf.js";
export {
  AggregateCollector,
  type CollectExtra,
  type CollectInput,
  type CollectOutcome,
  type CollectorOptions,
  policyPublished,
  recordOf,
} from "./collect.js";
export { reportEmail } from "./email.js";
export {
  type FailureInput,
  type FailureOutcome,
  FailureReporter,
  type FailureReporterOptions,
  type FailureReportIdentity,
  type FailureReportParams,
  type FailureType,
  failureReportEmail,
  failureReportsWanted,
  type Redaction,
} from "./failure.js";
export { aggregateXml, type GeneratedReport, generateFromStore, generateReport, type ReporterIdentity } from "./generate.js";
export { summaryHtml } from "./html.js";
export {
  type AggregateParse,
  type ParseLimits,
  parseAggregateReport,
  parseAggregateXml,
  type ReportParseError,
  type ReportParseErrorCode,
} from "./parse.js";
export { AggregateReporter, type Delivery, type PeriodOutcome, type ReporterOptions, type ReportTransport } from "./reporter.js";
export { type DayStats, type FailingSource, type ReportSummary, type SourceStats, summarizeReports, summaryText } from "./summary.js";
export type * from "./types.js";
