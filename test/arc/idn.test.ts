import { describe, expect, it } from "vitest";
import { parseAms, parseSeal } from "../../src/arc/parse.js";
import { parseHeaderBlock } from "../../src/message/split.js";

const field = (bytes: Buffer) => parseHeaderBlock(bytes).headers[0]!;
const BH = Buffer.alloc(32).toString("base64");

describe("ARC d= and s= with U-labels (ARC 4.1.4): read, and looked up by their A-labels", () => {
  it("an ARC-Seal with U-labels gives the A-label domain and selector", () => {
    const seal = parseSeal(field(Buffer.from("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=Bücher.example; s=sélecteur; b=AAAA\r\n", "utf8")));
    expect(seal).toMatchObject({ domain: "xn--bcher-kva.example", selector: "xn--slecteur-b1a" });
  });
  it("an ARC-Message-Signature with U-labels gives the A-label domain", () => {
    const ams = parseAms(
      field(
        Buffer.from(
          `ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=bücher.example; s=s1; h=from; bh=${BH}; b=AAAA\r\n`,
          "utf8",
        ),
      ),
    );
    expect(ams).toMatchObject({ domain: "xn--bcher-kva.example", selector: "s1" });
  });
  it("a d= whose bytes are not UTF-8, or not a domain, is refused", () => {
    expect(
      parseSeal(field(Buffer.from("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=b\u00fccher.example; s=s1; b=AAAA\r\n", "latin1"))),
    ).toMatch(/d= is not a valid domain/);
    expect(parseSeal(field(Buffer.from("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=a..b; s=s1; b=AAAA\r\n", "utf8")))).toMatch(
      /d= is not a valid domain/,
    );
  });
});
