/**
 * The one sanitizer for text msgauth writes into the header fields of report emails (aggregate,
 * failure and TLS-RPT reports). A value may come from the message being reported (DKIM d=/s=, an
 * SMTPUTF8 MAIL FROM, a Subject) or from a DNS record, so it is hostile: it must not end the field,
 * start another, or end the header block. The check is made on the bytes that are written: the
 * value is encoded as UTF-8 (never truncated to latin1, where U+010D becomes CR and U+030A LF) and
 * every byte below 0x20 or 0x7F is replaced by a space, as are C1 controls and the Unicode line
 * separators (U+0085, U+2028, U+2029) that some readers break lines at. UTF-8 bytes of other
 * characters are all 0x80 or above, so no CR, LF or NUL can survive.
 */

// C0 controls, DEL, C1 controls (U+0085 NEL among them), U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** The value as a Unicode string that is safe in one header line once encoded as UTF-8. */
export function headerText(value: string): string {
  return String(value).replace(UNSAFE, " ");
}

/**
 * The value's UTF-8 bytes as a binary string (one character a byte, for a message assembled as a
 * latin1 "binary" string and written with Buffer.from(text, "latin1")), with no byte below 0x20
 * and no 0x7F.
 */
export function headerBytes(value: string): string {
  return Buffer.from(headerText(value), "utf8").toString("latin1");
}
