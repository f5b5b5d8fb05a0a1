import { isIPv4 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipFromReverseName, reverseName } from "../../src/index.js";

/** reverseName's IPv4 rule as written before the one-pass parser (the reference). */
const reverseV4Reference = (ip: string) => (isIPv4(ip) ? `${ip.split(".").reverse().join(".")}.in-addr.arpa` : undefined);

describe("reverseName", () => {
  const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("00", "01", "256", "-1", "", " 1", "1e2", "0x1"));
  const v4Like = fc.oneof(
    fc.array(octet, { minLength: 1, maxLength: 6 }).map((p) => p.join(".")),
    fc.tuple(fc.ipV4(), fc.constantFrom("", ".", " ", "\n", "%eth0", "/24")).map(([ip, s]) => ip + s),
    fc.string({ maxLength: 16 }),
  );

  it("names an IPv4 address exactly as the split-and-reverse rule did, and refuses what it refused (or hands it to IPv6)", () => {
    fc.assert(
      fc.property(v4Like, (s) => {
        const ref = reverseV4Reference(s);
        if (ref !== undefined) expect(reverseName(s)).toBe(ref);
        else expect(reverseName(s) ?? "").not.toMatch(/in-addr\.arpa$/);
      }),
      { numRuns: 5000 },
    );
  });

  it("round-trips with ipFromReverseName", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(ipFromReverseName(reverseName(ip)!)).toBe(ip);
      }),
    );
    expect(reverseName("192.0.2.1")).toBe("1.2.0.192.in-addr.arpa");
  });
});
