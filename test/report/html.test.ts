import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { summaryHtml } from "../../src/report/html.js";
import { parseAggregateXml } from "../../src/report/parse.js";
import { summarizeReports } from "../../src/report/summary.js";
import type { AggregateReport } from "../../src/report/types.js";
import { fixture } from "../helpers/keys.js";

const CHROMIUM = ["chromium", "chromium-browser"].find((c) => {
  try {
    execFileSync(c, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
});
if (!CHROMIUM) console.warn("CHROMIUM ABSENT: the HTML report is not opened in a browser (apt-get install chromium)");

/** A week of reports: pass rates that move, and a spoofing source that appears mid-week. */
function week(): AggregateReport[] {
  const base = parseAggregateXml(fixture("reports/google-style.xml").toString("utf8"));
  if (!base.ok) throw new Error(base.error.message);
  return Array.from({ length: 7 }, (_, d) => {
    const r = structuredClone(base.report);
    r.metadata.begin += d * 86400;
    r.metadata.end += d * 86400;
    r.records[0]!.count = 100 + d * 10;
    r.records[1]!.count = d < 3 ? 2 : 40 + d * 5;
    r.records[1]!.headerFrom = "example.com<script>alert(1)</script>"; // must be shown as text
    // a forwarder: DKIM survives, SPF does not
    r.records.push({ ...structuredClone(r.records[0]!), sourceIp: "198.51.100.40", spf: "fail", count: 10 + d * 8 });
    return r;
  });
}

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"];

describe.skipIf(!CHROMIUM)("the HTML report in a real headless browser (Debian chromium)", () => {
  it("renders offline: the DOM holds the chart and the failing-sources table, markup from reports stays text", () => {
    const dir = mkdtempSync(join(tmpdir(), "msgauth-html-"));
    const page = join(dir, "report.html");
    writeFileSync(page, summaryHtml(summarizeReports(week())));
    const profile = join(dir, "profile");
    const dom = spawnSync(CHROMIUM!, [...FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `file://${page}`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(dom.stdout).toContain("Failing sources: who sends as you and fails");
    expect(dom.stdout).toMatch(/<svg[^>]*aria-label="Pass rates by day"/);
    expect((dom.stdout.match(/<polyline/g) ?? []).length).toBe(3);
    expect(dom.stdout).toContain("example.com&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(dom.stdout).not.toMatch(/<script/);

    const shot = join(dir, "report.png");
    spawnSync(CHROMIUM!, [...FLAGS, `--user-data-dir=${profile}`, `--screenshot=${shot}`, "--window-size=1100,1400", `file://${page}`], {
      timeout: 60_000,
    });
    expect(existsSync(shot)).toBe(true);
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeGreaterThan(20_000); // a rendered page, not a blank one
    if (process.env.MSGAUTH_KEEP_SCREENSHOT) writeFileSync(process.env.MSGAUTH_KEEP_SCREENSHOT, png);
  });
});
