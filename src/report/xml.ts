import type { AggregateRecord, PolicyPublished, ReportMetadata } from "./types.js";

export const DMARC_NS = "urn:ietf:params:xml:ns:dmarc-2.0";

/** XML 1.0 text: &, <, > escaped, CR as &#13; (XML 1.0 2.11 turns a literal CR into LF when read);
 * characters XML 1.0 forbids (C0 controls but TAB/LF/CR, lone surrogates) dropped. */
const PLAIN = /^[^&<>\u0000-\u001f\ud800-\udfff\ufffe\uffff]*$/;

export function xmlText(s: string): string {
  if (PLAIN.test(s)) return s; // the common case: nothing to escape or drop
  return s
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      "",
    )
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r/g, "&#13;");
}

const el = (name: string, value: string | number | undefined, indent: string): string =>
  value === undefined ? "" : `${indent}<${name}>${xmlText(String(value))}</${name}>\n`;

/** The XML before the records: declaration, metadata, policy_published, extension. */
export function xmlHead(metadata: ReportMetadata, policy: PolicyPublished): string {
  let s = `<?xml version="1.0" encoding="UTF-8"?>\n<feedback xmlns="${DMARC_NS}">\n  <version>1.0</version>\n  <report_metadata>\n`;
  s += el("org_name", metadata.orgName, "    ");
  s += el("email", metadata.email, "    ");
  s += el("extra_contact_info", metadata.extraContactInfo, "    ");
  s += el("report_id", metadata.reportId, "    ");
  s += `    <date_range>\n      <begin>${metadata.begin}</begin>\n      <end>${metadata.end}</end>\n    </date_range>\n`;
  // RFC 9990's schema allows one error element: several problems are joined.
  if (metadata.errors.length) s += el("error", metadata.errors.join("; "), "    ");
  s += el("generator", metadata.generator, "    ");
  s += "  </report_metadata>\n  <policy_published>\n";
  s += el("domain", policy.domain, "    ");
  s += el("p", policy.p, "    ");
  s += el("sp", policy.sp, "    ");
  s += el("np", policy.np, "    ");
  s += el("adkim", policy.adkim, "    ");
  s += el("aspf", policy.aspf, "    ");
  s += el("discovery_method", policy.discoveryMethod, "    ");
  s += el("fo", policy.fo, "    ");
  s += el("testing", policy.testing, "    ");
  s += "  </policy_published>\n  <extension/>\n";
  return s;
}

/** One <record> element (RFC 9990 RecordType: row, identifiers, auth_results). */
export function xmlRecord(r: AggregateRecord): string {
  let s = "  <record>\n    <row>\n";
  s += el("source_ip", r.sourceIp, "      ");
  s += el("count", r.count, "      ");
  s += "      <policy_evaluated>\n";
  s += el("disposition", r.disposition, "        ");
  s += el("dkim", r.dkim, "        ");
  s += el("spf", r.spf, "        ");
  for (const reason of r.reasons) {
    // RFC 7489's "forwarded" and "sampled_out" are not in RFC 9990's PolicyOverrideType: written as "other".
    const legacy = reason.type === "forwarded" || reason.type === "sampled_out";
    const type = legacy ? "other" : reason.type;
    const comment = legacy ? (reason.comment ?? reason.type) : reason.comment;
    s += `        <reason>\n${el("type", type, "          ")}${el("comment", comment, "          ")}        </reason>\n`;
  }
  s += "      </policy_evaluated>\n    </row>\n    <identifiers>\n";
  s += el("header_from", r.headerFrom, "      ");
  s += el("envelope_from", r.envelopeFrom, "      ");
  s += el("envelope_to", r.envelopeTo, "      ");
  s += "    </identifiers>\n    <auth_results>\n";
  for (const k of r.dkimResults) {
    s += `      <dkim>\n${el("domain", k.domain, "        ")}${el("selector", k.selector ?? "", "        ")}${el("result", k.result, "        ")}${el("human_result", k.humanResult, "        ")}      </dkim>\n`;
  }
  for (const p of r.spfResults.slice(0, 1)) {
    const scope = p.scope === "mfrom" ? p.scope : undefined;
    s += `      <spf>\n${el("domain", p.domain, "        ")}${el("scope", scope, "        ")}${el("result", p.result, "        ")}${el("human_result", p.humanResult, "        ")}      </spf>\n`;
  }
  s += "    </auth_results>\n  </record>\n";
  return s;
}

export const XML_TAIL = "</feedback>\n";
