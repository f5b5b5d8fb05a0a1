/** RFC 2047 encoded words: decoded for display names; never in addresses (RFC 2047 5). */

const ENCODED_WORD = /=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeQ(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "_") out.push(0x20);
    else if (c === "=" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(out);
}

function decodeWord(charset: string, encoding: string, text: string): string | undefined {
  const cs = charset.split("*")[0]!.toLowerCase(); // RFC 2231 language suffix
  let bytes: Uint8Array;
  if (encoding.toLowerCase() === "b") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
    bytes = Buffer.from(text, "base64");
  } else {
    bytes = decodeQ(text);
  }
  try {
    return new TextDecoder(cs, { fatal: false }).decode(bytes);
  } catch {
    return undefined; // unknown charset: leave the word as it is
  }
}

/** Decodes the encoded words in a phrase; white space between two adjacent encoded words is dropped. */
export function decodeEncodedWords(text: string): string {
  if (!text.includes("=?")) return text;
  let out = "";
  let last = 0;
  let prevEnd = -1;
  for (const m of text.matchAll(ENCODED_WORD)) {
    const start = m.index;
    const decoded = decodeWord(m[1]!, m[2]!, m[3]!);
    if (decoded === undefined) continue;
    const between = text.slice(last, start);
    if (!(prevEnd === last && /^[ \t\r\n]*$/.test(between))) out += between;
    out += decoded;
    last = start + m[0].length;
    prevEnd = last;
  }
  return out + text.slice(last);
}
