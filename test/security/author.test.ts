import fc from "fast-check";
import { authenticate as mailauthAuthenticate } from "mailauth";
import { describe, expect, it } from "vitest";
import { authenticate, FixtureResolver, signMessage, zoneFromObject } from "../../src/index.js";
import { ED_PEM, EXAMPLE_ZONE, mailauthResolver } from "../helpers/keys.js";

// The rule (docs/security.md, "The author domain"): DMARC is pass only when every author domain a
// reader could be shown was evaluated and passed; under doubt the strictest policy applies.

const NOW = () => Date.parse("2026-11-20T12:00:00Z");
const edKey = EXAMPLE_ZONE.get("ed25519._domainkey.example.com")!.TXT!;
const extra: Record<string, { TXT: string }> = {};
for (let i = 1; i <= 9; i++) extra[`_dmarc.d${i}.example`] = { TXT: "v=DMARC1; p=none" };
const zone = zoneFromObject({
  // The victim: p=reject, signs its own mail.
  "_dmarc.bank.example": { TXT: "v=DMARC1; p=reject" },
  "ed25519._domainkey.bank.example": { TXT: edKey },
  "bank.example": { TXT: "v=spf1 -all" },
  "_dmarc.shop.example": { TXT: "v=DMARC1; p=quarantine" },
  // The attacker's own, correctly configured domain.
  "evil.example": { TXT: "v=spf1 ip4:203.0.113.0/24 -all" },
  "ed25519._domainkey.evil.example": { TXT: edKey },
  "_dmarc.evil.example": { TXT: "v=DMARC1; p=none" },
  // A legitimate IDN domain (bücher.example), signing its own mail.
  "ed25519._domainkey.xn--bcher-kva.example": { TXT: edKey },
  "_dmarc.xn--bcher-kva.example": { TXT: "v=DMARC1; p=reject" },
  ...extra,
});
const BODY = "To: bob@example.org\r\nSubject: Invoice\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@x>\r\n\r\nPay.\r\n";
/** `from` holds the From field(s), each starting "From:", joined by CRLF. */
const sign = async (from: string, d: string) =>
  (await signMessage(`${from}\r\n${BODY}`, { domain: d, selector: "ed25519", privateKey: ED_PEM, timestamp: 1_795_000_000 })).toString();
/** The attacker's server: SPF passes for evil.example. */
const attacker = { ip: "203.0.113.66", helo: "mail.evil.example", mailFrom: "bounce@evil.example" };
const run = (m: string) => authenticate(m, attacker, { resolver: new FixtureResolver(zone), authservId: "mx.example.org", now: NOW });
const b64 = (s: string) => Buffer.from(s).toString("base64");
const sixDomains = ["d1", "d2", "d3", "d4", "d5"].map((d) => `x@${d}.example`).join(", ");

interface Case {
  name: string;
  from: string;
  /** Who signed the message (d=); the attacker by default; null: not signed (SPF passes for the attacker). */
  signer?: string | null;
  expect: Record<string, unknown>;
}
const REJECT = { result: "fail", disposition: "reject" };

