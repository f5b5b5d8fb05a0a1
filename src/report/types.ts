/** Aggregate report data (RFC 9990; RFC 7489 Appendix C reports are read into the same shape). */

export type Disposition = "none" | "quarantine" | "reject";
export type EvaluatedDisposition = Disposition | "pass";
export type OverrideType =
  | "local_policy"
  | "mailing_list"
  | "other"
  | "policy_test_mode"
  | "trusted_forwarder"
  | "forwarded"
  | "sampled_out";
export type DkimAuthWord = "none" | "pass" | "fail" | "policy" | "neutral" | "temperror" | "permerror";
export type SpfAuthWord = DkimAuthWord | "softfail";

export interface PolicyOverride {
  type: OverrideType;
  comment?: string;
}

export interface PolicyPublished {
  /** Where the DMARC record was found. */
  domain: string;
  p: Disposition;
  sp?: Disposition;
  np?: Disposition;
  adkim?: "r" | "s";
  aspf?: "r" | "s";
  /** RFC 9990: how the record was found. */
  discoveryMethod?: "psl" | "treewalk";
  fo?: string;
  testing?: "y" | "n";
  /** RFC 7489 reports only. */
  pct?: number;
}

export interface DkimAuthResult {
  domain: string;
  /** Required by RFC 9990; RFC 7489 reports may lack it. */
  selector?: string;
  result: DkimAuthWord;
  humanResult?: string;
}

export interface SpfAuthResult {
  domain: string;
  /** RFC 9990 has only "mfrom"; RFC 7489 also "helo". */
  scope?: "mfrom" | "helo";
  result: SpfAuthWord;
  humanResult?: string;
}

/** One record: messages with identical content, counted. */
export interface AggregateRecord {
  sourceIp: string;
  count: number;
  disposition: EvaluatedDisposition;
  /** DMARC-aligned results. */
  dkim: "pass" | "fail";
  spf: "pass" | "fail";
  reasons: PolicyOverride[];
  headerFrom: string;
  envelopeFrom?: string;
  envelopeTo?: string;
  dkimResults: DkimAuthResult[];
  spfResults: SpfAuthResult[];
}

export interface ReportMetadata {
  orgName: string;
  email: string;
  extraContactInfo?: string;
  reportId: string;
  /** Seconds since the epoch, UTC. */
  begin: number;
  end: number;
  errors: string[];
  generator?: string;
}

export interface AggregateReport {
  /** Which schema the XML followed: the RFC 9990 namespace, or the RFC 7489 format without one. */
  schema: "rfc9990" | "rfc7489";
  version?: string;
  metadata: ReportMetadata;
  policy: PolicyPublished;
  records: AggregateRecord[];
}
