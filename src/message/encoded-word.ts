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

/**
 * UTF-7 (RFC 2152): "+" base64 of UTF-16BE "-", "+-" for "+", the rest as it is. Some mail readers
 * still decode it in encoded words ("ceo+AEA-bank.example" shows as ceo@bank.example).
 */
export function decodeUtf7(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c !== "+") {
      out += c;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && /[A-Za-z0-9+/]/.test(text[j]!)) j++;
    if (j === i + 1) out += "+";
    else {
      const bytes = Buffer.from(text.slice(i + 1, j), "base64");
      for (let k = 0; k + 1 < bytes.length; k += 2) out += String.fromCharCode((bytes[k]! << 8) | bytes[k + 1]!);
    }
    i = j < n && text[j] === "-" ? j + 1 : j;
  }
  return out;
}

function decodeWord(charset: string, encoding: string, text: string, lenient: boolean): string | undefined {
  const cs = charset.split("*")[0]!.toLowerCase(); // RFC 2231 language suffix
  let bytes: Uint8Array;
  if (encoding.toLowerCase() === "b") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
    bytes = Buffer.from(text, "base64");
  } else {
    bytes = decodeQ(text);
  }
  if (lenient && (cs === "utf-7" || cs === "unicode-1-1-utf-7")) return decodeUtf7(new TextDecoder("latin1").decode(bytes));
  try {
    return new TextDecoder(cs, { fatal: false }).decode(bytes);
  } catch {
    // Unknown charset: left as it is, or (lenient) read as Latin-1, as many readers fall back to.
    return lenient ? new TextDecoder("latin1").decode(bytes) : undefined;
  }
}

/**
 * Decodes the encoded words in a phrase; white space between two adjacent encoded words is dropped.
 * `lenient` reads as a forgiving mail reader would: an unknown charset as Latin-1, UTF-7 decoded
 * (what a reader could show, for the author-domain recovery; never for a strict parse).
 */
export function decodeEncodedWords(text: string, lenient = false): string {
  if (!text.includes("=?")) return text;
  let out = "";
  let last = 0;
  let prevEnd = -1;
  for (const m of text.matchAll(ENCODED_WORD)) {
    const start = m.index;
    const decoded = decodeWord(m[1]!, m[2]!, m[3]!, lenient);
    if (decoded === undefined) continue;
    const between = text.slice(last, start);
    if (!(prevEnd === last && /^[ \t\r\n]*$/.test(between))) out += between;
    out += decoded;
    last = start + m[0].length;
    prevEnd = last;
  }
  return out + text.slice(last);
}
