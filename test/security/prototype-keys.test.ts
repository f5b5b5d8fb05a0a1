import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { authenticate, FixtureResolver, verifyArc, verifyDkim } from "../../src/index.js";
import { EXAMPLE_ZONE } from "../helpers/keys.js";

// Names every plain object inherits: a table lookup by a value from the message must not find them
// (red team: a=__proto__ or a=constructor in a DKIM-Signature passed the algorithm check, made
// verifyDkim throw and authenticate() report a spoofed p=reject From as temperror instead of fail).
const INHERITED = [...Object.getOwnPropertyNames(Object.prototype), "__proto__"];
const bh20 = `${"A".repeat(27)}=`; // 20 bytes: what a sha1 algorithm expects
const bh32 = `${"A".repeat(43)}=`; // 32 bytes
const envelope = { ip: "203.0.113.9", helo: "evil.example", mailFrom: "x@example.com" };
const resolver = () => new FixtureResolver(EXAMPLE_ZONE);

describe("inherited names as values from the message", () => {
  for (const name of INHERITED)
    it(`DKIM a=${name}: an unknown algorithm for verifyDkim, DMARC fail from authenticate()`, async () => {
      for (const bh of [bh20, bh32]) {
        const signed = (a: string) =>
          `DKIM-Signature: v=1; a=${a}; d=evil.example; s=x; h=from; bh=${bh}; b=AAAA\r\nFrom: CEO <ceo@example.com>\r\nSubject: pay now\r\n\r\nbody\r\n`;
        const [unknown] = await verifyDkim(signed("no-such-alg"), { resolver: resolver() });
        const [r] = await verifyDkim(signed(name), { resolver: resolver() });
        expect(r?.result).toBe(unknown?.result);
        expect(r?.reason).toBe(`unknown algorithm a=${name.toLowerCase()}`);
        const a = await authenticate(signed(name), envelope, { authservId: "mx.test", resolver: resolver() });
        expect(a.message.error).toBeUndefined();
        expect(a.dkim.map((d) => d.result)).toEqual([unknown?.result]);
        expect(a.dmarc?.result).toBe("fail");
        expect(a.dmarc?.disposition).toBe("reject");
      }
    });
  for (const name of INHERITED)
    it(`ARC a=${name}: the chain fails, nothing throws`, async () => {
      const msg =
        `ARC-Seal: i=1; a=${name}; cv=none; d=evil.example; s=x; b=AAAA\r\n` +
        `ARC-Message-Signature: i=1; a=${name}; c=relaxed/relaxed; d=evil.example; s=x; h=from; bh=${bh32}; b=AAAA\r\n` +
        "ARC-Authentication-Results: i=1; mx.evil.example; spf=pass\r\n" +
        "From: CEO <ceo@example.com>\r\n\r\nbody\r\n";
      const r = await verifyArc(msg, { resolver: resolver() });
      expect(r.result).toBe("fail");
    });
  for (const name of INHERITED)
    it(`msgauth help ${name} prints what help of an unknown command prints`, async () => {
      const run = async (argv: string[]) => {
        let out = "";
        const code = await main(argv, {
          stdout: (t) => void (out += t),
          stderr: (t) => void (out += t),
          stdin: async function* () {},
          resolver: resolver,
        });
        return { code, out };
      };
      expect(await run(["help", name])).toEqual(await run(["help", "no-such-command"]));
    });
});
