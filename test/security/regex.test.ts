import { describe, expect, it } from "vitest";
import { splitMbox } from "../../src/cli/main.js";
import {
  decodeEncodedWords,
  FixtureResolver,
  parseAddressList,
  parseCommand,
  parseDmarcRecord,
  parseDsn,
  parseSpfRecord,
  parseZoneFile,
  pvalue,
  sealArc,
  splitMessage,
  verifyArc,
  zoneFromObject,
} from "../../src/index.js";
import { RSA_PEM } from "../helpers/keys.js";

/**
 * The regex audit: every pattern in src/ whose shape could backtrack (nested or adjacent overlapping
 * quantifiers, unanchored global searches) meets an input of about 1 MB built to hurt it, through the
 * function that owns it. Linear patterns finish in milliseconds; a quadratic one would not finish
 * within the test timeout. No timing is asserted.
 */
const MB = 1_000_000;

describe("regex audit: each risky pattern on a 1 MB hostile input", () => {
  it("DSN Content-Type parameters (was quadratic before the sticky flag)", () => {
    expect(parseDsn(`Content-Type: multipart/report; ${"a".repeat(MB)}\r\n\r\nx`).ok).toBe(false);
    expect(parseDsn(`Content-Type: multipart/report; ${"a=b; ".repeat(MB / 5)}\r\n\r\nx`).ok).toBe(false);
  });
  it("DSN status groups split on blank lines", () => {
    const body = `--b\r\nContent-Type: message/delivery-status\r\n\r\n${"\n   ".repeat(MB / 4)}x\r\n--b--\r\n`;
    expect(typeof parseDsn(`Content-Type: multipart/report; boundary="b"\r\n\r\n${body}`).ok).toBe("boolean");
  });
  it("A-R property values: dot-atom and domain patterns", () => {
    // formatAuthResults leaves values over 512 characters out; pvalue runs the patterns on any length.
    expect(pvalue(`${"a.".repeat(MB / 2)}@${"b-".repeat(MB / 2)}`).length).toBeGreaterThan(MB);
  });
  it("zone file TTL units", () => {
    expect(() => parseZoneFile(`a.example. ${"1h".repeat(MB / 2)}x TXT "v"`)).toThrow();
  });
  it("encoded words", () => {
    expect(decodeEncodedWords(`=?utf-8?q?${"x".repeat(MB)}`).length).toBe(MB + 10);
    expect(decodeEncodedWords("=?a?q?x".repeat(MB / 7)).length).toBeGreaterThan(0);
    expect(parseAddressList(`${"=?utf-8?b?".repeat(MB / 10)} <a@b.example>`).ok).toBe(true);
  });
  it("mbox From_ lines", () => {
    expect(splitMbox(Buffer.from("From x\n".repeat(MB / 7))).length).toBe(Math.floor(MB / 7));
  });
  it("DMARC version detection", () => {
    expect(parseDmarcRecord(`v${" ".repeat(MB)}=DMARC1`).ok).toBe(true); // equals = *WSP "=" *WSP
    expect(parseDmarcRecord(`v=DMARC1${" ".repeat(MB)}x`).ok).toBe(false);
  });
  it("SPF modifier and term names", () => {
    expect(parseSpfRecord(`v=spf1 ${"a".repeat(MB)}`).ok).toBe(false);
    expect(parseSpfRecord(`v=spf1 a${"-".repeat(MB)}=x`).ok).toBe(true);
  });
  it("SMTP parameters and AUTH responses", () => {
    expect(parseCommand(`MAIL FROM:<a@b.example> ${"X=".repeat(MB / 2)}`, { maxLineLength: 10 * MB }).ok).toBe(false);
    expect(parseCommand(`AUTH PLAIN ${"A".repeat(MB)}=`, { maxLineLength: 10 * MB }).ok).toBe(true);
  });
  it("header unfolding and ARC cv= / instance scans", async () => {
    const hostileSeal = `ARC-Seal: ${"; ".repeat(MB / 4)}${" ".repeat(MB / 4)}cv\r\nARC-Authentication-Results: i${" ".repeat(MB / 4)}\r\nFrom: a@b.example\r\n\r\nx`;
    const resolver = new FixtureResolver(zoneFromObject({}));
    expect((await verifyArc(hostileSeal, { resolver })).result).toBe("fail");
    const sealed = await sealArc(hostileSeal, { domain: "b.example", selector: "s", privateKey: RSA_PEM, authservId: "x", resolver });
    expect(typeof sealed.sealed).toBe("boolean");
    expect(splitMessage(Buffer.from(`A: ${"\r\n ".repeat(MB / 3)}\r\n\r\n`)).headers).toHaveLength(1);
  });
});
