import { describe, expect, it } from "vitest";
import type { DkimResult } from "../../src/dkim/index.js";
import { checkDmarc } from "../../src/dmarc/index.js";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { parseAuthor, splitMessage } from "../../src/message/index.js";

const zone = zoneFromObject({
  "_dmarc.bank.example": { TXT: "v=DMARC1; p=reject" },
  "_dmarc.shop.example": { TXT: "v=DMARC1; p=quarantine; t=y" },
  "_dmarc.a.example": { TXT: "v=DMARC1; p=none" },
  "_dmarc.b.example": { TXT: "v=DMARC1; p=none" },
  "_dmarc.slow.example": { timeout: true },
});
const resolver = () => new FixtureResolver(zone);
const author = (headers: string) => parseAuthor(splitMessage(new TextEncoder().encode(`${headers}\r\n\r\n`)).headers);
const dkim = (domain: string): DkimResult =>
  ({ result: "pass", domain, selector: "s", reason: "", testing: false, signedHeaders: ["from"], signature: "" }) as unknown as DkimResult;

describe("checkDmarc: the author rule", () => {
  it("maxAuthorDomains must be a positive integer", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(
        checkDmarc({ author: author("From: x@a.example"), dkim: [] }, { resolver: resolver(), maxAuthorDomains: bad }),
      ).rejects.toThrow(TypeError);
    }
  });
  it("past a custom maxAuthorDomains: fail with reject, the rest listed, even when all evaluated ones pass", async () => {
    const r = await checkDmarc(
      { author: author("From: x@a.example, y@b.example, z@bank.example"), dkim: [dkim("a.example"), dkim("b.example")] },
      { resolver: resolver(), maxAuthorDomains: 2 },
    );
    expect(r).toMatchObject({ result: "fail", policy: "reject", disposition: "reject", unevaluated: ["bank.example"] });
    expect(r.domains!.map((d) => d.result)).toEqual(["pass", "pass"]);
  });
  it("a repeated From never passes, in either mode, and names RFC 9989 4.4", async () => {
    for (const mode of ["rfc9989", "rfc7489"] as const) {
      const r = await checkDmarc(
        { author: author("From: x@bank.example\r\nFrom: x@bank.example"), dkim: [dkim("bank.example")] },
        { resolver: resolver(), mode },
      );
      expect(r).toMatchObject({ result: "fail", disposition: "reject", dkim: { aligned: true } });
      expect(r.reason).toMatch(/repeated From field \(RFC 9989 4\.4\)/);
    }
  });
  it("a malformed From whose recovered domain has t=y: fail, the policy stated, the disposition none", async () => {
    const r = await checkDmarc({ author: author("From: <x@shop.example"), dkim: [] }, { resolver: resolver() });
    expect(r).toMatchObject({ result: "fail", policy: "quarantine", disposition: "none", testing: true });
  });
  it("a malformed From whose recovered domains have no record: none", async () => {
    const r = await checkDmarc({ author: author("From: <x@nothing.example"), dkim: [] }, { resolver: resolver() });
    expect(r).toMatchObject({ result: "none", fromDomain: "nothing.example" });
  });
  it("a failure with p=none beside a domain whose policy could not be read: temperror, not a permanent none", async () => {
    const r = await checkDmarc({ author: author("From: x@a.example, y@slow.example"), dkim: [] }, { resolver: resolver() });
    expect(r).toMatchObject({ result: "temperror" });
    const rejected = await checkDmarc({ author: author("From: x@bank.example, y@slow.example"), dkim: [] }, { resolver: resolver() });
    expect(rejected).toMatchObject({ result: "fail", disposition: "reject" });
  });
  it("no domain at all: permerror", async () => {
    const r = await checkDmarc({ author: author("From: <<<"), dkim: [] }, { resolver: resolver() });
    expect(r).toMatchObject({ result: "permerror", disposition: "none", fromDomain: "" });
  });
  it("several mailboxes at one signing domain pass; with a second domain, fail with its policy", async () => {
    const one = await checkDmarc(
      { author: author("From: a@bank.example, b@BANK.example"), dkim: [dkim("bank.example")] },
      { resolver: resolver() },
    );
    expect(one).toMatchObject({ result: "pass", fromDomain: "bank.example" });
    const two = await checkDmarc(
      { author: author("From: a@a.example, b@bank.example"), dkim: [dkim("a.example")] },
      { resolver: resolver() },
    );
    expect(two).toMatchObject({ result: "fail", disposition: "reject" });
  });
});
