import { commentText, foldField, stripControls, words } from "../message/fold.js";

/** One property: ptype.property=value (RFC 8601 2.3), e.g. header.d=example.com. */
export interface AuthResProperty {
  ptype: "smtp" | "header" | "body" | "policy" | string;
  property: string;
  value: string;
}

/** One method result: method=result, with an optional reason, comment and properties. */
export interface AuthResEntry {
  method: string;
  /** Method version, written as method/version. */
  version?: number;
  result: string;
  reason?: string;
  /** Free text, written as a comment after the result. */
  comment?: string;
  props: AuthResProperty[];
}

const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const DOMAIN = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;

function quoted(value: string): string {
  return `"${stripControls(value).replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * A property value: a token, or [local-part] "@" domain-name as RFC 8601 2.2 allows, written bare;
 * anything else as a quoted-string. Controls are dropped, so no value can break the field.
 */
export function pvalue(value: string): string {
  const v = stripControls(value);
  if (v !== "" && TOKEN.test(v) && !v.includes("/")) return v;
  const at = v.lastIndexOf("@");
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    if ((local === "" || DOT_ATOM.test(local)) && DOMAIN.test(domain)) return v;
  }
  return quoted(v);
}

/**
 * Writes an Authentication-Results field (RFC 8601), folded at 78 columns with CRLF, without the
 * final CRLF. With no entries it says "none". Every value is quoted or escaped: nothing in a message,
 * the envelope or DNS can add a line or a field.
 */
export function formatAuthResults(authservId: string, entries: readonly AuthResEntry[]): string {
  const id = TOKEN.test(authservId) ? authservId : quoted(authservId);
  if (entries.length === 0) return foldField("Authentication-Results", [`${id};`, "none"]);
  const pieces: string[] = [`${id};`];
  entries.forEach((e, i) => {
    const last = i === entries.length - 1;
    const unit: string[] = [`${e.method}${e.version ? `/${e.version}` : ""}=${TOKEN.test(e.result) ? e.result : quoted(e.result)}`];
    if (e.comment) {
      const w = words(commentText(e.comment));
      w[0] = `(${w[0] ?? ""}`;
      w[w.length - 1] += ")";
      unit.push(...w);
    }
    if (e.reason !== undefined) unit.push(`reason=${quoted(e.reason)}`);
    for (const p of e.props) unit.push(`${p.ptype}.${p.property}=${pvalue(p.value)}`);
    if (!last) unit[unit.length - 1] += ";";
    pieces.push(...unit);
  });
  return foldField("Authentication-Results", pieces);
}
