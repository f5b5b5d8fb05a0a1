import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { type CliIo, main } from "../../src/cli/main.js";
import { AggregateCollector } from "../../src/report/collect.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import { fixture } from "../helpers/keys.js";
import { authenticateTraffic, T0, worldResolver } from "../helpers/report-world.js";
import { HAS_SQLITE } from "../helpers/stores.js";

function io(nowSeconds?: number) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = {
    stdout: (t) => void out.push(typeof t === "string" ? t : Buffer.from(t).toString()),
    stderr: (t) => void err.push(t),
    stdin: async function* () {},
    resolver: () => worldResolver(),
    ...(nowSeconds !== undefined ? { now: () => nowSeconds } : {}),
  };
  return { cli, out: () => out.join(""), err: () => err.join("") };
}

function reportsFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "msgauth-reports-"));
  writeFileSync(join(dir, "a.xml"), fixture("reports/rfc9990-style.xml"));
  writeFileSync(join(dir, "b.xml.gz"), gzipSync(new Uint8Array(fixture("reports/microsoft-style.xml"))));
  writeFileSync(join(dir, "c.zip"), zipSync({ "c.xml": new Uint8Array(fixture("reports/google-style.xml")) }));
  return dir;
}

describe("msgauth report", () => {
  it("parse: one JSON line a report from a folder; a bad input is named on stderr with exit 4", async () => {
    const dir = reportsFolder();
    const t = io();
    expect(await main(["report", "parse", dir], t.cli)).toBe(0);
    const lines = t
      .out()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { file: string; metadata: { orgName: string } });
    expect(lines.map((l) => l.metadata.orgName)).toEqual(["Sample Reporter & Co", "Enterprise Outlook", "google.com"]);
    writeFileSync(join(dir, "d.xml"), '<!DOCTYPE x [<!ENTITY a "b">]><feedback/>');
    const t2 = io();
    expect(await main(["report", "parse", dir], t2.cli)).toBe(4);
    expect(t2.err()).toMatch(/d\.xml: dtd: a DTD or declaration/);
    expect(t2.out().trim().split("\n")).toHaveLength(3);
  });

  it("summary: a report with an impossible date range is skipped with a warning; the others are summarized (exit 4)", async () => {
    const dir = reportsFolder();
    const bad = fixture("reports/rfc9990-style.xml")
      .toString()
      .replace(/<begin>[^<]*<\/begin>/, "<begin>999999999999999</begin>")
      .replace(/<end>[^<]*<\/end>/, "<end>999999999999999</end>");
    writeFileSync(join(dir, "z.xml"), bad);
    for (const sub of ["summary", "html"]) {
      const t = io();
      expect(await main(["report", sub, dir], t.cli)).toBe(4);
      expect(t.err()).toMatch(/z\.xml: date-range: date_range 999999999999999\.\.999999999999999 is past 9999/);
      expect(t.out()).toMatch(sub === "summary" ? /^3 reports from/ : /<html/i);
    }
  });

  it("parse: report emails in an mbox, and a report on standard input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msgauth-mbox-"));
    const gz = Buffer.from(gzipSync(new Uint8Array(fixture("reports/yahoo-style.xml")))).toString("base64");
    const email = (n: number) =>
      `From: dmarchelp@yahooinc.com\nSubject: Report Domain: example.com Submitter: yahoo.com Report-ID: <${n}>\nMIME-Version: 1.0\nContent-Type: application/gzip; name="r${n}.xml.gz"\nContent-Disposition: attachment; filename="r${n}.xml.gz"\nContent-Transfer-Encoding: base64\n\n${gz}\n`;
    writeFileSync(
      join(dir, "inbox"),
      `From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n${email(1)}\nFrom MAILER-DAEMON Fri Nov 20 11:00:00 2026\n${email(2)}`,
    );
    const t = io();
    expect(await main(["report", "parse", join(dir, "inbox")], t.cli)).toBe(0);
    expect(
      t
        .out()
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { file: string }).file),
    ).toEqual([`${join(dir, "inbox")}#1`, `${join(dir, "inbox")}#2`]);
    const s = io();
    s.cli.stdin = async function* () {
      yield new Uint8Array(fixture("reports/google-style.xml"));
    };
    expect(await main(["report", "parse", "-"], s.cli)).toBe(0);
    expect(JSON.parse(s.out())).toMatchObject({ file: "<stdin>", metadata: { orgName: "google.com" } });
  });

  it("summary: a table with the failing sources, or --json", async () => {
    const dir = reportsFolder();
    const t = io();
    expect(await main(["report", "summary", dir], t.cli)).toBe(0);
    expect(t.out()).toMatch(/3 reports from Sample Reporter & Co, Enterprise Outlook, google\.com for example\.com/);
    expect(t.out()).toMatch(/146 messages: DMARC pass 97\.3%/);
    expect(t.out()).toMatch(
      /Failing sources[^\n]*\nsource IP\s+header from\s+messages\s+DKIM\s+SPF\n2001:db8:ffff::25\s+example\.com\s+3\s+none\s+attacker\.example=softfail/,
    );
    const j = io();
    expect(await main(["report", "summary", "--json", dir], j.cli)).toBe(0);
    expect(JSON.parse(j.out())).toMatchObject({
      reports: 3,
      messages: 146,
      dmarcPass: 142,
      failing: [{ sourceIp: "2001:db8:ffff::25" }, { sourceIp: "203.0.113.9" }],
    });
  });

  it("html: one page with no external references", async () => {
    const t = io();
    expect(await main(["report", "html", reportsFolder()], t.cli)).toBe(0);
    const html = t.out();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<svg");
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script/i);
  });

  it("usage errors exit 2", async () => {
    for (const argv of [
      ["report"],
      ["report", "frobnicate"],
      ["report", "parse"],
      ["report", "summary", "--bogus", "x"],
      ["report", "send", "--store", "x.db"],
    ]) {
      const t = io();
      expect(await main(argv, t.cli)).toBe(2);
      expect(t.err()).toMatch(/^msgauth|usage/);
    }
  });

  it.skipIf(!HAS_SQLITE)("send --dry-run writes each closed period's report and email and leaves the store as it is", async () => {
    const dir = mkdtempSync(join(tmpdir(), "msgauth-send-"));
    const db = join(dir, "state.db");
    const store = await openSqliteStore(db);
    const c = new AggregateCollector({ store, now: () => T0 });
    for (const t of await authenticateTraffic()) await c.collect(t.result, t.envelope);
    await store.close();
    const out = join(dir, "out");
    const t = io(T0 / 1000 + 2 * 86400);
    const argv = [
      "report",
      "send",
      "--store",
      `sqlite:${db}`,
      "--org-name",
      "Receiver",
      "--email",
      "d@receiver.example",
      "--receiver",
      "mx.receiver.example",
      "--dry-run",
      out,
    ];
    expect(await main(argv, t.cli)).toBe(0);
    expect(JSON.parse(t.out())).toMatchObject({ policyDomain: "example.com", records: 4, messages: 6 });
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^mx\.receiver\.example!example\.com!1795132800!1795219199![0-9a-f]{16}\.eml$/);
    expect(readFileSync(join(out, files[0]!), "latin1")).toMatch(/^Subject: Report Domain: example\.com/m);
    const again = io(T0 / 1000 + 2 * 86400);
    expect(await main(argv, again.cli)).toBe(0);
    const strip = (s: string) => s.replace(/![0-9a-f]{16}\.xml\.gz/g, "");
    expect(strip(again.out())).toBe(strip(t.out())); // nothing was taken from the store
  });
});
