import { describe, expect, it } from "vitest";
import { DkimVerifier, signDkim } from "../../src/dkim/index.js";
import { splitMessage } from "../../src/message/index.js";
import { ED_PEM, exampleResolver, RSA_PEM } from "../helpers/keys.js";

const MESSAGE = "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Test\r\n\r\nHello Bob,\r\n";
const BH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
/** A DKIM-Signature field that parses (its b= is not a real signature: only its domain matters here). */
const BH1 = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";
const field = (d: string, a = "rsa-sha256") =>
  `DKIM-Signature: v=1; a=${a}; d=${d}; s=sel; h=from; bh=${a === "rsa-sha1" ? BH1 : BH}; b=AAAA\r\n`;

function domainsOf(header: string): string[] {
  const headers = splitMessage(Buffer.from(header + MESSAGE)).headers;
  const verifier = new DkimVerifier(headers, { resolver: exampleResolver() });
  void verifier.finish();
  return verifier.domains;
}

describe("DkimVerifier.domains: the d= domains DMARC will align, known from the header", () => {
  it("gives each verified or policy-refused signature's domain once, in lower case, in order", () => {
    const cases: Array<[string, string, string[]]> = [
      ["no signature", "", []],
      ["one signature", field("Example.COM"), ["example.com"]],
      ["one signature refused by policy (rsa-sha1)", field("Sha1.Example", "rsa-sha1"), ["sha1.example"]],
      ["one unreadable signature: no domain", "DKIM-Signature: v=1; d=example.com\r\n", []],
      ["two, the same domain twice", field("a.example") + field("A.example"), ["a.example"]],
      [
        "three, two domains and an unreadable one",
        field("a.example") + "DKIM-Signature: x\r\n" + field("b.example"),
        ["a.example", "b.example"],
      ],
    ];
    for (const [name, header, want] of cases) expect(domainsOf(header), name).toEqual(want);
  });

  it("agrees with the d= of real signatures", async () => {
    const fields = await signDkim(MESSAGE, [
      { domain: "example.com", selector: "rsa2048", privateKey: RSA_PEM },
      { domain: "example.com", selector: "ed25519", privateKey: ED_PEM },
    ]);
    expect(domainsOf(fields)).toEqual(["example.com"]);
  });
});
