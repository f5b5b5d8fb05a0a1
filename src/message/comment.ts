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
