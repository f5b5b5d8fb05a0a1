import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, formatParsedIp, parseIp } from "../../src/dns/ip.js";

// SPF and iprev format the client address on every check (issue 19): the shortcut that gives a
// dotted quad back as written must give what formatIp gives, for any text parseIp reads.
describe("formatParsedIp gives formatIp's text", () => {
  it("for any address text, canonical or not", () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("00", "01", "010", "256", "1e1", "", " 1"));
    const v4 = fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join("."));
    const v6 = fc.oneof(
      fc.ipV6(),
      fc.ipV4().map((a) => `::ffff:${a}`),
      fc.ipV4().map((a) => `0:0:0:0:0:FFFF:${a}`),
      fc.ipV4().map((a) => `::${a}`),
      fc.constantFrom("::", "::1", "2001:DB8::1", "2001:db8:0:0:1:0:0:1", "fe80::1%eth0", "::ffff:1.2.3.04"),
    );
    fc.assert(
      fc.property(fc.oneof(v4, fc.ipV4(), v6, fc.string({ maxLength: 16 })), (text) => {
        const parsed = parseIp(text);
        if (parsed) expect(formatParsedIp(text, parsed)).toBe(formatIp(parsed));
      }),
      { numRuns: 20000 },
    );
  });
});
