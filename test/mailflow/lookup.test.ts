import { describe, expect, it } from "vitest";
import {
  checkDnsbl,
  checkDomainBl,
  checkIprev,
  checkSenderNullMx,
  dnsblLabel,
  FixtureResolver,
  resolveNextHop,
  zoneFromObject,
} from "../../src/index.js";

const zone = zoneFromObject({
  "example.com": {
    MX: [
      [20, "mx2.example.com"],
      [10, "mx1a.example.com"],
      [10, "mx1b.example.com"],
    ],
  },
  "mx1a.example.com": { A: "192.0.2.1", AAAA: "2001:db8::1" },
  "mx1b.example.com": { A: "192.0.2.2" },
  "mx2.example.com": { A: "192.0.2.3" },
  "nomx.example": { A: "198.51.100.1" },
  "null.example": { MX: [[0, "."]] },
  "xn--bcher-kva.example": { MX: [[5, "mail.xn--bcher-kva.example"]] },
  "mail.xn--bcher-kva.example": { A: "192.0.2.9" },
  "slow.example": { timeout: true },
  "dangling.example": { MX: [[10, "nowhere.example"]] },
  "empty.example": { TXT: "x" },
  // iprev
  "1.2.0.192.in-addr.arpa": { PTR: ["mx1a.example.com"] },
  "2.2.0.192.in-addr.arpa": { PTR: ["liar.example"] },
  "liar.example": { A: "203.0.113.1" },
  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": { PTR: ["mx1a.example.com"] },
  "3.2.0.192.in-addr.arpa": { timeout: true },
  // blocklists (RFC 5782 test entries: 127.0.0.2 listed, 127.0.0.1 not)
  "2.0.0.127.bl.example": { A: "127.0.0.2", TXT: "listed for testing" },
  "1.0.0.127.bl.example": {},
  "2.0.0.127.refusing.example": { A: "127.255.255.254" },
  "2.0.0.127.down.example": { timeout: true },
  "spam.example.dbl.example": { A: "127.0.1.2" },
});
const resolver = new FixtureResolver(zone);

describe("next hop (RFC 5321 5.1, RFC 7505)", () => {
  it("MX hosts by preference, random order among equals (injectable)", async () => {
    const low = await resolveNextHop("example.com", { resolver, random: () => 0 });
    expect(low.kind === "hosts" && low.hosts.map((h) => [h.exchange, h.priority])).toEqual([
      ["mx1a.example.com", 10],
      ["mx1b.example.com", 10],
      ["mx2.example.com", 20],
    ]);
    let n = 0;
    const flip = await resolveNextHop("example.com", { resolver, random: () => [0.1, 0.9, 0.2][n++ % 3]! });
    expect(flip.kind === "hosts" && flip.hosts.map((h) => h.exchange)).toEqual(["mx1b.example.com", "mx1a.example.com", "mx2.example.com"]);
    expect(low.kind === "hosts" && low.hosts[0]!.addresses).toEqual(["2001:db8::1", "192.0.2.1"]);
  });
  const cases: Array<[string, string, Record<string, unknown>]> = [
    [
      "no MX: the domain itself (implicit MX)",
      "nomx.example",
      { kind: "hosts", implicit: true, hosts: [{ exchange: "nomx.example", addresses: ["198.51.100.1"] }] },
    ],
    ["null MX: no mail, 556 5.1.10", "null.example", { kind: "null-mx", reply: { code: 556, enhanced: "5.1.10" } }],
    ["an IDN domain is looked up as its A-label", "bücher.example", { kind: "hosts", domain: "xn--bcher-kva.example" }],
    ["NXDOMAIN is permanent", "nowhere.example", { kind: "permanent", reply: { code: 550, enhanced: "5.1.2" } }],
    ["a DNS failure is temporary, never permanent", "slow.example", { kind: "temporary", reply: { code: 451, enhanced: "4.4.3" } }],
    ["MX hosts without addresses are permanent", "dangling.example", { kind: "permanent", reply: { enhanced: "5.4.4" } }],
    ["no MX and no address is permanent", "empty.example", { kind: "permanent" }],
    ["an invalid domain is permanent", "-bad.example", { kind: "permanent" }],
  ];
  for (const [name, domain, expected] of cases)
    it(name, async () => expect(await resolveNextHop(domain, { resolver })).toMatchObject(expected));

  it("a sender domain with a null MX can be refused with 550 5.7.27", async () => {
    expect(await checkSenderNullMx("null.example", { resolver })).toMatchObject({ nullMx: true, reply: { code: 550, enhanced: "5.7.27" } });
    expect(await checkSenderNullMx("example.com", { resolver })).toEqual({ nullMx: false });
  });
});

describe("iprev (RFC 8601 3)", () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ["a PTR name that resolves back passes", "192.0.2.1", { result: "pass", name: "mx1a.example.com" }],
    ["IPv6 too", "2001:db8::1", { result: "pass" }],
    ["a PTR name that points elsewhere fails", "192.0.2.2", { result: "fail" }],
    ["no PTR fails", "198.51.100.7", { result: "fail", reason: "no PTR record" }],
    ["a DNS failure is temperror", "192.0.2.3", { result: "temperror" }],
    ["not an address is permerror", "banana", { result: "permerror" }],
  ];
  for (const [name, ip, expected] of cases) it(name, async () => expect(await checkIprev(ip, { resolver })).toMatchObject(expected));
});

describe("DNS blocklists (RFC 5782)", () => {
  it("query labels: reversed octets and nibbles", () => {
    expect(dnsblLabel("192.0.2.99")).toBe("99.2.0.192");
    expect(dnsblLabel("2001:db8::1")).toBe("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
  });
  it("a listed address: codes and the TXT reason", async () => {
    const r = await checkDnsbl("127.0.0.2", ["bl.example"], { resolver });
    expect(r).toEqual({
      listed: true,
      incomplete: false,
      listings: [{ zone: "bl.example", status: "listed", codes: ["127.0.0.2"], reason: "listed for testing" }],
    });
  });
  it("a list that times out or refuses makes the result incomplete, never 'not listed'", async () => {
    const r = await checkDnsbl("127.0.0.2", ["bl.example", "down.example", "refusing.example"], { resolver });
    expect(r.listed).toBe(true);
    expect(r.incomplete).toBe(true);
    expect(r.listings.map((l) => l.status)).toEqual(["listed", "error", "error"]);
    expect(r.listings[2]!.error).toMatch(/refused/);
  });
  it("not listed", async () => {
    expect(await checkDnsbl("127.0.0.1", ["bl.example"], { resolver })).toMatchObject({ listed: false, incomplete: false });
  });
  it("domain lists", async () => {
    expect((await checkDomainBl("Spam.Example", ["dbl.example"], { resolver })).listed).toBe(true);
    expect((await checkDomainBl("fine.example", ["dbl.example"], { resolver })).listed).toBe(false);
  });
});
