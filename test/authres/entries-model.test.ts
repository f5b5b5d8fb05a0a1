import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ArcResult } from "../../src/arc/verify.js";
import { arcEntry, dkimEntry, dmarcEntry, iprevEntry, spfEntry } from "../../src/authres/entries.js";
import type { AuthResEntry } from "../../src/authres/write.js";
import type { DkimResult } from "../../src/dkim/verify.js";
import type { DmarcResult } from "../../src/dmarc/evaluate.js";
import type { IprevResult } from "../../src/iprev/check.js";
import type { SpfResult } from "../../src/spf/check.js";

// The entry functions make each entry whole (issue 19); the reference below is how they were written
// before, adding comment and reason after creation. The same keys, in the same order, with the same values.

function refSpf(spf: SpfResult): AuthResEntry {
  const props =
    spf.identity === "mailfrom"
      ? [{ ptype: "smtp", property: "mailfrom", value: spf.sender }]
      : [{ ptype: "smtp", property: "helo", value: spf.helo || spf.domain }];
  const entry: AuthResEntry = { method: "spf", result: spf.result, props };
  if (spf.result === "pass" || spf.result === "fail" || spf.result === "softfail" || spf.result === "neutral") {
    entry.comment = `${spf.domain}: ${spf.result === "pass" ? "" : "does not "}designate${spf.result === "pass" ? "s" : ""} ${spf.ip} as permitted sender`;
  } else {
    entry.reason = spf.reason;
  }
  return entry;
}
function refDkim(r: DkimResult): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.domain) props.push({ ptype: "header", property: "d", value: r.domain });
  if (r.identity) props.push({ ptype: "header", property: "i", value: r.identity });
  if (r.selector) props.push({ ptype: "header", property: "s", value: r.selector });
  if (r.algorithm) props.push({ ptype: "header", property: "a", value: r.algorithm });
  if (r.signature) props.push({ ptype: "header", property: "b", value: r.signature.slice(0, 8) });
  const entry: AuthResEntry = { method: "dkim", result: r.result, props };
  const notes: string[] = [];
  if (r.keyBits !== undefined)
    notes.push(`${r.keyBits}-bit ${r.algorithm?.startsWith("ed25519") ? "Ed25519" : "RSA"} key${r.testing ? ", testing" : ""}`);
  if (r.unsignedBodyBytes !== undefined) notes.push(`l= leaves ${r.unsignedBodyBytes} body bytes unsigned`);
  if (notes.length > 0) entry.comment = notes.join("; ");
  if (r.result !== "pass") entry.reason = r.reason;
  return entry;
}
function refDmarc(r: DmarcResult): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.fromDomain) props.push({ ptype: "header", property: "from", value: r.fromDomain });
  if (r.record) props.push({ ptype: "policy", property: "dmarc", value: r.disposition });
  const entry: AuthResEntry = { method: "dmarc", result: r.result, props };
  const record = r.record;
  if (record) {
    let comment = `p=${record.p ?? "none"}`;
    if (record.sp) comment += ` sp=${record.sp}`;
    if (r.policyDomain && r.policyDomain !== r.fromDomain) comment += ` from ${r.policyDomain}`;
    if (r.testing) comment += " t=y";
    entry.comment = `${comment} dis=${r.disposition}`;
  }
  if (r.result !== "pass" && r.result !== "none") entry.reason = r.reason;
  return entry;
}
function refArc(r: ArcResult, remoteIp?: string): AuthResEntry {
  const props: AuthResEntry["props"] = [];
  if (r.result === "pass" && r.oldestPass !== undefined)
    props.push({ ptype: "header", property: "oldest-pass", value: String(r.oldestPass) });
  if (remoteIp && r.instances > 0) props.push({ ptype: "smtp", property: "remote-ip", value: remoteIp });
  const entry: AuthResEntry = { method: "arc", result: r.result, props };
  if (r.instances > 0) entry.comment = `i=${r.instances}${r.sets.length ? ` sealed by ${r.sets.map((s) => s.sealer).join(", ")}` : ""}`;
  if (r.result === "fail") entry.reason = r.reason;
  return entry;
}
function refIprev(r: IprevResult): AuthResEntry {
  const entry: AuthResEntry = { method: "iprev", result: r.result, props: [{ ptype: "policy", property: "iprev", value: r.ip }] };
  if (r.name) entry.comment = r.name;
  else entry.reason = r.reason;
  return entry;
}

/** The same keys in the same order, and the same values. */
function same(a: AuthResEntry, b: AuthResEntry): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  expect(a).toStrictEqual(b);
}

