import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FixtureResolver, zoneFromObject } from "../../src/dns/index.js";
import { checkSpf, parseMacroString, parseSpfRecord } from "../../src/spf/index.js";

const term = fc.oneof(
  fc.constantFrom("a", "mx", "ptr", "all", "-all", "~all", "?all", "include:x.example", "exists:%{i}.x.example", "redirect=x.example"),
  fc.constantFrom("ip4:192.0.2.0/24", "ip6:2001:db8::/32", "a:%{d}/24//64", "exp=%{l}.example", "%{", "/", "//", ":", "="),
  fc.string({ maxLength: 12 }),
);

describe("SPF properties", () => {
  it("record and macro parsing never throw", () => {
    fc.assert(
      fc.property(fc.array(term, { maxLength: 12 }), (terms) => {
        parseSpfRecord(`v=spf1 ${terms.join(" ")}`);
        for (const t of terms) {
          parseMacroString(t);
          parseMacroString(t, true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("checkSpf always returns one of the seven results, whatever the records say", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(term, { maxLength: 8 }), fc.array(term, { maxLength: 8 }), async (a, b) => {
        const resolver = new FixtureResolver(
          zoneFromObject({
            "example.com": { TXT: `v=spf1 ${a.join(" ")}`, A: "192.0.2.1" },
            "x.example": { TXT: `v=spf1 ${b.join(" ")}` },
          }),
        );
        const r = await checkSpf({ ip: "192.0.2.1", mailFrom: "u@example.com", helo: "h.example" }, { resolver });
        expect(["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]).toContain(r.result);
        expect(r.lookups).toBeLessThanOrEqual(11);
      }),
      { numRuns: 300 },
    );
  });
});
