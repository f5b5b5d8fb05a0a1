import { describe, expect, it } from "vitest";
import { parseKeyRecord, parseSignature, parseTagList } from "../../src/dkim/index.js";
import { splitMessage } from "../../src/message/index.js";

const sigField = (value: string) => splitMessage(new TextEncoder().encode(`DKIM-Signature: ${value}\r\n\r\n`)).headers[0]!;
const GOOD = "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";

describe("DKIM-Signature parsing", () => {
  it("accepts a minimal valid signature with defaults", () => {
    const r = parseSignature(sigField(GOOD));
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.sig).toMatchObject({ headerCanon: "simple", bodyCanon: "simple", identity: "@example.com", signedHeaders: ["from", "to"] });
  });

  const bad: Array<[string, string, RegExp]> = [
    ["a duplicate tag", `${GOOD}; d=other.example`, /twice/],
    ["a missing bh=", GOOD.replace(/bh=[^;]*; /, ""), /bh=/],
    ["v=2", GOOD.replace("v=1", "v=2"), /version/],
    ["an unknown algorithm", GOOD.replace("rsa-sha256", "rsa-md5"), /algorithm/],
    ["bad base64 in b=", GOOD.replace("b=AAAA", "b=AA!A"), /base64/],
    ["a bh= of the wrong length", GOOD.replace(/bh=[^;]*/, "bh=AAAA"), /bytes/],
    ["h= without From", GOOD.replace("h=from:to", "h=subject:to"), /From/],
    ["i= outside d=", `${GOOD}; i=user@evil.example`, /not under/],
    ["i= on a look-alike domain", `${GOOD}; i=@notexample.com`, /not under/],
    ["an unknown canonicalization", `${GOOD}; c=relaxed/fancy`, /canonicalization/],
    ["l= not a number", `${GOOD}; l=12a`, /l=/],
    ["x= before t=", `${GOOD}; t=200; x=100`, /x=/],
    ["an unsupported q=", `${GOOD}; q=http`, /query/],
    ["a d= with a NUL byte", GOOD.replace("d=example.com", "d=exa\u0000mple.com"), /./],
    ["a selector with a space inside", GOOD.replace("s=sel", "s=s el"), /selector/],
    ["a tag without '='", `${GOOD}; novalue`, /'='/],
  ];
  for (const [name, value, why] of bad) {
    it(`rejects ${name}`, () => {
      const r = parseSignature(sigField(value));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    });
  }

  it("keeps d= case-insensitive and drops a trailing dot", () => {
    const r = parseSignature(sigField(GOOD.replace("d=example.com", "d=EXAMPLE.com.")));
    expect(r.ok && r.sig.domain).toBe("example.com");
  });

  it("tag lists stay linear on 1 MB of hostile input", () => {
    for (const text of [";".repeat(1_000_000), "a=".repeat(500_000), `a=${" ".repeat(1_000_000)}`, "a".repeat(1_000_000)]) {
      expect(typeof parseTagList(text).ok).toBe("boolean");
    }
  });
});

describe("key records", () => {
  const ED = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["an Ed25519 key", `v=DKIM1; k=ed25519; p=${ED}`, { ok: true, key: { keyType: "ed25519", bits: 256, testing: false } }],
    ["t=y marks testing, t=s strict", `k=ed25519; t=y:s; p=${ED}`, { ok: true, key: { testing: true, strict: true } }],
    ["an empty p= is a revoked key", "v=DKIM1; p=", { ok: false, revoked: true }],
    ["v= not first", `k=ed25519; v=DKIM1; p=${ED}`, { ok: false, revoked: false }],
    ["v=DKIM2", `v=DKIM2; k=ed25519; p=${ED}`, { ok: false }],
    ["an unknown k=", `k=dsa; p=${ED}`, { ok: false }],
    ["s= without email", `k=ed25519; s=tlsrpt; p=${ED}`, { ok: false }],
    ["an Ed25519 key that is not 32 bytes", "k=ed25519; p=AAAA", { ok: false }],
    ["an RSA p= that is no key", "k=rsa; p=AAAA", { ok: false }],
    ["no p=", "v=DKIM1; k=rsa", { ok: false, revoked: false }],
  ];
  for (const [name, record, expected] of cases) it(name, () => expect(parseKeyRecord(record)).toMatchObject(expected));
});
