import { isIPv4, isIPv6 } from "node:net";
import { expandIPv6 } from "./ip.js";

/** The in-addr.arpa / ip6.arpa name for an address (RFC 1035 3.5, RFC 3596 2.5), or undefined. */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (isIPv6(ip)) {
    const bytes = expandIPv6(ip);
    if (!bytes) return undefined;
    const nibbles: string[] = [];
    for (let i = bytes.length - 1; i >= 0; i--) {
      const b = bytes[i]!;
      nibbles.push((b & 0xf).toString(16), (b >> 4).toString(16));
    }
    return `${nibbles.join(".")}.ip6.arpa`;
  }
  return undefined;
}