// Each of these was pass, none or permerror with disposition none before the change.
const attacks: Case[] = [
  // Too many From domains: the ones past the cap never count as passed.
  {
    name: "bank.example as the 6th From domain",
    from: `From: ${sixDomains}, ceo@bank.example`,
    expect: { ...REJECT, unevaluated: ["bank.example"] },
  },
  {
    name: "bank.example as the 10th, in a second From field",
    from: `From: ${sixDomains}, x@d6.example, x@d7.example\r\nFrom: x@d8.example, ceo@bank.example`,
    expect: REJECT,
  },
  {
    name: "six attacker domains in one field: unevaluated is doubt, reject",
    from: `From: ${sixDomains}, x@d6.example`,
    signer: "d1.example",
    expect: { ...REJECT, unevaluated: ["d6.example"] },
  },
  // A From that does not parse is never dropped while another is evaluated.
  { name: "broken From above a clean one", from: "From: CEO <ceo@bank.example\r\nFrom: x@evil.example", expect: REJECT },
  { name: "broken From below a clean one", from: "From: x@evil.example\r\nFrom: CEO <ceo@bank.example", expect: REJECT },
  { name: "a From with a trailing ';' beside a clean one", from: "From: ceo@bank.example;\r\nFrom: x@evil.example", expect: REJECT },
  { name: "an empty From beside a clean one", from: "From: x@evil.example\r\nFrom:", expect: { result: "fail" } },
  {
    name: "an encoded word hiding the address beside a clean one",
    from: `From: x@evil.example\r\nFrom: =?utf-8?b?${b64("ceo@bank.example")}?=`,
    expect: REJECT,
  },
  // A single malformed From that a reader still shows as ceo@bank.example.
  { name: "missing '>'", from: "From: CEO <ceo@bank.example", expect: REJECT },
  { name: "missing '<'", from: "From: CEO ceo@bank.example>", expect: REJECT },
  { name: "trailing dot on the domain", from: "From: ceo@bank.example.", expect: REJECT },
  { name: "two trailing dots inside angle brackets", from: "From: CEO <ceo@bank.example..>", expect: REJECT },
  { name: "an empty label", from: "From: ceo@bank..example", expect: REJECT },
  { name: "unbalanced comment", from: "From: ceo@bank.example (CEO", expect: REJECT },
  { name: "stray ')'", from: "From: ceo@bank.example)", expect: REJECT },
  { name: "trailing ';'", from: "From: ceo@bank.example;", expect: REJECT },
  { name: "a stray backslash", from: "From: ceo@bank.example\\", expect: REJECT },
  { name: "a NUL after the domain", from: "From: ceo@bank.example\u0000", expect: REJECT },
  { name: "a NUL inside the domain", from: "From: ceo@bank.example\u0000.evil.example", expect: REJECT },
  { name: "a control byte inside the domain", from: "From: CEO <ceo@bank\u0001.example>", expect: REJECT },
  { name: "an escape sequence after the domain", from: "From: ceo@bank.example\u001b[8m@evil.example", expect: REJECT },
  { name: "DEL in the domain", from: "From: ceo@bank.exa\u007fmple", expect: REJECT },
  { name: "an address in an unquoted display name", from: "From: ceo@bank.example <x@evil.example>", expect: REJECT },
  { name: "an address as an unquoted group name", from: "From: ceo@bank.example: x@evil.example;", expect: REJECT },
  { name: "two angle addresses", from: "From: CEO <ceo@bank.example> <x@evil.example>", expect: REJECT },
  { name: "two '@'", from: "From: ceo@bank.example@evil.example", expect: REJECT },
  { name: "the whole From as an encoded word", from: `From: =?utf-8?b?${b64("CEO <ceo@bank.example>")}?=`, expect: REJECT },
  { name: "the domain as an encoded word", from: "From: ceo@=?utf-8?q?bank.example?=", expect: REJECT },
  { name: "fullwidth '＠' (NFKC)", from: "From: ceo＠bank.example", expect: REJECT },
  { name: "a space after '@' and missing '>'", from: "From: CEO <ceo@ bank.example", expect: REJECT },
  { name: "folding around a dot with missing '>'", from: "From: CEO\r\n <ceo@bank.\r\n example", expect: REJECT },
  { name: "upper case with missing '>'", from: "From: CEO <CEO@BANK.EXAMPLE", expect: REJECT },
  { name: "the domain in brackets", from: "From: ceo@[bank.example]", expect: REJECT },
  { name: "an unterminated quoted display name", from: 'From: "CEO <ceo@bank.example>', expect: REJECT },
  // Strictly valid, but a reader shows another domain: the From is doubtful, never a pass.
  { name: "fullwidth letters in the domain (UTS 46 maps them)", from: "From: ceo@ｂａｎｋ.example", expect: REJECT },
  { name: "a zero-width space in the domain", from: "From: ceo@bank\u200b.example", expect: REJECT },
  { name: "a soft hyphen in the domain", from: "From: ceo@ba\u00adnk.example", expect: REJECT },
  { name: "U+FFFD (undecodable byte) after the domain", from: "From: ceo@bank.example\ufffd", expect: REJECT },
  { name: "a quoted local part holding an address", from: 'From: "ceo@bank.example"@evil.example', expect: REJECT },
  {
    name: "an encoded word as the local part (espoofer)",
    from: `From: =?utf-8?b?${b64("ceo@bank.example")}?=@evil.example`,
    expect: REJECT,
  },
  {
    name: "an encoded word as the local part, in angle brackets",
    from: `From: CEO <=?utf-8?q?ceo=40bank.example?=@evil.example>`,
    expect: REJECT,
  },
  { name: "an empty group named with the address", from: 'From: "ceo@bank.example":;', expect: REJECT },
  // From fields the header reader does not see as fields, but a reader could.
  {
    name: "a From hidden after a bare CR in another field",
    from: "From: x@evil.example\r\nX-Note: hi\rFrom: ceo@bank.example",
    expect: REJECT,
  },
  { name: "a From hidden after a bare CR in the From field", from: "From: x@evil.example\rFrom: ceo@bank.example", expect: REJECT },
  { name: "a From field in a malformed first line", from: " From: ceo@bank.example\r\nFrom: x@evil.example", signer: null, expect: REJECT },
  { name: "a From continuation that lost its white space", from: "From: CEO\r\n<ceo@bank.example>", expect: REJECT },
  { name: "a bidi override in the domain", from: "From: ceo@bank\u202e.example", expect: REJECT },
  { name: "hyphens at label edges", from: "From: ceo@-bank-.example", expect: REJECT },
  // No From: a reader shows Sender or Resent-From instead.
  { name: "no From, a Sender at the victim", from: "Sender: ceo@bank.example", expect: REJECT },
  {
    name: "an empty From group and a Sender at the victim",
    from: "From: undisclosed-recipients:;\r\nSender: ceo@bank.example",
    expect: REJECT,
  },
  { name: "no From, a Resent-From at the victim", from: "Resent-From: CEO <ceo@bank.example>", expect: REJECT },
  {
    name: "no From, a Sender signed by its own domain: still never pass",
    from: "Sender: ceo@bank.example",
    signer: "bank.example",
    expect: REJECT,
  },
  // Several From fields never pass, even when all share the domain that signed.
  {
    name: "a From prepended to a message bank.example signed (replay)",
    from: "From: attacker@bank.example\r\nFrom: ceo@bank.example",
    signer: "bank.example",
    expect: REJECT,
  },
  {
    name: "two identical From fields signed by their domain",
    from: "From: ceo@bank.example\r\nFrom: ceo@bank.example",
    signer: "bank.example",
    expect: REJECT,
  },
  {
    name: "two From fields at the attacker's domain: fail (with its p=none)",
    from: "From: x@evil.example\r\nFrom: y@evil.example",
    expect: { result: "fail", disposition: "none" },
  },
  // Line breaks inside the domain: a reader breaks the line there, drops the byte, or joins the lines.
  { name: "a bare CR inside the domain", from: "From: ceo@ba\rnk.example", expect: REJECT },
  { name: "a bare CR right after the first letter", from: "From: ceo@b\rank.example", expect: REJECT },
  { name: "a bare CR inside an angle address", from: "From: <ceo@ba\rnk.example>", expect: REJECT },
  {
    name: "a bare CR inside the top label",
    from: "From: ceo@bank.ex\rample",
    expect: { ...REJECT, fromDomain: expect.stringContaining("bank.example") },
  },
  { name: "a bare LF inside the domain", from: "From: ceo@ba\nnk.example", expect: REJECT },
  { name: "a CRLF without white space inside the domain", from: "From: ceo@ba\r\nnk.example", expect: REJECT },
  { name: "a CRLF inside a quoted display name", from: 'From: "x\r\ny" <ceo@bank.example>', expect: REJECT },
  { name: "a vertical tab inside the domain", from: "From: ceo@ba\vnk.example", expect: REJECT },
  { name: "U+2028 inside the domain", from: "From: ceo@ba\u2028nk.example", expect: REJECT },
  // Punctuation, white space or quoting between '@' and the domain.
  { name: "a quoted domain", from: 'From: ceo@"bank.example"', expect: REJECT },
  { name: "a quoted domain in angle brackets", from: 'From: <ceo@"bank.example">', expect: REJECT },
  { name: "a space and a quoted domain", from: 'From: ceo@ "bank.example"', expect: REJECT },
  { name: "the domain in angle brackets", from: "From: ceo@<bank.example>", expect: REJECT },
  { name: "a backslash after '@'", from: "From: ceo@\\bank.example", expect: REJECT },
  { name: "a comma after '@'", from: "From: ceo@,bank.example", expect: REJECT },
  { name: "a colon after '@'", from: "From: ceo@:bank.example", expect: REJECT },
  { name: "a quoted first label", from: 'From: ceo@"bank".example', expect: REJECT },
  { name: "a quoted top label", from: 'From: ceo@bank."example"', expect: REJECT },
  { name: "an encoded word decoding to a quoted domain", from: "From: =?utf-8?q?ceo=40=22bank=2Eexample=22?=", expect: REJECT },
  // Encoded words a reader decodes anyway.
  { name: "an unknown charset (read as Latin-1)", from: "From: =?x-unknown?q?ceo=40bank.example?=", expect: REJECT },
  { name: "UTF-7, Q form", from: "From: =?utf-7?q?ceo+AEA-bank.example?=", expect: REJECT },
  { name: "UTF-7, B form", from: `From: =?utf-7?b?${b64("ceo+AEA-bank.example")}?=`, expect: REJECT },
  { name: "a UTF-7 encoded word as the domain", from: "From: a@=?utf-7?q?bank.example?=", expect: REJECT },
  { name: "an unknown charset as the domain", from: "From: a@=?x-unknown?b?YmFuay5leGFtcGxl?=", expect: REJECT },
  // IDNA: an A-label in any case that decodes to plain ASCII is that ASCII domain (red team 2, finding 1).
  { name: "an A-label decoding to ASCII (xn--bank-)", from: "From: ceo@xn--bank-.example", expect: REJECT },
  { name: "an A-label decoding to ASCII, mixed-case prefix", from: "From: ceo@xN--bank-.example", expect: REJECT },
  { name: "an A-label decoding to ASCII, upper case", from: "From: CEO <ceo@XN--BANK-.example>", expect: REJECT },
  { name: "an A-label decoding to ASCII, a capital in it", from: "From: ceo@xn--Bank-.example", expect: REJECT },
  { name: "an ASCII-decoding A-label hidden by a trailing dot", from: "From: ceo@xn--bank-.example.", expect: REJECT },
  { name: "an ASCII-decoding A-label in an encoded word", from: "From: =?utf-8?q?ceo=40xn--bank-.example?=", expect: REJECT },
  // Characters UTS 46 maps to nothing, or that no reader draws (red team 2, finding 2).
  ...[
    0x034f, 0x180b, 0x180c, 0x180d, 0x180f, 0xfe00, 0xfe0f, 0xe0100, 0xe01ef, 0x17b4, 0x17b5, 0x115f, 0x1160, 0x3164, 0xffa0, 0x16fe4,
    0x2065,
  ].flatMap((cp): Case[] => [
    { name: `U+${cp.toString(16)} inside the domain`, from: `From: ceo@ba${String.fromCodePoint(cp)}nk.example`, expect: REJECT },
    {
      name: `U+${cp.toString(16)} inside the domain, in an encoded word`,
      from: `From: =?utf-8?b?${b64(`ceo@ba${String.fromCodePoint(cp)}nk.example`)}?=`,
      expect: REJECT,
    },
  ]),
  // Junk before or inside a field name hides a From from a strict reader, not from a lenient one
  // (red team 2, finding 3).
  ...["\0", "\u0001", "\u007f", "\u00a0", "\u200b", "\ufeff", "\u0085", "\u00ad", "\u202e"].map(
    (j): Case => ({
      name: `${JSON.stringify(j)} before the name of the victim's From`,
      from: `${j}From: ceo@bank.example\r\nFrom: x@evil.example`,
      expect: REJECT,
    }),
  ),
  ...["Fr\0om", "F\u200brom", "Fro\u00adm", "ＦＲＯＭ", "fR\u2060oM", "From\ufe0f"].map(
    (n): Case => ({ name: `a From named ${JSON.stringify(n)}`, from: `${n}: ceo@bank.example\r\nFrom: x@evil.example`, expect: REJECT }),
  ),
  // A group's display name holding an address: shown like a display name, and groups are not what
  // lists use to name the original sender, so it is doubt (red team 2, minor).
  { name: "an address as a quoted group name", from: 'From: "ceo@bank.example": x@evil.example;', expect: REJECT },
  {
    name: "an address as an encoded-word group name",
    from: `From: =?utf-8?b?${b64("ceo@bank.example")}?=: x@evil.example;`,
    expect: REJECT,
  },
  {
    name: "an address as a group name beside a mailbox",
    from: 'From: x@evil.example, "CEO ceo@bank.example": y@evil.example;',
    expect: REJECT,
  },
  { name: "no From, a Sender named with a leading NUL", from: "\0Sender: ceo@bank.example", expect: REJECT },
  { name: "no From, a Resent-From named with a ZWSP", from: "Resent-\u200bFrom: ceo@bank.example", expect: REJECT },
  {
    name: "the strictest policy among the recovered domains",
    from: "From: a@shop.example <b@evil.example",
    expect: { result: "fail", disposition: "quarantine" },
  },
];

