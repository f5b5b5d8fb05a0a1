import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64Buffer, decodeBase64Latin1 } from "../../src/dkim/tags.js";

/** The two decoders give the same answer: both refuse, or both give the same bytes. */
function same(s: string): void {
  const want = decodeBase64Buffer(s);
  const got = decodeBase64Latin1(s);
  if (want === undefined) expect(got).toBeUndefined();
  else expect(got && Buffer.from(got).equals(want)).toBe(true);
}

const latin1 = (codes: number[]) => String.fromCharCode(...codes);
/** Characters near the edges of the rule: base64url, padding, white space, NUL, DEL, 8-bit, look-alikes. */
const odd = fc.constantFrom(
  "-",
  "_",
  "=",
  " ",
  "\t",
  "\r",
  "\n",
  "\x00",
  "\x7f",
  "\x80",
  "\xff",
  "\xbd",
  ".",
  ",",
  "!",
  "~",
  "%",
  ":",
  ";",
);
const b64char = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
/** Mostly base64 characters, now and then an odd one, in lengths that are often a multiple of 4. */
const nearBase64 = fc
  .array(fc.oneof({ arbitrary: b64char, weight: 10 }, { arbitrary: odd, weight: 1 }), { maxLength: 48 })
  .chain((cs) => fc.constantFrom(cs.join(""), `${cs.join("")}=`, `${cs.join("")}==`, `${cs.join("")}===`));
/** Any latin1 text. */
const anyLatin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 24 }).map(latin1);
/** Valid base64 of random bytes, then one character inserted, removed or replaced by any byte. */
const mutated = fc
  .tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.constantFrom("ins", "del", "rep", "none"), fc.integer({ min: 0, max: 255 }))
  .map(([bytes, at, op, code]) => {
    const s = Buffer.from(bytes).toString("base64");
    const k = at % (s.length + 1);
    const ch = String.fromCharCode(code);
    if (op === "ins") return s.slice(0, k) + ch + s.slice(k);
    if (op === "del") return s.slice(0, k) + s.slice(k + 1);
    if (op === "rep") return s.slice(0, k) + ch + s.slice(k + 1);
    return s;
  });

describe("decodeBase64Latin1 (native decode, then checked) against decodeBase64Buffer (BASE64 first)", () => {
  it("gives the same answer on random, near-base64 and mutated latin1 text", () => {
    fc.assert(fc.property(fc.oneof(nearBase64, anyLatin1, mutated), same), { numRuns: 20000 });
  });

  it("gives the same answer at the edges", () => {
    const cases = ["", "AAAA", "AA==", "AAA=", "QR==", "QUI=", "A===", "====", "AA=A", "=AAA", "AA-A", "AA_A", "-_-_", "AAAA-AAA"];
    cases.push("AA A", "AAA\x00", "AAA\xff", "AAA\x7f", "AAAA\r\n", "AA.A", "AAAAAA==AAAA", "AAAA====", "AAAAA===", "AAAAAAA=");
    for (const s of cases) same(s);
    for (const s of ["AA-A", "AA_A", "AA=A", "A===", "AA A", "AAA\xff"]) expect(decodeBase64Latin1(s)).toBeUndefined();
    expect(decodeBase64Latin1("QR==")).toEqual(Buffer.from([0x41])); // spare bits ignored, as Buffer.from does
  });

  it("answers for a long hostile value in one pass", () => {
    // Linear: one native decode and two native searches, whatever the text.
    for (const s of [
      "A".repeat(1 << 20),
      `${"A".repeat((1 << 20) - 4)}AA-A`,
      `${"AAA=".repeat(1 << 18)}`,
      `${"A".repeat((1 << 20) - 1)}\x00`,
    ])
      same(s);
  });
});
