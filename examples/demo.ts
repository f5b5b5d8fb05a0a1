/**
 * The demo: authenticate the sample message in fixtures/ against the bundled fixture zones, offline,
 * and print the result and the header fields a receiving server would add. Run with `npm run demo`.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { authenticate, FixtureResolver, loadZone } from "../src/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const message = await readFile(`${root}fixtures/messages/sample.eml`);
const resolver = new FixtureResolver(await loadZone(`${root}fixtures/zones/example.zone`));
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };

const result = await authenticate(message, envelope, {
  resolver,
  authservId: "mx.example.org",
  now: () => Date.parse("2026-11-20T12:00:00Z"),
});

console.log("msgauth demo: fixtures/messages/sample.eml from 192.0.2.25 (fixture DNS, offline)\n");
console.log(`From      ${result.author.ok ? result.author.mailbox.address : result.author.detail}`);
console.log(`SPF       ${result.spf?.result} (${result.spf?.reason})`);
for (const d of result.dkim) console.log(`DKIM      ${d.result} d=${d.domain} s=${d.selector} ${d.algorithm} (${d.reason})`);
const dmarc = result.dmarc;
if (dmarc) {
  console.log(
    `DMARC     ${dmarc.result} for ${dmarc.fromDomain}: policy ${dmarc.policy}, disposition ${dmarc.disposition} (${dmarc.reason})`,
  );
}
console.log(`DNS       ${result.dns.queries} queries\n`);
console.log(result.prepend);
