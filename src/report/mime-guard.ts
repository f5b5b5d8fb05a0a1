/**
 * A cheap linear pre-scan of an email before it reaches the MIME parser (postal-mime). An email of
 * empty parts ("--b" CRLF CRLF, repeated) costs the parser hundreds of times its size in memory, so
 * the number of lines that could be boundary delimiters is bounded first: a line starting "--" and a
 * character that is not white space (RFC 2046 5.1.1: a boundary is 1 to 70 characters, not ending in
 * a space). Report emails have a handful of parts; a signature separator ("-- ") does not count.
 */

/** Most boundary-like lines in a report email (aggregate, failure or TLS-RPT). */
export const MAX_MIME_BOUNDARY_LINES = 1000;

/** Undefined when the email is within the limit, else why it is refused. One pass over the bytes. */
export function mimeTooComplex(bytes: Uint8Array, maxBoundaryLines = MAX_MIME_BOUNDARY_LINES): string | undefined {
  let count = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    // At the start of a line: i === 0 or after LF.
    if ((i === 0 || bytes[i - 1] === 0x0a) && bytes[i] === 0x2d && bytes[i + 1] === 0x2d) {
      const c = bytes[i + 2];
      if (c !== undefined && c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a && ++count > maxBoundaryLines)
        return `more than ${maxBoundaryLines} MIME boundary lines: refused before MIME parsing`;
    }
  }
  return undefined;
}
