import { isIPv4 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expandIPv6, formatIp, parseIPv4, parseIp } from "../../src/dns/ip.js";

// The IPv4 parser and formatter are hand-written for speed (issue 19): they must decide and print
// exactly as node:net's isIPv4 and the general forms they replaced.

const v4Piece = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom("0", "00", "01", "010", "255", "256", "1000", "", " ", "+1", "-1", "1e2", "0x1", "１", "٣", "a"),
);
const v4Like = fc.oneof(
  fc.array(v4Piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(".")),
  fc
    .tuple(fc.array(v4Piece, { minLength: 4, maxLength: 4 }), fc.constantFrom("", ".", " ", "\n", "%eth0", "/24"))
    .map(([p, tail]) => `${p.join(".")}${tail}`),
  fc.ipV4(),
  fc.string({ maxLength: 16 }),
);

describe("IPv4 text", () => {
  it("parseIPv4 accepts exactly what isIPv4 accepts, with its four numbers", () => {
    fc.assert(
      fc.property(v4Like, (s) => {
        const bytes = parseIPv4(s);
        expect(bytes !== undefined).toBe(isIPv4(s));
        if (bytes) expect([...bytes]).toEqual(s.split(".").map(Number));
      }),
      { numRuns: 20000 },
    );
  });

  it("formatIp prints an IPv4 address as the dotted quad it came from", () => {
    fc.assert(
      fc.property(fc.ipV4(), (s) => {
        const p = parseIp(s);
        expect(p?.family).toBe(4);
        expect(formatIp(p!)).toBe(s);
      }),
    );
  });

  it("parseIp reads an IPv4-mapped IPv6 address (::ffff:0:0/96) as IPv4, and no other IPv6 address", () => {
    const v6 = fc.oneof(
      fc.ipV6(),
      fc.ipV4().map((v4) => `::ffff:${v4}`),
      fc.ipV4().map((v4) => `0:0:0:0:0:FFFF:${v4}`),
      fc.ipV4().map((v4) => `::fffe:${v4}`),
      fc.ipV4().map((v4) => `1::ffff:${v4}`),
      fc.ipV4().map((v4) => `::${v4}`),
    );
    fc.assert(
      fc.property(v6, (s) => {
        const bytes = expandIPv6(s)!;
        const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
        const p = parseIp(s)!;
        expect(p.family).toBe(mapped ? 4 : 6);
        expect([...p.bytes]).toEqual([...(mapped ? bytes.subarray(12) : bytes)]);
      }),
      { numRuns: 2000 },
    );
  });
});
