export {
  gunzipCapped,
  jsonDepth,
  parseTlsReport,
  parseTlsReportEmail,
  type TlsReportEmailOptions as TlsReportEmailParseOptions,
  type TlsReportEmailParse,
  type TlsReportError,
  type TlsReportErrorCode,
  type TlsReportLimits,
  type TlsReportParse,
} from "./parse.js";
export {
  discoverTlsRpt,
  parseTlsRptRecord,
  type TlsRptDestination,
  type TlsRptDiscovery,
  type TlsRptRecord,
  type TlsRptRecordParse,
} from "./record.js";
export {
  type ReportMeta,
  reportPolicyFor,
  type TakenReport,
  TlsRptRecorder,
  type TlsSessionFailure,
  type TlsSessionOutcome,
} from "./recorder.js";
export {
  gzipTlsReport,
  serializeTlsReport,
  TLSRPT_RESULT_TYPES,
  type TlsFailureDetail,
  type TlsReport,
  type TlsReportPolicy,
  type TlsReportPolicyId,
  type TlsRptResultType,
  tlsReportFilename,
  tlsReportFromJson,
  tlsReportJsonSchema,
  tlsReportToJson,
} from "./report.js";
export {
  buildTlsReportEmail,
  createNodeReportPoster,
  type ReportHttpsTransport,
  type ReportMailTransport,
  type SubmitResult,
  type SubmitTlsReportOptions,
  submitTlsReport,
  type TlsReportEmailOptions,
} from "./submit.js";