// Legitimate mail keeps passing.
const legitimate: Case[] = [
  { name: "a clean From", from: "From: CEO <ceo@bank.example>", signer: "bank.example", expect: { result: "pass" } },
  { name: "a bare address", from: "From: ceo@bank.example", signer: "bank.example", expect: { result: "pass" } },
  {
    name: "an encoded-word display name",
    from: `From: =?utf-8?b?${b64("Geschäftsführer")}?= <ceo@bank.example>`,
    signer: "bank.example",
    expect: { result: "pass" },
  },
  {
    name: "several mailboxes at the signing domain",
    from: "From: CEO <ceo@bank.example>, cfo@Bank.Example, =?utf-8?q?Board?= <board@bank.example>",
    signer: "bank.example",
    expect: { result: "pass", fromDomain: "bank.example" },
  },
  { name: "folded and commented", from: "From: CEO (the boss)\r\n <ceo@bank.example>", signer: "bank.example", expect: { result: "pass" } },
  { name: "the attacker's own clean mail", from: "From: x@evil.example", expect: { result: "pass" } },
  { name: "a group with a plain name", from: "From: Board: x@evil.example, y@evil.example;", expect: { result: "pass" } },
  {
    name: "a valid A-label, in upper case, signed by its own domain",
    from: "From: x@XN--BCHER-KVA.example",
    signer: "xn--bcher-kva.example",
    expect: { result: "pass", fromDomain: "xn--bcher-kva.example" },
  },
  {
    name: "a malformed From with no domain at all stays permerror",
    from: "From: <<<",
    expect: { result: "permerror", disposition: "none" },
  },
  {
    name: "a Sender beside a From is not an author domain",
    from: "From: x@evil.example\r\nSender: ceo@bank.example",
    expect: { result: "pass" },
  },
  {
    name: "an empty group alone stays permerror",
    from: "From: undisclosed-recipients:;",
    expect: { result: "permerror", disposition: "none" },
  },
  { name: "a domain literal stays permerror", from: "From: a@[192.0.2.1]", expect: { result: "permerror", disposition: "none" } },
];

