// The two mailauth versions the interop tests and the bench compare with: 4.13.3 (the last to run on
// Node 20) and 7.x (the current line, installed as the npm alias mailauth7; it needs Node >= 22.19).
import { createRequire } from "node:module";
import { authenticate as authenticate4 } from "mailauth";
import { dkimSign as dkimSign4 } from "mailauth/lib/dkim/sign.js";
import { dkimVerify as dkimVerify4 } from "mailauth/lib/dkim/verify.js";
import { spf as spf4 } from "mailauth/lib/spf/index.js";

// biome-ignore lint/suspicious/noExplicitAny: mailauth is plain JavaScript to us (its deep modules ship no types)
type Fn = (...args: any[]) => Promise<any>;

export interface MailauthPeer {
  /** "mailauth 4.13.3", "mailauth 7.1.0". */
  label: string;
  major: number;
  /** False when this Node cannot run it (then `skipReason` says why). */
  runs: boolean;
  skipReason?: string;
  authenticate: Fn;
  dkimSign: Fn;
  dkimVerify: Fn;
  spf: Fn;
}

const require = createRequire(import.meta.url);
const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

/** True when this Node is at least major.minor. */
export function nodeAtLeast(major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = process.versions.node.split(".").map(Number);
  return ma > major || (ma === major && mi >= minor);
}

const runs7 = nodeAtLeast(22, 19);
// Imported only where it runs: on Node 20 its undici 8 fails at import (webidl.util.markAsUncloneable).
const notHere: Fn = async () => {
  throw new Error("mailauth 7 does not run on this Node");
};
const [authenticate7, dkimSign7, dkimVerify7, spf7]: Fn[] = runs7
  ? [
      (await import("mailauth7")).authenticate,
      (await import("mailauth7/lib/dkim/sign.js")).dkimSign,
      (await import("mailauth7/lib/dkim/verify.js")).dkimVerify,
      (await import("mailauth7/lib/spf/index.js")).spf,
    ]
  : [notHere, notHere, notHere, notHere];
export const MAILAUTH_PEERS: readonly MailauthPeer[] = [
  {
    label: `mailauth ${version("mailauth")}`,
    major: 4,
    runs: true,
    authenticate: authenticate4,
    dkimSign: dkimSign4,
    dkimVerify: dkimVerify4,
    spf: spf4,
  },
  {
    label: `mailauth ${version("mailauth7")}`,
    major: 7,
    runs: runs7,
    ...(runs7
      ? {}
      : {
          skipReason: `mailauth ${version("mailauth7")} needs Node >= 22.19 and this is Node ${process.versions.node}; .ci/run also runs the suite on Node 24`,
        }),
    authenticate: authenticate7!,
    dkimSign: dkimSign7!,
    dkimVerify: dkimVerify7!,
    spf: spf7!,
  },
];

let warned = false;
/** Says once per test file which peers are skipped, and why (a skip is never silent). */
export function warnSkippedPeers(): void {
  if (warned) return;
  warned = true;
  for (const p of MAILAUTH_PEERS) if (!p.runs) console.warn(`MAILAUTH 7 SKIPPED: ${p.skipReason}`);
}
