import { commentText, foldField, quoteIfNeeded, words } from "../message/fold.js";
import { checkReceivedSpfOptions } from "../options.js";
import type { SpfResult } from "./check.js";

export interface ReceivedSpfOptions {
  /** This host's name (the `receiver` key, and the start of the comment). */
  receiver?: string;
}

function comment(r: SpfResult, receiver: string): string {
  const who = `${receiver ? `${receiver}: ` : ""}`;
  const s = r.sender;
  switch (r.result) {
    case "pass":
      return `${who}domain of ${s} designates ${r.ip} as permitted sender`;
    case "fail":
      return `${who}domain of ${s} does not designate ${r.ip} as permitted sender`;
    case "softfail":
      return `${who}domain of transitioning ${s} does not designate ${r.ip} as permitted sender`;
    case "neutral":
      return `${who}${r.ip} is neither permitted nor denied by domain of ${s}`;
    case "none":
      return `${who}domain of ${s} does not designate permitted sender hosts`;
    case "temperror":
      return `${who}error in processing during lookup of ${s}: ${r.reason}`;
    default:
      return `${who}domain of ${s}: ${r.reason}`;
  }
}

/**
 * The Received-SPF header field (RFC 7208 9.1), folded, with CRLF line breaks and no final CRLF.
 * Every value is quoted or escaped, so nothing in the envelope or DNS can break out of the field.
 */
export function receivedSpf(result: SpfResult, options: ReceivedSpfOptions = {}): string {
  checkReceivedSpfOptions(options);
  const receiver = options.receiver ?? "";
  const pairs: string[] = [];
  const add = (key: string, value: string) => pairs.push(`${key}=${quoteIfNeeded(value)};`);
  add("client-ip", result.ip);
  add("envelope-from", result.identity === "helo" && result.sender.startsWith("postmaster@") ? "" : result.sender);
  if (result.helo) add("helo", result.helo);
  if (receiver) add("receiver", receiver);
  add("identity", result.identity);
  if (result.mechanism && result.mechanism !== "default") add("mechanism", result.mechanism);
  if (result.result === "permerror" || result.result === "temperror") add("problem", result.reason);
  const commentWords = words(commentText(comment(result, receiver)));
  commentWords[0] = `(${commentWords[0] ?? ""}`;
  commentWords[commentWords.length - 1] += ")";
  const last = pairs.length - 1;
  pairs[last] = pairs[last]!.slice(0, -1);
  return foldField("Received-SPF", [result.result, ...commentWords, ...pairs]);
}
