import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toResolveFunction } from "../../src/dns/node.js";
import type { Resolver } from "../../src/dns/types.js";
import { FixtureResolver } from "../../src/dns/zone.js";
import { parseZoneFile } from "../../src/dns/zonefile.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const RSA_PEM = readFileSync(join(root, "fixtures/keys/rsa2048.pem"), "utf8");
export const ED_PEM = readFileSync(join(root, "fixtures/keys/ed25519.pem"), "utf8");
export const EXAMPLE_ZONE = parseZoneFile(readFileSync(join(root, "fixtures/zones/example.zone"), "utf8"), { file: "example.zone" });
export const exampleResolver = () => new FixtureResolver(EXAMPLE_ZONE);
export const fixture = (path: string) => readFileSync(join(root, "fixtures", path));

/** A fixture resolver in mailauth's resolver shape, so both libraries read the same answers. */
export function mailauthResolver(resolver: Resolver): (name: string, rrtype: string) => Promise<string[][] | string[]> {
  return toResolveFunction(resolver) as (name: string, rrtype: string) => Promise<string[][] | string[]>;
}
