/** An MTA-STS policy (RFC 8461 3.2). */
export interface StsPolicy {
  version: "STSv1";
  mode: "enforce" | "testing" | "none";
  /** MX patterns in the order given, lower case: "mail.example.com" or "*.example.net". */
  mx: string[];
  /** Seconds the policy may be cached, 0 to 31557600. */
  maxAge: number;
  /** Fields this version does not know, first occurrence of each. */
  extensions: Record<string, string>;
}

export type StsPolicyParse = { ok: true; policy: StsPolicy } | { ok: false; reason: string; line: number };

/** RFC 8461 3.2: max_age is at most 31557600 seconds (a year). */
export const MAX_POLICY_AGE = 31_557_600;

const isAlnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isWsp = (c: number) => c === 0x20 || c === 0x09;

/** RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]; ASCII only. */
export function isDomain(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  let labelStart = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return false;
      if (!isAlnum(text.charCodeAt(labelStart)) || !isAlnum(text.charCodeAt(i - 1))) return false;
      labelStart = i + 1;
    } else if (!isAlnum(c) && c !== 0x2d) return false;
  }
  return true;
}

/**
 * Parses a policy body (RFC 8461 3.2) strictly by its ABNF: lines end in LF or CRLF (one final
 * terminator allowed, no blank lines), `name ":" *WSP value *WSP`, names and the values of version and
 * mode are case-sensitive. `mx` values must be ASCII domain names (A-labels for IDNs), optionally with a
 * `*.` prefix; `max_age` is 1-10 digits and at most 31557600. A repeated field other than `mx` keeps its
 * first value; unknown fields are kept in `extensions` and otherwise ignored. Linear in the input.
 */
export function parseStsPolicy(body: string): StsPolicyParse {
  if (typeof body !== "string") return { ok: false, reason: "not a string", line: 0 };
  if (body.length === 0) return { ok: false, reason: "the policy is empty", line: 1 };
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: string | undefined;
  const mx: string[] = [];
  const extensions: Record<string, string> = Object.create(null); // keyed by input: no prototype
  let pos = 0;
  let lineNo = 0;
  const n = body.length;
  while (pos < n) {
    lineNo++;
    let end = body.indexOf("\n", pos);
    if (end < 0) end = n;
    let lineEnd = end;
    if (lineEnd > pos && body.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
    const line = body.slice(pos, lineEnd);
    pos = end + 1;
    const bad = (reason: string): StsPolicyParse => ({ ok: false, reason, line: lineNo });
    if (line.length === 0) return bad("empty line");
    // name
    if (!isAlnum(line.charCodeAt(0))) return bad("a field name must begin with a letter or digit");
    let j = 1;
    while (j < line.length) {
      const c = line.charCodeAt(j);
      if (isAlnum(c) || c === 0x5f || c === 0x2d || c === 0x2e) j++;
      else break;
    }
    if (j > 32) return bad("a field name is longer than 32 characters");
    const name = line.slice(0, j);
    if (line.charCodeAt(j) !== 0x3a) return bad(`expected ":" after ${name}`);
    j++;
    while (j < line.length && isWsp(line.charCodeAt(j))) j++;
    let k = line.length;
    while (k > j && isWsp(line.charCodeAt(k - 1))) k--;
    const value = line.slice(j, k);
    if (value.length === 0) return bad(`${name} has no value`);
    // sts-policy-ext-value: no control characters (UTF-8 is allowed; the body was decoded strictly).
    for (let m = 0; m < value.length; m++) {
      const c = value.charCodeAt(m);
      if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return bad(`${name} contains a control character`);
    }
    switch (name) {
      case "version":
        if (version === undefined) {
          if (value !== "STSv1") return bad(`unknown version "${value}"`);
          version = value;
        }
        break;
      case "mode":
        if (mode === undefined) {
          if (value !== "enforce" && value !== "testing" && value !== "none") return bad(`unknown mode "${value}"`);
          mode = value;
        }
        break;
      case "max_age":
        if (maxAge === undefined) {
          if (!/^[0-9]{1,10}$/.test(value)) return bad("max_age must be 1 to 10 digits");
          if (Number(value) > MAX_POLICY_AGE) return bad(`max_age ${value} is above ${MAX_POLICY_AGE}`);
          maxAge = value;
        }
        break;
      case "mx": {
        const domain = value.startsWith("*.") ? value.slice(2) : value;
        if (!isDomain(domain)) return bad(`mx "${value}" is not a domain name or "*." and a domain name (IDNs as A-labels)`);
        mx.push(value.toLowerCase());
        break;
      }
      default:
        if (!Object.hasOwn(extensions, name)) extensions[name] = value;
    }
  }
  if (version === undefined) return { ok: false, reason: "no version field", line: lineNo };
  if (mode === undefined) return { ok: false, reason: "no mode field", line: lineNo };
  if (maxAge === undefined) return { ok: false, reason: "no max_age field", line: lineNo };
  if (mx.length === 0 && mode !== "none") return { ok: false, reason: `mode ${mode} needs at least one mx field`, line: lineNo };
  return { ok: true, policy: { version: "STSv1", mode: mode as StsPolicy["mode"], mx, maxAge: Number(maxAge), extensions } };
}

/**
 * Whether an MX host name matches a policy pattern (RFC 8461 4.1): exact, case-insensitive, or
 * `*.suffix` standing for exactly one whole left-most label ("*.example.com" matches
 * "mail.example.com", not "example.com" nor "a.b.example.com").
 */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  const p = pattern.toLowerCase();
  if (p.startsWith("*.")) {
    const suffix = p.slice(1); // ".example.com"
    if (!h.endsWith(suffix)) return false;
    const label = h.slice(0, h.length - suffix.length);
    return label.length > 0 && !label.includes(".");
  }
  return h === p;
}

/** The policy lines as RFC 8460 4.5 lists them in a report's policy-string. */
export function policyStrings(policy: StsPolicy): string[] {
  return [`version: ${policy.version}`, `mode: ${policy.mode}`, ...policy.mx.map((m) => `mx: ${m}`), `max_age: ${policy.maxAge}`];
}
