/**
 * The demo: authenticate the sample message in fixtures/ against the bundled fixture zones, offline.
 * Run with `npm run demo`.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { checkSpf, FixtureResolver, loadZone, parseAuthor, receivedSpf, splitMessage, verifyDkim } from "../src/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const message = await readFile(`${root}fixtures/messages/sample.eml`);
const resolver = new FixtureResolver(await loadZone(`${root}fixtures/zones/example.zone`));
const envelope = { ip: "192.0.2.25", helo: "mx.example.com", mailFrom: "alice@example.com" };

const parsed = splitMessage(message);
const author = parseAuthor(parsed.headers);
console.log(`message: ${parsed.headers.length} header fields, ${parsed.body.length} body bytes`);
console.log(`envelope: ${JSON.stringify(envelope)}`);
console.log(`author: ${author.ok ? `${author.mailbox.address} (domain ${author.domain})` : `error: ${author.detail}`}`);
if (author.ok) {
  const spf = await resolver.txt(author.domain);
  const dmarc = await resolver.txt(`_dmarc.${author.domain}`);
  console.log(`SPF record: ${spf.kind === "ok" ? spf.records.join(" | ") : spf.kind}`);
  console.log(`DMARC record: ${dmarc.kind === "ok" ? dmarc.records.join(" | ") : dmarc.kind}`);
}

const spf = await checkSpf(envelope, { resolver, receiver: "mx.example.org" });
console.log(`\nSPF: ${spf.result} for ${spf.domain} (${spf.reason})`);
console.log(receivedSpf(spf, { receiver: "mx.example.org" }));

const dkim = await verifyDkim(message, { resolver });
for (const d of dkim) console.log(`DKIM: ${d.result} d=${d.domain} s=${d.selector} a=${d.algorithm} (${d.reason})`);
