/** One header field exactly as the message carries it. */
export interface HeaderField {
  /** The field name as written (white space before the colon removed); "" for a malformed line. */
  readonly name: string;
  /** The field name in lower case, for lookups. */
  readonly key: string;
  /**
   * The whole field's bytes, line breaks normalized to CRLF, without the final CRLF. Where the
   * message already had CRLF this is a view of the message's bytes (never written to), not a copy.
   */
  readonly raw: Uint8Array;
  /** Offset of the ':' in `raw` (-1 for a malformed line). */
  readonly colon: number;
  /** True for a line that is not a well-formed field (no colon, bad name, leading continuation). */
  readonly malformed: boolean;
}

const decoder = new TextDecoder("utf-8");

/** The field body after the colon, decoded as UTF-8 (RFC 6532), folding kept. */
export function fieldValue(field: HeaderField): string {
  return decoder.decode(field.raw.subarray(field.colon + 1));
}

/** Removes folding (RFC 5322 2.2.3): every CRLF that is followed by WSP. */
export function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, "");
}

/** The value unfolded and trimmed: what most readers of a field want. */
export function fieldText(field: HeaderField): string {
  return unfold(fieldValue(field)).trim();
}

/** All fields named `name` (case-insensitive), top to bottom. */
export function getFields(headers: readonly HeaderField[], name: string): HeaderField[] {
  const key = name.toLowerCase();
  const out: HeaderField[] = [];
  for (const f of headers) if (f.key === key) out.push(f);
  return out;
}

/** The first field named `name`, top-most, or undefined. */
export function getField(headers: readonly HeaderField[], name: string): HeaderField | undefined {
  const key = name.toLowerCase();
  for (const f of headers) if (f.key === key) return f;
  return undefined;
}

/** Builds a header field from text (for fields msgauth writes, such as Authentication-Results). */
export function makeField(name: string, value: string): HeaderField {
  const raw = new TextEncoder().encode(`${name}:${value}`);
  return { name, key: name.toLowerCase(), raw, colon: name.length, malformed: false };
}
