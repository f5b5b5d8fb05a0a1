import { describe, expect, it } from "vitest";
import { FixtureResolver, parseZoneFile, ZoneError } from "../../src/dns/index.js";

const ZONE = `
$ORIGIN example.com.
$TTL 1h
@            IN  TXT   "v=spf1 ip4:192.0.2.0/24 " "include:_spf.example.net -all"
@            300 IN MX 10 mx1
             IN  MX    20 mx2.example.net.
mx1          A     192.0.2.10
mx1          AAAA  2001:db8::10
www          CNAME @
sel._domainkey IN TXT ( "v=DKIM1; k=ed25519; "   ; a comment inside parentheses
                        "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" )
semi         TXT   "a \\"quoted\\" \\059 semicolon; not a comment"
slow         TIMEOUT
half         TXT   "answers"
half         TIMEOUT A
10.2.0.192.in-addr.arpa. PTR mx1
_dmarc.sub   TXT   "v=DMARC1; p=reject"
ns-only      NS    ns1.example.net.
`;

describe("RFC 1035 master files", () => {
  const zone = parseZoneFile(ZONE, { file: "example.zone" });
  const r = new FixtureResolver(zone);

  const cases: Array<[string, () => Promise<unknown>, unknown]> = [
    [
      "multi-string TXT records are joined in order",
      () => r.txt("example.com"),
      { kind: "ok", records: ["v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all"] },
    ],
    [
      "relative MX targets take the origin, absolute ones stay",
      () => r.mx("EXAMPLE.com."),
      {
        kind: "ok",
        records: [
          { priority: 10, exchange: "mx1.example.com" },
          { priority: 20, exchange: "mx2.example.net" },
        ],
      },
    ],
    [
      "a CNAME is followed",
      () => r.mx("www.example.com"),
      {
        kind: "ok",
        records: [
          { priority: 10, exchange: "mx1.example.com" },
          { priority: 20, exchange: "mx2.example.net" },
        ],
      },
    ],
    [
      "parentheses continue a record over lines, comments inside are dropped",
      () => r.txt("sel._domainkey.example.com"),
      { kind: "ok", records: ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="] },
    ],
    [
      "escapes: \\\" and \\DDD, and ';' inside quotes is text",
      () => r.txt("semi.example.com"),
      { kind: "ok", records: ['a "quoted" ; semicolon; not a comment'] },
    ],
    ["a present name without the type is NODATA", () => r.a("example.com"), { kind: "nodata" }],
    ["an absent name is NXDOMAIN", () => r.txt("nope.example.com"), { kind: "nxdomain" }],
    ["an empty non-terminal is NODATA, not NXDOMAIN", () => r.txt("sub.example.com"), { kind: "nodata" }],
    ["TIMEOUT with no types times out every query", () => r.txt("slow.example.com"), { kind: "error", reason: "ETIMEOUT" }],
    ["TIMEOUT A times out A only", () => r.a("half.example.com"), { kind: "error", reason: "ETIMEOUT" }],
    ["TIMEOUT A leaves TXT answering", () => r.txt("half.example.com"), { kind: "ok", records: ["answers"] }],
    ["PTR by address", () => r.ptr("192.0.2.10"), { kind: "ok", records: ["mx1.example.com"] }],
    ["AAAA", () => r.aaaa("mx1.example.com"), { kind: "ok", records: ["2001:db8::10"] }],
    ["types msgauth never asks for are accepted and ignored", () => r.txt("ns-only.example.com"), { kind: "nodata" }],
  ];
  for (const [name, run, expected] of cases) {
    it(name, async () => {
      expect(await run()).toEqual(expected);
    });
  }
});

describe("bad master files name the file, the line and why", () => {
  const cases: Array<[string, string, number | undefined, RegExp]> = [
    ["an unterminated quoted string", 'a.example. TXT "open\nb.example. TXT "x"', 1, /unterminated/],
    ["an A record with a bad address", "$ORIGIN example.com.\n\nhost A 300.1.1.1", 3, /IPv4/],
    ["an unknown record type", 'a.example. TXTT "x"', 1, /unknown record type/],
    ["an unclosed parenthesis", 'a.example. TXT ( "x"\n', 2, /'\('/],
    ["$INCLUDE", "$INCLUDE other.zone", 1, /\$INCLUDE/],
    ["MX with a bad preference", "a.example. MX 70000 mx.example.", 1, /preference/],
    ["a character-string over 255 bytes", `a.example. TXT "${"x".repeat(256)}"`, 1, /255/],
    ["'@' with no origin", '@ TXT "x"', 1, /ORIGIN/],
    ["a continuation line with no owner before it", '  TXT "x"', 1, /owner/],
    ["a CNAME beside other data", 'a.example. CNAME b.example.\na.example. TXT "x"', undefined, /CNAME/],
  ];
  for (const [name, text, line, why] of cases) {
    it(name, () => {
      let error: unknown;
      try {
        parseZoneFile(text, { file: "bad.zone" });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ZoneError);
      const z = error as ZoneError;
      expect(z.file).toBe("bad.zone");
      expect(z.line).toBe(line);
      expect(z.why).toMatch(why);
      expect(z.message.startsWith(line === undefined ? "bad.zone: " : `bad.zone:${line}: `)).toBe(true);
    });
  }
});
