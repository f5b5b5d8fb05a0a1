/**
 * The benches' shared corpus: the keys, the SPF/DMARC/DKIM records of bench.example (an SPF include
 * chain three deep with the client at its end, p=reject), the envelope, and newsletter-like
 * messages. Plain JavaScript so that the plain-node benches (small.mjs, compare.mjs) and the tsx ones
 * (run.mts, profile.mts) read the same thing; its types are in corpus.d.mts.
 */
import { readFileSync } from "node:fs";

export const fixture = (path) => new URL(`../fixtures/${path}`, import.meta.url);
export const RSA = readFileSync(fixture("keys/rsa2048.pem"), "utf8");
export const ED = readFileSync(fixture("keys/ed25519.pem"), "utf8");
export const envelope = { ip: "203.0.113.77", helo: "mx.bench.example", mailFrom: "news@bench.example" };

/** fixtures/zones/example.zone plus bench.example's records, made with `lib` (the build under test). */
export function benchZone(lib) {
  const example = lib.parseZoneFile(readFileSync(fixture("zones/example.zone"), "utf8"));
  return lib.mergeZones(
    example,
    lib.zoneFromObject({
      "bench.example": { TXT: "v=spf1 include:_a.bench.example include:_spf.example.net ~all", A: "192.0.2.1" },
      "_a.bench.example": { TXT: "v=spf1 ip4:198.51.100.0/28 include:_b.bench.example -all" },
      "_b.bench.example": { TXT: "v=spf1 a:mx.bench.example include:_c.bench.example -all" },
      "_c.bench.example": { TXT: "v=spf1 ip4:203.0.113.0/24 -all" },
      "mx.bench.example": { A: "192.0.2.99" },
      "_dmarc.bench.example": { TXT: "v=DMARC1; p=reject; rua=mailto:d@bench.example" },
      "rsa2048._domainkey.bench.example": { TXT: [example.get("rsa2048._domainkey.example.com").TXT[0]] },
      "ed25519._domainkey.bench.example": { TXT: [example.get("ed25519._domainkey.example.com").TXT[0]] },
    }),
  );
}

/** Text like a newsletter's: 72-column lines, one in twenty with stray white space, some blank lines. */
export function body(size) {
  const lines = [
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod",
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim",
    "veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea",
    "",
  ];
  const out = [];
  let n = 0;
  for (let len = 0; len < size; n++) {
    const line = n % 20 === 19 ? "commodo  consequat.\tDuis aute irure dolor  " : lines[n % lines.length];
    out.push(line);
    len += line.length + 2;
  }
  return `${out.join("\r\n")}\r\n`;
}

/** An unsigned message from news@bench.example with a body of about `size` bytes. */
export function unsignedMessage(name, size) {
  return Buffer.from(
    `From: News <news@bench.example>\r\nTo: reader@example.org\r\nSubject: Benchmark ${name}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${name}@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body(size)}`,
  );
}
