import type { Canonicalization } from "../dkim/signature.js";
import { tagDomain } from "../dkim/tag-domain.js";
import { decodeBase64, decodeBase64Text, parseTagList, stripWsp, type Tag } from "../dkim/tags.js";
import { getFields, type HeaderField } from "../message/header.js";

/** What an ARC-Message-Signature and an ARC-Seal have in common. */
export interface ArcSignatureBase {
  field: HeaderField;
  instance: number;
  algorithm: "rsa-sha256" | "ed25519-sha256";
  keyType: "rsa" | "ed25519";
  signature: Uint8Array;
  signatureText: string;
  domain: string;
  selector: string;
  bValue: { start: number; end: number };
  timestamp?: number;
}

/** ARC-Message-Signature (RFC 8617 4.1.2). */
export interface ArcMessageSignature extends ArcSignatureBase {
  bodyHash: Uint8Array;
  headerCanon: Canonicalization;
  bodyCanon: Canonicalization;
  signedHeaders: string[];
}

/** ARC-Seal (RFC 8617 4.1.3). */
export interface ArcSeal extends ArcSignatureBase {
  cv: "none" | "pass" | "fail";
}

/** ARC-Authentication-Results (RFC 8617 4.1.1). */
export interface ArcAuthResults {
  field: HeaderField;
  instance: number;
  /** What follows "i=N;": authserv-id and results. */
  payload: string;
}

export interface ArcSet {
  instance: number;
  aar: ArcAuthResults;
  ams: ArcMessageSignature;
  seal: ArcSeal;
}

export type ArcSetsParse = { kind: "none" } | { kind: "ok"; sets: ArcSet[] } | { kind: "fail"; reason: string; instance?: number };

const ALGORITHMS = { "rsa-sha256": "rsa", "ed25519-sha256": "ed25519" } as const;
/** RFC 8617 4.2.1: at most 50 ARC sets. */
export const MAX_ARC_INSTANCES = 50;

function latin1(field: HeaderField): string {
  return Buffer.from(field.raw.buffer, field.raw.byteOffset, field.raw.byteLength).toString("latin1");
}

function instanceOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,1}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= MAX_ARC_INSTANCES ? n : undefined;
}

type Common = Omit<ArcSignatureBase, "field">;

function common(tags: Map<string, Tag>, what: string): Common | string {
  for (const t of ["i", "a", "b", "d", "s"]) if (!tags.has(t)) return `${what}: missing ${t}=`;
  const instance = instanceOf(tags.get("i")!.value);
  if (instance === undefined) return `${what}: i= must be 1-${MAX_ARC_INSTANCES}`;
  const algorithm = tags.get("a")!.value.toLowerCase();
  // Own keys only: `in` finds Object.prototype's (a=constructor, a=__proto__).
  if (!Object.hasOwn(ALGORITHMS, algorithm)) return `${what}: unsupported algorithm a=${algorithm}`;
  const bTag = tags.get("b")!;
  const signatureText = stripWsp(bTag.value);
  const signature = decodeBase64Text(signatureText);
  if (!signature || signature.length === 0) return `${what}: b= is not valid base64`;
  // ARC 4.1.4: d= and s= may hold U-labels; keys are looked up by their A-labels.
  const domain = tagDomain(tags.get("d")!.value, { lowerCase: true });
  if (domain === undefined) return `${what}: d= is not a valid domain`;
  const selector = tagDomain(tags.get("s")!.value, { lowerCase: false });
  if (selector === undefined) return `${what}: s= is not a valid selector`;
  const out: Common = {
    instance,
    algorithm: algorithm as Common["algorithm"],
    keyType: ALGORITHMS[algorithm as keyof typeof ALGORITHMS],
    signature,
    signatureText,
    domain,
    selector,
    bValue: { start: bTag.rawStart, end: bTag.rawEnd },
  };
  const t = tags.get("t");
  if (t) {
    if (!/^[0-9]{1,12}$/.test(t.value)) return `${what}: t= is not a number`;
    out.timestamp = Number(t.value);
  }
  return out;
}

