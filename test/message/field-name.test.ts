import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HeaderField } from "../../src/message/index.js";
import { buildField } from "../../src/message/split.js";

/**
 * buildField as it was written first (the colon found by search, then the name checked): the
 * reference buildField is held to.
 */
function buildFieldGeneral(raw: Uint8Array): HeaderField {
  const colon = raw.indexOf(0x3a);
  // A name is ftext, optionally followed by WSP before the colon (RFC 5322 4.5 obs-optional).
  let nameEnd = colon;
  while (nameEnd > 0 && (raw[nameEnd - 1] === 0x20 || raw[nameEnd - 1] === 0x09)) nameEnd--;
  let valid = colon > 0 && nameEnd > 0 && raw[0] !== 0x20 && raw[0] !== 0x09;
  for (let i = 0; valid && i < nameEnd; i++) if (!(raw[i]! >= 33 && raw[i]! <= 126 && raw[i] !== 0x3a)) valid = false;
  if (!valid) return { name: "", key: "", raw, colon: -1, malformed: true };
  let name = "";
  for (let i = 0; i < nameEnd; i++) name += String.fromCharCode(raw[i]!);
  return { name, key: name.toLowerCase(), raw, colon, malformed: false };
}

const bytes = (s: string) => Buffer.from(s, "latin1");

/** Field lines: usual names in any case, odd names, white space and junk around the colon. */
const line = fc
  .tuple(
    fc.oneof(
      fc.constantFrom("From", "to", "SUBJECT", "DKIM-Signature", "X-A_b.c", "Aa", "BB", "", " From", "Fr om", "Fr\xe9m", "F\x7f", "F\x00"),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1")),
    ),
    fc.constantFrom("", " ", "\t", " \t ", "x", ":"),
    fc.constantFrom(":", ": value", ":\r\n value", "", " no colon", "::"),
  )
  .map(([name, ws, rest]) => `${name}${ws}${rest}`);

describe("header field names (buildField)", () => {
  it("answers as the general reader on generated lines, with shared name strings", () => {
    fc.assert(
      fc.property(line, (text) => {
        const raw = bytes(text);
        const fast = buildField(raw);
        const general = buildFieldGeneral(raw);
        expect(fast).toEqual(general);
        expect(Object.keys(fast)).toEqual(Object.keys(general));
        expect(fast.raw).toBe(raw);
      }),
      { numRuns: 20000 },
    );
  });

  it("names whose hashes collide keep their own strings", () => {
    // "Aa" and "BB" have the same 31-multiplier hash.
    for (let k = 0; k < 3; k++) {
      expect(buildField(bytes("Aa: x"))).toMatchObject({ name: "Aa", key: "aa", colon: 2 });
      expect(buildField(bytes("BB: x"))).toMatchObject({ name: "BB", key: "bb", colon: 2 });
    }
  });

  it("long names and many distinct names are read as before", () => {
    const long = `X-${"a".repeat(100)}`;
    expect(buildField(bytes(`${long}: v`))).toEqual(buildFieldGeneral(bytes(`${long}: v`)));
    for (let k = 0; k < 2000; k++) {
      const raw = bytes(`X-Name-${k}: v`);
      expect(buildField(raw)).toEqual(buildFieldGeneral(raw));
    }
    expect(buildField(bytes("From : x"))).toMatchObject({ name: "From", key: "from", colon: 5, malformed: false });
  });
});
