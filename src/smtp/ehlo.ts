import type { Reply } from "./reply.js";

/** Reads a 250 EHLO reply into its greeting and extensions: keyword (upper case) to parameters. */
export function parseEhloReply(reply: Reply): { greeting: string; extensions: Map<string, string[]> } | undefined {
  if (reply.code !== 250) return undefined;
  const [greeting = "", ...rest] = reply.lines;
  const extensions = new Map<string, string[]>();
  for (const line of rest) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword && /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(keyword)) extensions.set(keyword.toUpperCase(), params);
  }
  return { greeting, extensions };
}

/** Builds a 250 EHLO reply from a greeting and extensions. */
export function buildEhloReply(
  greeting: string,
  extensions: ReadonlyMap<string, readonly string[]> | Record<string, readonly string[]>,
): Reply {
  const entries = extensions instanceof Map ? [...extensions.entries()] : Object.entries(extensions);
  return { code: 250, lines: [greeting, ...entries.map(([k, v]) => [k.toUpperCase(), ...v].join(" "))] };
}