describe("the author domain: never an unsafe DMARC verdict", () => {
  for (const c of attacks) {
    it(`attack: ${c.name}`, async () => {
      const r = await run(c.signer === null ? `${c.from}\r\n${BODY}` : await sign(c.from, c.signer ?? "evil.example"));
      expect(r.dmarc).toMatchObject(c.expect);
    });
  }
  for (const c of legitimate) {
    it(`legitimate: ${c.name}`, async () => {
      const r = await run(c.signer === null ? `${c.from}\r\n${BODY}` : await sign(c.from, c.signer ?? "evil.example"));
      expect(r.dmarc).toMatchObject(c.expect);
    });
  }
});

// mailauth (4.13.3, the dev-only oracle) disagrees on these; the rule above wins, and why:
const disagreements: Array<{ name: string; from: string; signer: string; mailauth: string | undefined; why: string }> = [
  {
    name: "an address in an unquoted display name",
    from: "From: ceo@bank.example <x@evil.example>",
    signer: "evil.example",
    mailauth: "pass",
    why: "RFC 5322 3.2.5: '@' cannot stand in an unquoted phrase, so the field is malformed and a reader may show ceo@bank.example",
  },
  {
    name: "a quoted local part holding an address",
    from: 'From: "ceo@bank.example"@evil.example',
    signer: "evil.example",
    mailauth: "pass",
    why: "valid RFC 5322, but the address a reader shows holds '@bank.example': doubt, never pass",
  },
  {
    name: "a From prepended to a signed message",
    from: "From: attacker@bank.example\r\nFrom: ceo@bank.example",
    signer: "bank.example",
    mailauth: undefined,
    why: "mailauth gives no DMARC verdict (delivered untouched); RFC 9989 4.4: no alignment with a repeated From, so bank.example's p=reject applies",
  },
];
describe("where mailauth differs", () => {
  for (const c of disagreements) {
    it(`${c.name}: ${c.why}`, async () => {
      const m = await sign(c.from, c.signer);
      const theirs = (await mailauthAuthenticate(Buffer.from(m), {
        ip: attacker.ip,
        helo: attacker.helo,
        sender: attacker.mailFrom,
        mta: "mx.example.org",
        resolver: mailauthResolver(new FixtureResolver(zone)),
        curTime: new Date(NOW()),
      } as never)) as { dmarc?: { status?: { result?: string } } };
      expect(theirs.dmarc?.status?.result).toBe(c.mailauth);
      expect((await run(m)).dmarc).toMatchObject(REJECT);
    });
  }
});

