import { isIPv6 } from "node:net";

/**
 * 4 bytes of an IPv4 address in dotted-quad form (what node:net's isIPv4 accepts: four decimal
 * numbers 0-255 without leading zeros), or undefined. One pass over the characters instead of
 * isIPv4's regular expression, a split and a map (test/dns/ip.test.ts holds it to isIPv4).
 */
export function parseIPv4(ip: string): Uint8Array | undefined {
  const v = ipv4Value(ip);
  return v < 0 ? undefined : Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/**
 * A dotted quad read as parseIPv4 reads it, as an unsigned 32-bit number, or -1 where parseIPv4
 * gives undefined: the same check without the 4-byte array (a typed array costs more to make than
 * the whole check). test/dns/ip-text.test.ts holds the two together.
 */
export function ipv4Value(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || k === 3) return -1;
      value = value * 256 + part;
      k++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 0x30);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || k !== 3) return -1;
  return value * 256 + part;
}

/** prefixMatch of two IPv4 addresses given as ipv4Value numbers, on `bits` (0-32) bits. */
export function ipv4PrefixMatch(a: number, b: number, bits: number): boolean {
  return bits <= 0 || (a ^ b) >>> (32 - Math.min(bits, 32)) === 0;
}

/** 16 bytes of an IPv6 address (any RFC 4291 text form, with embedded IPv4), or undefined. */
export function expandIPv6(ip: string): Uint8Array | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    tail = [...v4];
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(":") : [];
  const groups = [...head, ...new Array(8 - head.length - rest.length).fill("0"), ...rest];
  for (let i = 0; i < 8; i++) {
    const g = Number.parseInt(groups[i]!, 16);
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

export type ParsedIp = { family: 4 | 6; bytes: Uint8Array };

/**
 * Parses a client address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is treated as the IPv4
 * address it carries (RFC 7208 5: "an IPv4-mapped IPv6 address ... MUST be treated as IPv4").
 */
export function parseIp(ip: string): ParsedIp | undefined {
  const v4 = parseIPv4(ip);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = expandIPv6(ip);
  if (!v6) return undefined;
  let mapped = v6[10] === 0xff && v6[11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (v6[i] !== 0) mapped = false;
  if (mapped) {
    return { family: 4, bytes: v6.slice(12) };
  }
  return { family: 6, bytes: v6 };
}

/** The canonical text form: dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIp(ip: ParsedIp): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip.bytes[i]! << 8) | ip.bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** True when the first `bits` bits of a and b are equal. */
export function prefixMatch(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  if (a.length !== b.length) return false;
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rem = bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((a[full]! ^ b[full]!) & mask) === 0;
}