const text = fc.constantFrom("", "example.com", "a b", "x(y)", "reason");
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

describe("entries made whole agree with entries given comment and reason after creation", () => {
  it("spf", () => {
    const spf = fc.record({
      result: fc.constantFrom("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"),
      identity: fc.constantFrom("mailfrom", "helo"),
      sender: text,
      helo: text,
      domain: text,
      ip: fc.constantFrom("192.0.2.1", "2001:db8::1"),
      reason: maybe(text),
    });
    fc.assert(fc.property(spf, (s) => same(spfEntry(s as unknown as SpfResult), refSpf(s as unknown as SpfResult))));
  });
  it("dkim", () => {
    const dkim = fc.record({
      result: fc.constantFrom("pass", "fail", "neutral", "none", "temperror", "permerror", "policy"),
      domain: maybe(text),
      identity: maybe(text),
      selector: maybe(text),
      algorithm: maybe(fc.constantFrom("rsa-sha256", "ed25519-sha256", "rsa-sha1")),
      signature: maybe(fc.constantFrom("", "abcdefghijkl", "abc")),
      keyBits: maybe(fc.constantFrom(1024, 2048, 256)),
      testing: fc.boolean(),
      unsignedBodyBytes: maybe(fc.nat(5000)),
      reason: maybe(text),
    });
    fc.assert(fc.property(dkim, (d) => same(dkimEntry(d as unknown as DkimResult), refDkim(d as unknown as DkimResult))));
  });
  it("dmarc", () => {
    const dmarc = fc.record({
      result: fc.constantFrom("pass", "fail", "none", "temperror", "permerror"),
      fromDomain: text,
      policyDomain: maybe(text),
      disposition: fc.constantFrom("none", "quarantine", "reject"),
      testing: fc.boolean(),
      record: maybe(fc.record({ p: maybe(fc.constantFrom("none", "reject")), sp: maybe(fc.constantFrom("quarantine", "reject")) })),
      reason: text,
    });
    fc.assert(fc.property(dmarc, (d) => same(dmarcEntry(d as unknown as DmarcResult), refDmarc(d as unknown as DmarcResult))));
  });
  it("arc", () => {
    const arc = fc.record({
      result: fc.constantFrom("pass", "fail", "none"),
      instances: fc.nat(3),
      oldestPass: maybe(fc.nat(3)),
      sets: fc.array(fc.record({ sealer: text }), { maxLength: 3 }),
      reason: text,
    });
    const ip = maybe(fc.constantFrom("", "192.0.2.1"));
    fc.assert(fc.property(arc, ip, (a, i) => same(arcEntry(a as unknown as ArcResult, i), refArc(a as unknown as ArcResult, i))));
  });
  it("iprev", () => {
    const iprev = fc.record({
      result: fc.constantFrom("pass", "fail", "temperror", "permerror"),
      ip: fc.constantFrom("192.0.2.1"),
      name: maybe(text),
      reason: text,
    });
    fc.assert(fc.property(iprev, (r) => same(iprevEntry(r as unknown as IprevResult), refIprev(r as unknown as IprevResult))));
  });
});

// dkimEntry and dmarcEntry give the usual comments as constants (a constant is a flat string, which
// formatAuthResults reads faster than a cons string joined anew): the same text as joined.
describe("constant comments are the comments joined", () => {
  it("dkim: every key size and kind, testing or not, with and without l=", () => {
    for (const keyBits of [256, 512, 1024, 2048, 3072, 4096, 8192])
      for (const algorithm of ["rsa-sha256", "rsa-sha1", "ed25519-sha256", undefined])
        for (const testing of [false, true])
          for (const unsignedBodyBytes of [undefined, 10]) {
            const d = {
              result: "pass",
              domain: "example.com",
              selector: "s",
              algorithm,
              keyBits,
              testing,
              unsignedBodyBytes,
              signature: "",
            };
            same(dkimEntry(d as unknown as DkimResult), refDkim(d as unknown as DkimResult));
          }
  });
  it("dmarc: every policy and disposition, with and without sp=, t=y, another policy domain", () => {
    const policies = ["none", "quarantine", "reject", undefined];
    for (const p of policies)
      for (const disposition of ["none", "quarantine", "reject"])
        for (const sp of [undefined, "reject"])
          for (const testing of [false, true])
            for (const policyDomain of [undefined, "example.com", "org.example"]) {
              const d = { result: "pass", fromDomain: "example.com", policyDomain, disposition, testing, record: { p, sp }, reason: "r" };
              same(dmarcEntry(d as unknown as DmarcResult), refDmarc(d as unknown as DmarcResult));
            }
  });
});