// --- the property ---

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
/** Random upper/lower case. */
const cased = (s: string) =>
  fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map((bs) => [...s].map((c, i) => (bs[i] ? c.toUpperCase() : c)).join(""));
const displayName = pick(["", "CEO ", '"Bank CEO" ', `=?utf-8?q?Bank_CEO?= `, `=?utf-8?b?${b64("Bänk")}?= `, "CEO (Bank) "]);
const comment = pick(["", " (c)", " (nested (comment))", "(x) "]);
/** Folding: CRLF + WSP in place of some spaces. */
const fold = (s: string, folds: boolean[]) => {
  let k = 0;
  return s.replace(/ /g, (sp) => (folds[k++ % Math.max(1, folds.length)] ? "\r\n " : sp));
};
const victim = fc.record({
  local: cased("ceo"),
  domain: cased("bank.example"),
  name: displayName,
  comment,
  /** Between '@' and the domain: punctuation, white space, quoting. */
  sep: pick(['"', ' "', "<", "\\", ",", ":", ";", "'", "[", "(", " ", "\t", "=", "?", "!", "/", "\u00a0", "\u200b"]),
  /** A line-break-ish character, and where in the domain it goes. */
  brk: pick(["\r", "\n", "\r\n", "\v", "\f", "\u0085", "\u2028", "\u2029"]),
  at: fc.nat(11),
  charset: pick(["x-unknown", "utf-7", "foo", "iso-8859-99"]),
  /** A character no reader draws, or one UTS 46 maps to nothing. */
  inv: pick([
    "\u034f",
    "\u180b",
    "\u180f",
    "\ufe0f",
    "\u{e0100}",
    "\u{e01ef}",
    "\u17b4",
    "\u115f",
    "\u3164",
    "\uffa0",
    "\u{16fe4}",
    "\u2065",
    "\u00ad",
    "\u200b",
  ]),
  /** The victim's field name as a lenient reader still reads it as From. */
  fieldName: pick([
    "From",
    "From",
    "From",
    "\0From",
    "\u007fFrom",
    "\u00a0From",
    "\ufeffFrom",
    "Fr\u0000om",
    "F\u200brom",
    "Fro\u00adm",
    "ＦＲＯＭ",
    "\u0085From",
  ]),
});
const mailboxText = (v: { local: string; domain: string; name: string; comment: string }) =>
  `${v.name}<${v.local}@${v.domain}>${v.comment}`;

