import { asciiDomain, type Mailbox, parseAddressList } from "./address.js";
import { fieldText, getFields, type HeaderField } from "./header.js";

/**
 * The author of a message (RFC 5322 From), as DMARC needs it. Anything but exactly one From field
 * holding exactly one mailbox with a valid domain is reported, never silently narrowed to one guess.
 */
export type AuthorResult =
  | { ok: true; mailbox: Mailbox /** A-label, lower case */; domain: string }
  | {
      ok: false;
      reason: "no-from" | "multiple-from" | "multiple-mailboxes" | "no-mailbox" | "group" | "syntax" | "bad-domain";
      detail: string;
      /** The mailboxes found, where the field could be parsed. */
      mailboxes: Mailbox[];
      /** Their distinct domains in A-label form, where each was valid. */
      domains: string[];
    };

export function parseAuthor(headers: readonly HeaderField[]): AuthorResult {
  const fields = getFields(headers, "from");
  const fail = (reason: Extract<AuthorResult, { ok: false }>["reason"], detail: string, mailboxes: Mailbox[] = []) => {
    const domains = [...new Set(mailboxes.map((m) => asciiDomain(m.domain)).filter((d): d is string => !!d))];
    return { ok: false as const, reason, detail, mailboxes, domains };
  };
  if (fields.length === 0) return fail("no-from", "the message has no From field");
  if (fields.length > 1) {
    const all: Mailbox[] = [];
    for (const f of fields) {
      const r = parseAddressList(fieldText(f));
      if (r.ok) all.push(...r.mailboxes);
    }
    return fail("multiple-from", `the message has ${fields.length} From fields (RFC 5322 3.6 allows one)`, all);
  }
  const parsed = parseAddressList(fieldText(fields[0]!));
  if (!parsed.ok) return fail("syntax", `From: ${parsed.error} at ${parsed.position}`);
  const { mailboxes } = parsed;
  if (parsed.groups > 0) return fail("group", "From holds group syntax (RFC 5322 3.6.2 allows mailboxes only)", mailboxes);
  if (mailboxes.length === 0) return fail("no-mailbox", "From holds no mailbox");
  if (mailboxes.length > 1) return fail("multiple-mailboxes", `From holds ${mailboxes.length} mailboxes`, mailboxes);
  const mailbox = mailboxes[0]!;
  const domain = asciiDomain(mailbox.domain);
  if (!domain) return fail("bad-domain", `From domain '${mailbox.domain}' is not a valid domain name`, mailboxes);
  return { ok: true, mailbox, domain };
}
