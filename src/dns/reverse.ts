import { isIPv6 } from "node:net";
import { expandIPv6, parseIPv4 } from "./ip.js";

/** The in-addr.arpa / ip6.arpa name for an address (RFC 1035 3.5, RFC 3596 2.5), or undefined. */
export function reverseName(ip: string): string | undefined {
  // parseIPv4 accepts what isIPv4 does (no leading zeros), so its numbers print as the text's parts.
  const v4 = parseIPv4(ip);
  if (v4) return `${v4[3]}.${v4[2]}.${v4[1]}.${v4[0]}.in-addr.arpa`;
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

/** The address a reverse name stands for (the inverse of reverseName), or undefined. */
export function ipFromReverseName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, "");
  if (n.endsWith(".in-addr.arpa")) {
    const parts = n.slice(0, -".in-addr.arpa".length).split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join(".");
  }
  if (n.endsWith(".ip6.arpa")) {
    const parts = n.slice(0, -".ip6.arpa".length).split(".");
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return undefined;
    const hex = parts.reverse().join("");
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return groups.join(":");
  }
  return undefined;
}
