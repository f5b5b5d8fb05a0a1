/**
 * Skips an RFC 5322 comment starting at text[start] === "(": nested comments and quoted-pairs
 * included. Returns the index just past its ")", or -1 when it is not closed. Linear.
 */
export function skipComment(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const d = text[i];
    if (d === "\\") i++;
    else if (d === "(") depth++;
    else if (d === ")" && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * Reads an RFC 5322 quoted-string starting at text[start] === '"', undoing quoted-pairs. With
 * dropLineBreaks, CR and LF inside it (folding left in the text) are left out of the value.
 * Returns the value and the index just past the closing quote, or undefined when it is not closed.
 * Linear.
 */
export function readQuotedString(text: string, start: number, dropLineBreaks: boolean): { value: string; end: number } | undefined {
  const n = text.length;
  let value = "";
  let i = start + 1;
  for (; i < n && text[i] !== '"'; i++) {
    if (text[i] === "\\" && i + 1 < n) i++;
    const ch = text[i]!;
    if (!dropLineBreaks || (ch !== "\r" && ch !== "\n")) value += ch;
  }
  return i < n ? { value, end: i + 1 } : undefined;
}
