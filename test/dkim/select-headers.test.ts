import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { selectHeaders, selectHeadersGeneral } from "../../src/dkim/canonicalize.js";
import type { HeaderField } from "../../src/message/header.js";

const field = (key: string, malformed: boolean): HeaderField => ({
  name: key,
  key: malformed ? "" : key,
  raw: Buffer.from(malformed ? key : `${key}:x`),
  colon: malformed ? -1 : key.length,
  malformed,
});
const key = fc.constantFrom("from", "to", "subject", "date", "dkim-signature", "x-a", "", "From", "constructor", "__proto__");
/** Header lists around the 32-field bound, with repeats, malformed lines, and the same object twice. */
const headers = fc.array(fc.tuple(key, fc.boolean(), fc.nat(9)), { maxLength: 40 }).map((specs) => {
  const out: HeaderField[] = [];
  for (const [k, bad, again] of specs) out.push(again === 0 && out.length > 0 ? out[out.length - 1]! : field(k, bad && k !== ""));
  return out;
});
const names = fc.array(key, { maxLength: 50 });

describe("selectHeaders (bit set for up to 32 fields) against selectHeadersGeneral (Map of lists)", () => {
  it("picks the same field objects in the same order, with or without an excluded field", () => {
    fc.assert(
      fc.property(headers, names, fc.nat(), fc.boolean(), (hs, ns, at, excluding) => {
        const exclude = excluding && hs.length > 0 ? hs[at % hs.length] : undefined;
        const fast = selectHeaders(hs, ns, exclude);
        const general = selectHeadersGeneral(hs, ns, exclude);
        expect(fast.length).toBe(general.length);
        for (const [k, f] of fast.entries()) expect(f).toBe(general[k]);
      }),
      { numRuns: 5000 },
    );
  });

  it("takes instances from the bottom up and skips the signature itself, at 32 fields and past", () => {
    for (const n of [31, 32, 33]) {
      const hs = Array.from({ length: n }, (_, k) => field(k % 2 ? "from" : "to", false));
      const sig = hs[n - 1]!;
      const picked = selectHeaders(hs, ["from", "from", "to", "to"], sig);
      expect(picked).toEqual(selectHeadersGeneral(hs, ["from", "from", "to", "to"], sig));
      expect(picked).not.toContain(sig);
      expect(picked[0]).toBe([...hs].reverse().find((f) => f.key === "from" && f !== sig));
    }
  });
});