type Victim = { local: string; domain: string; name: string; sep: string; brk: string; at: number; charset: string; inv: string };
const utf7At = (v: Victim) => `${v.local}+AEA-${v.domain}`;
/** Ways to break a From that a reader still shows as the victim's address. */
const breakage: Array<(v: Victim) => string> = [
  (v) => `${v.name}<${v.local}@${v.domain.slice(0, v.at)}${v.brk}${v.domain.slice(v.at)}>`,
  (v) => `${v.local}@${v.domain.slice(0, v.at)}${v.brk}${v.domain.slice(v.at)}`,
  (v) => `${v.local}@${v.sep}${v.domain}`,
  (v) => `${v.name}<${v.local}@${v.sep}${v.domain}>`,
  (v) => `${v.local}@${v.sep}${v.domain}${v.sep}`,
  (v) => `${v.local}@"${v.domain.replace(".", '".')}`,
  (v) => `${v.local}@${v.domain.replace(".", '."')}"`,
  (v) => `=?utf-8?q?${v.local}=40=22${v.domain.replace(".", "=2E")}=22?=`,
  (v) => (v.charset === "utf-7" ? `=?utf-7?q?${utf7At(v)}?=` : `=?${v.charset}?q?${v.local}=40${v.domain}?=`),
  (v) => (v.charset === "utf-7" ? `=?utf-7?b?${b64(utf7At(v))}?=` : `=?${v.charset}?b?${b64(`${v.local}@${v.domain}`)}?=`),
  (v) => `x@=?${v.charset}?q?${v.domain}?=`,
  (v) => `${v.name}<${v.local}@${v.domain}`,
  (v) => `${v.name}${v.local}@${v.domain}>`,
  (v) => `${v.local}@${v.domain}.`,
  (v) => `${v.local}@${v.domain};`,
  (v) => `${v.local}@${v.domain} (unclosed`,
  (v) => `${v.local}@${v.domain})`,
  (v) => `${v.name}<${v.local}@${v.domain}\u0000>`,
  (v) => `${v.local}@${v.domain}\u0000.evil.example`,
  (v) => `${v.local}@${v.domain.replace(".", "\u0007.")}`,
  (v) => `${v.local}@${v.domain.replace(".", "\u200b.")}`,
  (v) => `${v.local}@${v.domain} <x@evil.example>`,
  (v) => `${v.local}@${v.domain}@evil.example`,
  (v) => `=?utf-8?b?${b64(`${v.local}@${v.domain}`)}?=`,
  (v) => `x@=?utf-8?q?${v.domain}?=`,
  (v) => `"${v.local}@${v.domain}":;`,
  (v) => `${v.local}＠${v.domain}`,
  (v) => `${v.name}<${v.local}@${v.domain}>>`,
  (v) => `${v.name}<${v.local}@${v.domain}\\`,
  (v) => `${v.local}@${v.domain.replace(/bank/i, "ｂａｎｋ")}`,
  (v) => `${v.local}@${v.domain.replace(/an/i, "a\u00adn")}`,
  (v) => `${v.local}@${v.domain.replace(".", "\u202e.")}`,
  (v) => `${v.local}@-${v.domain}`,
  (v) => `"${v.local}@${v.domain}"@evil.example`,
  (v) => `${v.name}<=?utf-8?b?${b64(`${v.local}@${v.domain}`)}?=@evil.example>`,
  (v) => `x@evil.example\rFrom: ${v.name}<${v.local}@${v.domain}>`,
  (v) => `Team\r\n<${v.local}@${v.domain}>`,
  // IDNA: an A-label (any case of the prefix) decoding to the victim's ASCII label.
  (v) => `${v.local}@${v.at % 2 ? "XN--" : "xn--"}${v.domain.replace(".", "-.")}`,
  (v) => `${v.name}<${v.local}@xN--${v.domain.replace(".", "-.")}>`,
  // A character no reader draws, anywhere in the domain, bare or in an encoded word.
  (v) => `${v.local}@${v.domain.slice(0, v.at)}${v.inv}${v.domain.slice(v.at)}`,
  (v) => `"${v.local}@${v.domain}": x@evil.example;`,
  (v) => `=?utf-8?b?${b64(`${v.local}@${v.domain}`)}?=: x@evil.example, y@evil.example;`,
  (v) => `=?utf-8?b?${b64(`${v.local}@${v.domain.slice(0, v.at)}${v.inv}${v.domain.slice(v.at)}`)}?=`,
];
const attackerFields = pick(["From: x@evil.example", "From: Bank <x@evil.example>", "From: x@d1.example, y@d2.example"]);

