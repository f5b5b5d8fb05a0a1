import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { verifyDkim } from "../../src/dkim/index.js";
import { FixtureResolver, parseZoneFile } from "../../src/dns/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const lf = readFileSync(join(root, "fixtures/messages/rfc8463.eml"), "utf8");
const crlf = lf.replace(/\n/g, "\r\n");
const resolver = new FixtureResolver(parseZoneFile(readFileSync(join(root, "fixtures/zones/rfc8463.zone"), "utf8")));

describe("RFC 8463 Appendix A: the published example verifies from its published keys", () => {
  for (const [name, message] of [
    ["CRLF, as published", crlf],
    ["LF-only, as stored on disk", lf],
    ["CRLF with an extra empty line at the end", `${crlf}\r\n`],
  ] as const) {
    it(name, async () => {
      const results = await verifyDkim(message, { resolver });
      expect(results.map((r) => [r.algorithm, r.result, r.keyBits])).toEqual([
        ["ed25519-sha256", "pass", 256],
        ["rsa-sha256", "pass", 1024],
      ]);
      expect(results[0]).toMatchObject({ domain: "football.example.com", selector: "brisbane", identity: "@football.example.com" });
    });
  }

  it("streams: the same result fed 7 bytes at a time", async () => {
    const bytes = new TextEncoder().encode(crlf);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    expect((await verifyDkim(chunks(), { resolver })).map((r) => r.result)).toEqual(["pass", "pass"]);
  });

  it("relaxed canonicalization survives added white space", async () => {
    const m = crlf.replace("Subject: Is dinner ready?", "Subject:   Is dinner\t ready?  ").replace("hungry yet?", "hungry   yet?  ");
    expect((await verifyDkim(m, { resolver })).map((r) => r.result)).toEqual(["pass", "pass"]);
  });
});
