import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fetchKey } from "../../src/dkim/verify.js";
import { parseZoneFile } from "../../src/dns/index.js";
import type { DnsAnswer, Resolver } from "../../src/dns/types.js";

const zone = parseZoneFile(readFileSync(new URL("../../fixtures/zones/example.zone", import.meta.url), "utf8"));
/** The key records of the fixture zone's RSA and Ed25519 keys, each joined into one string. */
function record(selector: string): string {
  return [zone.get(`${selector}._domainkey.example.com`)!.TXT![0]!].flat().join("");
}

/** A resolver whose one TXT answer can be changed between lookups, given as a new string each time. */
function changing(): { resolver: Resolver; set: (text: string) => void } {
  let current = "";
  const none = async (): Promise<DnsAnswer<never>> => ({ kind: "nxdomain" });
  return {
    set: (text) => {
      current = text;
    },
    resolver: { txt: async () => ({ kind: "ok", records: [current.split("").join("")] }), a: none, aaaa: none, mx: none, ptr: none },
  };
}

describe("key lookups read the record of each answer (the per-name shortcut never serves a stale key)", () => {
  it("a key changed, revoked or broken at the same name is read anew", async () => {
    const rsa = record("rsa2048");
    const ed = record("ed25519");
    expect(rsa).toContain("p=");
    expect(ed).toContain("k=ed25519");
    const { resolver, set } = changing();
    const name = "sel._domainkey.rotate.example";
    const kinds: string[] = [];
    for (const text of [rsa, rsa, ed, ed, "v=DKIM1; p=", rsa, "v=DKIM1; k=rsa; p=!!!", rsa]) {
      set(text);
      const k = await fetchKey(resolver, name);
      kinds.push(k.ok ? k.key.keyType : `${k.result}: ${k.reason}`);
    }
    expect(kinds).toEqual([
      "rsa",
      "rsa",
      "ed25519",
      "ed25519",
      `permerror: ${name}: key revoked (empty p=)`,
      "rsa",
      `permerror: ${name}: key record: p= is not valid base64`,
      "rsa",
    ]);
  });
});
