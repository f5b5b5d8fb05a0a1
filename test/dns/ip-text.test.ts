import { isIPv4 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatIp, ipv4PrefixMatch, ipv4Value, parseIPv4, prefixMatch } from "../../src/dns/ip.js";

// SPF and iprev read and format addresses on every check (issue 19): the shortcuts (a dotted quad
// read as a number, compared as numbers) must decide as the general functions.
const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.constantFrom("00", "01", "010", "256", "1e1", "", " 1", "-1", "+1"),
);
const quadLike = fc.oneof(
  fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join(".")),
  fc.ipV4(),
  fc.string({ maxLength: 16 }),
  fc.stringMatching(/^[0-9.]{0,16}$/),
);

/** What ipv4Value must give, written independently: node:net's isIPv4, then the octets. */
const reference = (text: string) => (isIPv4(text) ? text.split(".").reduce((v, o) => v * 256 + Number(o), 0) : -1);

describe("ipv4Value reads what node:net's isIPv4 accepts (parseIPv4 is its bytes)", () => {
  it("the same addresses, the same value", () => {
    fc.assert(
      fc.property(quadLike, (text) => {
        const bytes = parseIPv4(text);
        const value = ipv4Value(text);
        expect(value).toBe(reference(text));
        if (bytes === undefined) expect(value).toBe(-1);
        else {
          expect(value).toBe(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
          // What it reads is canonical: SPF and iprev give the text back as formatIp would write it.
          expect(formatIp({ family: 4, bytes })).toBe(text);
        }
      }),
      { numRuns: 20000 },
    );
    expect(ipv4Value("255.255.255.255")).toBe(0xffffffff);
    expect(ipv4Value("0.0.0.0")).toBe(0);
  });

  it("ipv4PrefixMatch is prefixMatch on the bytes", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.nat(31), (a, b, bits, flip) => {
        // Often the same address with one bit changed, so that every prefix length is decided near its edge.
        const near = ipv4Value(a) ^ (1 << flip);
        const nearText = [24, 16, 8, 0].map((s) => (near >>> s) & 0xff).join(".");
        for (const other of [b, nearText, a]) {
          expect(ipv4PrefixMatch(ipv4Value(a), ipv4Value(other), bits)).toBe(prefixMatch(parseIPv4(a)!, parseIPv4(other)!, bits));
        }
      }),
      { numRuns: 20000 },
    );
  });
});