const forged = fc
  .record({
    v: victim,
    how: fc.oneof(
      fc.record({ kind: fc.constant("clean" as const) }),
      fc.record({ kind: fc.constant("broken" as const), which: fc.nat(breakage.length - 1) }),
    ),
    wrap: pick(["none", "group", "list-before", "list-after", "many-domains"] as const),
    others: fc.array(fc.record({ field: attackerFields, above: fc.boolean() }), { maxLength: 2 }),
    folds: fc.array(fc.boolean(), { maxLength: 4 }),
  })
  .map(({ v, how, wrap, others, folds }) => {
    let mb = how.kind === "clean" ? mailboxText(v) : breakage[how.which]!(v);
    if (wrap === "group") mb = `Team: ${mb};`;
    if (wrap === "list-before") mb = `x@evil.example, ${mb}`;
    if (wrap === "list-after") mb = `${mb}, x@evil.example`;
    if (wrap === "many-domains") mb = `${sixDomains}, ${mb}`;
    const fields = [fold(`${v.fieldName}: ${mb}`, folds)];
    for (const o of others) (o.above ? fields.unshift : fields.push).call(fields, o.field);
    return fields.join("\r\n");
  });

describe("property: a From showing a p=reject domain that did not sign never passes", () => {
  it("forged variants fail with the victim's reject", async () => {
    await fc.assert(
      fc.asyncProperty(forged, async (from) => {
        const r = await run(await sign(from, "evil.example"));
        expect(r.dmarc?.result, from).not.toBe("pass");
        expect(r.dmarc, from).toMatchObject({ result: "fail", disposition: "reject" });
      }),
      { numRuns: 300 },
    );
  });

  // The same forged From fields hidden past the header reader's limits (a small field limit here; the
  // defaults, 20,000 fields and 4 MiB, in test/security/redteam.test.ts): found by the whole-header
  // scan, never a pass.
  it("forged variants past the header limits fail with the victim's reject", async () => {
    await fc.assert(
      fc.asyncProperty(forged, fc.nat(12), fc.nat(4), async (from, above, below) => {
        const pad = (n: number, name: string) => Array.from({ length: n }, (_, i) => `${name}-${i}: x\r\n`).join("");
        const m = `From: x@evil.example\r\n${pad(above + 8, "X-Above")}${from}\r\n${pad(below, "X-Below")}${BODY}`;
        const r = await authenticate(m, attacker, {
          resolver: new FixtureResolver(zone),
          authservId: "mx.example.org",
          now: NOW,
          limits: { maxHeaderFields: 8 },
        });
        expect(r.message.error, from).toBe("too-many-fields");
        expect(r.dmarc, from).toMatchObject({ result: "fail", disposition: "reject" });
      }),
      { numRuns: 150 },
    );
  });

  const legit = fc
    .record({
      mailboxes: fc.array(victim, { minLength: 1, maxLength: 3 }),
      folds: fc.array(fc.boolean(), { maxLength: 4 }),
    })
    .map(({ mailboxes, folds }) => fold(`From: ${mailboxes.map(mailboxText).join(", ")}`, folds));
  it("legitimate variants signed by the domain pass", async () => {
    await fc.assert(
      fc.asyncProperty(legit, async (from) => {
        const r = await run(await sign(from, "bank.example"));
        expect(r.dmarc, from).toMatchObject({ result: "pass", fromDomain: "bank.example" });
      }),
      { numRuns: 150 },
    );
  });
});
