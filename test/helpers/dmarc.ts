import { parseAuthor, splitMessage } from "../../src/message/index.js";
import type { SpfResult } from "../../src/spf/index.js";

/** The author result of a message whose only header field is `From: <from>`. */
export const author = (from: string) => parseAuthor(splitMessage(new TextEncoder().encode(`From: ${from}\r\n\r\n`)).headers);

/** An SPF result for `domain` (MAIL FROM x@domain from 192.0.2.1), as DMARC reads it. */
export const spf = (domain: string, result: SpfResult["result"] = "pass"): SpfResult => ({
  result,
  domain,
  identity: "mailfrom",
  sender: `x@${domain}`,
  ip: "192.0.2.1",
  helo: "h",
  reason: "",
  lookups: 0,
  voidLookups: 0,
});
