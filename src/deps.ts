import { createRequire } from "node:module";
import type * as FastXmlParser from "fast-xml-parser";
import type * as Fflate from "fflate";
import type PostalMimeClass from "postal-mime";
import type * as Tldts from "tldts";

/**
 * Runtime dependencies that only some entry points use (report parsing, archives, the Public Suffix
 * List), loaded on first use rather than when msgauth is imported: importing msgauth for
 * authenticate() or an SMTP session does not pay for an XML parser, a MIME parser or a 100 KB
 * suffix list. Loaded with require (each ships a CommonJS build), so callers stay synchronous.
 */
const load = createRequire(import.meta.url);

let fxp: typeof FastXmlParser | undefined;
let ff: typeof Fflate | undefined;
let pm: typeof PostalMimeClass | undefined;
let tl: typeof Tldts | undefined;

/** fast-xml-parser (DMARC aggregate report XML). */
export const fastXmlParser = (): typeof FastXmlParser => (fxp ??= load("fast-xml-parser") as typeof FastXmlParser);
/** fflate (gzip and zip archives of reports). */
export const fflate = (): typeof Fflate => (ff ??= load("fflate") as typeof Fflate);
/** postal-mime's PostalMime (report emails). */
export const postalMime = (): typeof PostalMimeClass => {
  if (!pm) {
    const m = load("postal-mime") as typeof PostalMimeClass & { default?: typeof PostalMimeClass };
    pm = m.default ?? m;
  }
  return pm;
};
/** tldts (the Public Suffix List, for RFC 7489 organizational domains). */
export const tldts = (): typeof Tldts => (tl ??= load("tldts") as typeof Tldts);