export function parseAms(field: HeaderField): ArcMessageSignature | string {
  const start = field.colon + 1;
  const parsed = parseTagList(latin1(field), 0, start);
  if (!parsed.ok) return `ARC-Message-Signature: ${parsed.reason}`;
  const tags = parsed.tags;
  const c = common(tags, "ARC-Message-Signature");
  if (typeof c === "string") return c;
  for (const t of ["bh", "h"]) if (!tags.has(t)) return `ARC-Message-Signature: missing ${t}=`;
  const bodyHash = decodeBase64(tags.get("bh")!.value);
  if (bodyHash?.length !== 32) return "ARC-Message-Signature: bh= is not a SHA-256 hash in base64";
  const canon = (tags.get("c")?.value ?? "simple/simple").toLowerCase();
  const [hc, bc = "simple", extra] = canon.split("/");
  if (extra !== undefined || (hc !== "simple" && hc !== "relaxed") || (bc !== "simple" && bc !== "relaxed"))
    return `ARC-Message-Signature: unknown c=${canon}`;
  const signedHeaders = stripWsp(tags.get("h")!.value)
    .split(":")
    .map((h) => h.toLowerCase());
  if (signedHeaders.some((h) => h === "" || !/^[\x21-\x39\x3b-\x7e]+$/.test(h)))
    return "ARC-Message-Signature: h= holds an invalid field name";
  // RFC 8617 4.1.2: the AMS MUST NOT sign ARC-Seal fields.
  if (signedHeaders.includes("arc-seal")) return "ARC-Message-Signature: h= includes ARC-Seal (RFC 8617 4.1.2)";
  return { ...c, field, bodyHash, headerCanon: hc, bodyCanon: bc, signedHeaders };
}

export function parseSeal(field: HeaderField): ArcSeal | string {
  const start = field.colon + 1;
  const parsed = parseTagList(latin1(field), 0, start);
  if (!parsed.ok) return `ARC-Seal: ${parsed.reason}`;
  const tags = parsed.tags;
  const c = common(tags, "ARC-Seal");
  if (typeof c === "string") return c;
  // RFC 8617 4.1.3: the seal covers the ARC sets, never a list of fields.
  if (tags.has("h")) return "ARC-Seal: an h= tag is not allowed (RFC 8617 4.1.3)";
  const cv = tags.get("cv")?.value.toLowerCase();
  if (cv !== "none" && cv !== "pass" && cv !== "fail") return "ARC-Seal: cv= must be none, pass or fail";
  return { ...c, field, cv };
}

export function parseAar(field: HeaderField): ArcAuthResults | string {
  const value = latin1(field).slice(field.colon + 1);
  // RFC 8617 4.1.1: "i=" instance ";" then the A-R payload.
  const m = /^[ \t\r\n]*i[ \t]*=[ \t]*([0-9]+)[ \t\r\n]*;/.exec(value);
  const instance = instanceOf(m?.[1]);
  if (!m || instance === undefined) return "ARC-Authentication-Results: must start with i=<1-50>;";
  const payload = Buffer.from(value.slice(m[0].length), "latin1").toString("utf8");
  return {
    field,
    instance,
    payload: payload
      .replace(/\r?\n(?=[ \t])/g, "")
      .replace(/[ \t]+/g, " ")
      .trim(),
  };
}

/**
 * Collects and checks the ARC sets of a message (RFC 8617 5.2 steps 1-2): every field parses,
 * instances run 1..N with exactly one AAR, AMS and AS each, N at most 50.
 */
export function parseArcSets(headers: readonly HeaderField[]): ArcSetsParse {
  const aars = getFields(headers, "arc-authentication-results");
  const amss = getFields(headers, "arc-message-signature");
  const seals = getFields(headers, "arc-seal");
  if (aars.length + amss.length + seals.length === 0) return { kind: "none" };
  const by = new Map<number, { aar: ArcAuthResults[]; ams: ArcMessageSignature[]; seal: ArcSeal[] }>();
  const slot = (i: number) => {
    let s = by.get(i);
    if (!s) by.set(i, (s = { aar: [], ams: [], seal: [] }));
    return s;
  };
  for (const f of aars) {
    const r = parseAar(f);
    if (typeof r === "string") return { kind: "fail", reason: r };
    slot(r.instance).aar.push(r);
  }
  for (const f of amss) {
    const r = parseAms(f);
    if (typeof r === "string") return { kind: "fail", reason: r };
    slot(r.instance).ams.push(r);
  }
  for (const f of seals) {
    const r = parseSeal(f);
    if (typeof r === "string") return { kind: "fail", reason: r };
    slot(r.instance).seal.push(r);
  }
  const n = Math.max(...by.keys());
  const sets: ArcSet[] = [];
  for (let i = 1; i <= n; i++) {
    const s = by.get(i);
    if (!s) return { kind: "fail", reason: `ARC set ${i} is missing`, instance: i };
    if (s.aar.length !== 1 || s.ams.length !== 1 || s.seal.length !== 1) {
      return {
        kind: "fail",
        reason: `ARC set ${i} needs exactly one ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal`,
        instance: i,
      };
    }
    sets.push({ instance: i, aar: s.aar[0]!, ams: s.ams[0]!, seal: s.seal[0]! });
  }
  return { kind: "ok", sets };
}
