import { request } from "node:https";
import { z } from "zod";
import { describeError } from "../errors.js";
import { fn, optionsChecker } from "../options.js";
import type { PolicyFetcher, PolicyFetchResult } from "./fetch.js";
import { checkDnsIdentity, isCertificateErrorCode } from "./tls.js";

export interface NodePolicyFetcherOptions {
  /**
   * Trust anchors in PEM, replacing Node's bundled roots (as `tls.connect`'s `ca` does). For tests and
   * private deployments; leave unset for the public Web PKI.
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Where to open the TCP connection for a policy host, for tests and proxies: the TLS name (SNI), the
   * certificate check and the Host header stay the policy host. Return undefined to connect normally.
   */
  connect?: (policyHost: string) => { host: string; port: number } | undefined;
}

const caSchema = z.union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))]);
const checkOptions = optionsChecker<NodePolicyFetcherOptions>("options", {
  ca: caSchema.optional(),
  connect: fn<NonNullable<NodePolicyFetcherOptions["connect"]>>("connect").optional(),
});

/**
 * The policy fetcher built on `node:https` (RFC 8461 3.3): TLS 1.2 or later, SNI set to the policy
 * host, the certificate chained to a trusted root, unexpired and valid for the policy host by DNS-ID
 * only; no redirects followed, no HTTP cache, the body cut at `maxBytes`, everything stopped when the
 * request's signal fires. Never rejects: every failure is a `PolicyFetchResult` error.
 */
export function createNodePolicyFetcher(options: NodePolicyFetcherOptions = {}): PolicyFetcher {
  checkOptions(options);
  return (req) =>
    new Promise<PolicyFetchResult>((resolve) => {
      let settled = false;
      const settle = (result: PolicyFetchResult) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const url = new URL(req.url);
      let target: { host: string; port: number } | undefined;
      try {
        target = options.connect?.(req.host);
      } catch (err) {
        resolve({ kind: "error", code: "network", reason: `connect threw: ${describeError(err)}` });
        return;
      }
      const onAbort = () => {
        settle({ kind: "error", code: "timeout", reason: "the fetch was aborted at its deadline" });
        r.destroy();
      };
      const r = request({
        host: target?.host ?? req.host,
        port: target?.port ?? 443,
        path: url.pathname,
        method: "GET",
        servername: req.host,
        headers: { host: req.host, accept: "text/plain", "cache-control": "no-cache" },
        agent: false,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        checkServerIdentity: (_name, cert) => checkDnsIdentity(req.host, cert),
      });
      if (req.signal.aborted) {
        onAbort();
        return;
      }
      req.signal.addEventListener("abort", onAbort, { once: true });
      r.on("error", (err: Error & { code?: string }) => {
        const tls = isCertificateErrorCode(err.code) || /^ERR_SSL_|^ERR_TLS_/.test(err.code ?? "");
        settle({ kind: "error", code: tls ? "tls" : "network", reason: `${err.code ? `${err.code}: ` : ""}${err.message}` });
      });
      r.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const contentType = res.headers["content-type"];
        if (status !== 200) {
          // RFC 8461 3.3: only 200 counts; a 3xx is not followed.
          settle({ kind: "response", status, contentType, body: new Uint8Array(0) });
          r.destroy();
          return;
        }
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > req.maxBytes) {
          settle({ kind: "error", code: "too-large", reason: `Content-Length ${declared} is over ${req.maxBytes} bytes` });
          r.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > req.maxBytes) {
            settle({ kind: "error", code: "too-large", reason: `the body is over ${req.maxBytes} bytes` });
            r.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => settle({ kind: "response", status, contentType, body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on("error", (err) => settle({ kind: "error", code: "network", reason: err.message }));
        res.on("aborted", () => settle({ kind: "error", code: "network", reason: "the response was cut off" }));
      });
      r.on("close", () => settle({ kind: "error", code: "network", reason: "the connection closed before a complete answer" }));
      r.end();
    });
}
