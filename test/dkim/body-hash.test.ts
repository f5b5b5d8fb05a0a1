import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BodyHashes, type BodyHashSpec } from "../../src/dkim/body-hash.js";
import { BodyCanonicalizer } from "../../src/dkim/canonicalize.js";
import type { Canonicalization } from "../../src/dkim/signature.js";

/** The reference: the whole body canonicalized at once, then hashed with createHash. */
function reference(body: Uint8Array, canon: Canonicalization, hash: "sha256" | "sha1", limit?: number) {
  const parts: Buffer[] = [];
  const c = new BodyCanonicalizer(canon, (chunk) => parts.push(Buffer.from(chunk)), "js");
  c.update(body);
  c.end();
  const all = Buffer.concat(parts);
  const hashed = limit === undefined ? all : all.subarray(0, Math.min(limit, all.length));
  return { digest: createHash(hash).update(hashed).digest().toString("hex"), canonicalLength: all.length, hashedLength: hashed.length };
}

const line = fc.constantFrom("", "a", "Lorem ipsum dolor", " x  y\t", "\t", "z".repeat(200));
/** Bodies from empty to larger than the one-chunk hash keeps (16 KiB), in CRLF lines. */
const body = fc.oneof(
  fc.array(line, { maxLength: 12 }).map((ls) => Buffer.from(ls.map((l) => `${l}\r\n`).join(""))),
  fc.integer({ min: 16 * 1024 - 300, max: 16 * 1024 + 300 }).map((n) => Buffer.from(`${"b".repeat(n)}\r\n`)),
  fc.integer({ min: 30_000, max: 70_000 }).map((n) => Buffer.from("Lorem ipsum dolor sit amet\r\n".repeat(Math.ceil(n / 28)))),
);

describe("BodyHashes", () => {
  it("gives the reference digest and lengths for any body, chunking, canonicalization, hash and l=", () => {
    fc.assert(
      fc.property(
        body,
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.array(
          fc.record({
            canon: fc.constantFrom<Canonicalization>("simple", "relaxed"),
            hash: fc.constantFrom<"sha256" | "sha1">("sha256", "sha1"),
            limit: fc.option(fc.nat({ max: 70_000 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (b, cuts, specs) => {
          const hashes = new BodyHashes();
          const reads = specs.map((spec) => {
            const s: BodyHashSpec = { canon: spec.canon, hash: spec.hash };
            if (spec.limit !== undefined) s.limit = spec.limit;
            return hashes.add(s);
          });
          // The body in chunks cut at the given places (none: one chunk, as a message given whole).
          const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
          let from = 0;
          for (const cut of [...at, b.length]) {
            if (cut > from) hashes.update(b.subarray(from, cut));
            from = cut;
          }
          hashes.end();
          specs.forEach((spec, k) => {
            const r = reads[k]!();
            const want = reference(b, spec.canon, spec.hash, spec.limit);
            expect({ ...r, digest: Buffer.from(r.digest).toString("hex") }).toEqual(want);
            expect(r.digest).toBeInstanceOf(Uint8Array);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps each message's digest when messages are hashed side by side (a held chunk is never overwritten)", () => {
    const bodies = ["first body\r\n", "second, other body\r\n", "third\r\n"].map((t) => Buffer.from(t));
    const all = bodies.map(() => new BodyHashes());
    const reads = all.map((h) => h.add({ canon: "relaxed", hash: "sha256" }));
    // Each gets its one chunk (held), then a stream of two chunks, then they end in another order.
    for (const [k, h] of all.entries()) h.update(bodies[k]!);
    const streamed = new BodyHashes();
    const streamedRead = streamed.add({ canon: "simple", hash: "sha256" });
    streamed.update(Buffer.from("a".repeat(9000)));
    streamed.update(Buffer.from("b\r\n"));
    for (const k of [2, 0, 1]) all[k]!.end();
    streamed.end();
    for (const [k, b] of bodies.entries()) {
      expect(Buffer.from(reads[k]!().digest).toString("hex")).toBe(reference(b, "relaxed", "sha256").digest);
    }
    expect(Buffer.from(streamedRead().digest).toString("hex")).toBe(
      reference(Buffer.from(`${"a".repeat(9000)}b\r\n`), "simple", "sha256").digest,
    );
  });

  it("refuses an unknown hash algorithm when it is added, as createHash does", () => {
    expect(() => new BodyHashes().add({ canon: "relaxed", hash: "nonesuch" as "sha256" })).toThrow();
  });
});
