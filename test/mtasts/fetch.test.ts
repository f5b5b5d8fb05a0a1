import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixtureResolver } from "../../src/dns/zone.js";
import { zoneFromObject } from "../../src/dns/zoneobject.js";
import { MtaSts } from "../../src/mtasts/client.js";
import { decideDelivery } from "../../src/mtasts/decision.js";
import { fetchStsPolicy } from "../../src/mtasts/fetch.js";
import { createNodePolicyFetcher } from "../../src/mtasts/node-fetch.js";
import { createTestPki, hasOpenssl } from "../helpers/pki.js";

const POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.good.example\r\nmax_age: 86400\r\n";
const TIMEOUT = 800;
/** Bounded, not timed: a fetch that hung would never settle; the slack absorbs a loaded machine (a TLS handshake took 3.6 s under load). */
const SLACK = 5000;

/** What each policy host's server does; the certificate it presents is chosen by SNI. */
interface Site {
  names: string[];
  commonName?: string;
  expired?: boolean;
  selfSigned?: boolean;
  handle?: (res: import("node:http").ServerResponse, path: string) => void;
}
const plain =
  (body: string | Buffer, type = "text/plain") =>
  (res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "content-type": type });
    res.end(body);
  };

/** What mta-sts.toggle.example does now: the cache tests turn a good server hostile. */
const toggle = { mode: "good" as "good" | "slow" | "huge" | "redirect" | "html" | "404" };
const SITES: Record<string, Site> = {
  "mta-sts.toggle.example": {
    names: ["mta-sts.toggle.example"],
    handle: (res, path) => {
      const m = toggle.mode;
      if (m === "good") return plain(POLICY)(res);
      if (m === "html") return plain(POLICY, "text/html")(res);
      if (m === "huge") return plain(Buffer.alloc(1024 * 1024, 0x61))(res);
      if (m === "redirect" || m === "404") {
        res.writeHead(m === "404" ? 404 : 302, { location: `https://mta-sts.good.example${path}` });
        return void res.end();
      }
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("v"), 100);
      res.on("close", () => clearInterval(timer));
    },
  },
  "mta-sts.good.example": { names: ["mta-sts.good.example"], handle: plain(POLICY) },
  "mta-sts.charset.example": { names: ["mta-sts.charset.example"], handle: plain(POLICY, "Text/Plain; charset=utf-8") },
  "mta-sts.wild.example": { names: ["*.wild.example"], handle: plain(POLICY) },
  "mta-sts.expired.example": { names: ["mta-sts.expired.example"], expired: true, handle: plain(POLICY) },
  "mta-sts.wronghost.example": { names: ["mta-sts.other.example"], handle: plain(POLICY) },
  "mta-sts.deepwild.example": { names: ["*.example"], handle: plain(POLICY) },
  "mta-sts.selfsigned.example": { names: ["mta-sts.selfsigned.example"], selfSigned: true, handle: plain(POLICY) },
  "mta-sts.cnonly.example": { names: [], commonName: "mta-sts.cnonly.example", handle: plain(POLICY) },
  "mta-sts.redirect.example": {
    names: ["mta-sts.redirect.example"],
    handle: (res, path) => {
      if (path === "/moved") return plain(POLICY)(res);
      res.writeHead(301, { location: "https://mta-sts.redirect.example/moved" });
      res.end();
    },
  },
  "mta-sts.notfound.example": {
    names: ["mta-sts.notfound.example"],
    handle: (res) => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end(POLICY);
    },
  },
  "mta-sts.html.example": { names: ["mta-sts.html.example"], handle: plain(`<html>${POLICY}</html>`, "text/html") },
  "mta-sts.notype.example": {
    names: ["mta-sts.notype.example"],
    handle: (res) => {
      res.removeHeader("content-type");
      res.writeHead(200);
      res.end(POLICY);
    },
  },
  "mta-sts.badutf8.example": {
    names: ["mta-sts.badutf8.example"],
    handle: plain(Buffer.concat([Buffer.from(POLICY), Buffer.from("x: \xff\xfe\n", "latin1")])),
  },
  "mta-sts.huge.example": { names: ["mta-sts.huge.example"], handle: plain(Buffer.alloc(10 * 1024 * 1024, 0x61)) },
  "mta-sts.hugechunked.example": {
    names: ["mta-sts.hugechunked.example"],
    handle: (res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      let sent = 0;
      const push = () => {
        while (sent < 5 * 1024 * 1024) {
          sent += 16384;
          if (!res.write(Buffer.alloc(16384, 0x61))) return void res.once("drain", push);
        }
        res.end();
      };
      res.on("error", () => {});
      push();
    },
  },
  "mta-sts.slow.example": {
    names: ["mta-sts.slow.example"],
    handle: (res) => {
      // headers at once, then one byte every 100 ms, forever
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("v"), 100);
      res.on("close", () => clearInterval(timer));
    },
  },
  "mta-sts.silent.example": { names: ["mta-sts.silent.example"], handle: () => {} },
};

const skip = !hasOpenssl();
if (skip) console.warn("openssl is not installed: the MTA-STS HTTPS fetch tests are skipped");

describe.skipIf(skip)("policy fetch over real HTTPS (RFC 8461 3.3)", () => {
  let server: Server;
  let tarpit: TcpServer;
  let port = 0;
  let tarpitPort = 0;
  let ca = "";
  const sockets = new Set<Socket>();
  let contexts = new Map<string, SecureContext>();
  let wrongHostContext: SecureContext | undefined;
  const seen: Array<{ host: string; path: string; sni: string | undefined; headers: Record<string, unknown> }> = [];

  beforeAll(async () => {
    const pki = createTestPki();
    ca = pki.ca;
    contexts = new Map<string, SecureContext>();
    for (const [host, site] of Object.entries(SITES)) {
      const issued = pki.issue({
        names: site.names,
        ...(site.commonName ? { commonName: site.commonName } : {}),
        ...(site.expired ? { expired: true } : {}),
        ...(site.selfSigned ? { selfSigned: true } : {}),
      });
      contexts.set(host, createSecureContext({ key: issued.key, cert: issued.cert }));
    }
    const wrong = pki.issue({ names: ["mta-sts.someone-else.example"] });
    wrongHostContext = createSecureContext({ key: wrong.key, cert: wrong.cert });
    const fallback = pki.issue({ names: ["fallback.invalid"] });
    server = createServer(
      { key: fallback.key, cert: fallback.cert, SNICallback: (name, cb) => cb(null, contexts.get(name)) },
      (req, res) => {
        const host = String(req.headers.host);
        const path = req.url ?? "";
        seen.push({ host, path, sni: (req.socket as import("node:tls").TLSSocket).servername || undefined, headers: req.headers });
        const site = SITES[host];
        if (!site?.handle) {
          res.writeHead(500);
          res.end();
          return;
        }
        site.handle(res, path);
      },
    );
    server.on("connection", (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    // accepts TCP and never speaks TLS
    tarpit = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => tarpit.listen(0, "127.0.0.1", resolve));
    tarpitPort = (tarpit.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await new Promise((r) => tarpit.close(r));
  });

  const fetcher = () =>
    createNodePolicyFetcher({
      ca,
      connect: (host) => ({ host: "127.0.0.1", port: host === "mta-sts.tarpit.example" ? tarpitPort : port }),
    });
  const get = (domain: string) => fetchStsPolicy(domain, { fetch: fetcher(), timeoutMs: TIMEOUT });

  const cases: Array<[string, string, true | string]> = [
    ["a valid certificate and a text/plain policy give the policy", "good.example", true],
    ["media type parameters and case are ignored", "charset.example", true],
    ["a certificate MAY name the policy host by a wildcard", "wild.example", true],
    ["MUST be non-expired: an expired certificate is sts-webpki-invalid", "expired.example", "sts-webpki-invalid"],
    ["MUST be valid for the policy host: a wrong-host certificate is sts-webpki-invalid", "wronghost.example", "sts-webpki-invalid"],
    ["a wildcard stands for one label only", "deepwild.example", "sts-webpki-invalid"],
    ["MUST chain to a trusted root: a self-signed certificate is sts-webpki-invalid", "selfsigned.example", "sts-webpki-invalid"],
    ["matching uses DNS-IDs only: a common name without subjectAltName is refused", "cnonly.example", "sts-webpki-invalid"],
    ["MUST NOT follow 3xx redirects", "redirect.example", "sts-policy-fetch-error"],
    ["only 200 is a policy", "notfound.example", "sts-policy-fetch-error"],
    ["a text/html body is not a policy", "html.example", "sts-policy-invalid"],
    ["a body without a media type is not a policy", "notype.example", "sts-policy-invalid"],
    ["a body that is not UTF-8 is invalid", "badutf8.example", "sts-policy-invalid"],
    ["a 10 MB body (Content-Length) is refused", "huge.example", "sts-policy-fetch-error"],
    ["a 5 MB chunked body is cut off at 64 KiB", "hugechunked.example", "sts-policy-fetch-error"],
  ];
  for (const [name, domain, expected] of cases) {
    it(name, async () => {
      const r = await get(domain);
      if (expected === true) {
        expect(r).toMatchObject({ ok: true, policy: { mode: "enforce", mx: ["mx.good.example"] } });
      } else {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.failure.resultType).toBe(expected);
      }
    });
  }

  it("the redirect target is never requested", async () => {
    await get("redirect.example");
    expect(seen.some((s) => s.path === "/moved")).toBe(false);
  });

  it("MUST send the policy host as SNI (RFC 8461 7.1) and asks the well-known path", async () => {
    seen.length = 0;
    await get("good.example");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ host: "mta-sts.good.example", path: "/.well-known/mta-sts.txt", sni: "mta-sts.good.example" });
  });

  it("MUST NOT use HTTP caching: no conditional request, every fetch reaches the server", async () => {
    seen.length = 0;
    await get("good.example");
    await get("good.example");
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.headers["if-none-match"]).toBeUndefined();
      expect(s.headers["if-modified-since"]).toBeUndefined();
    }
  });

  const slow: Array<[string, string]> = [
    ["a body trickled forever settles as a fetch error within the timeout", "slow.example"],
    ["a server that never answers the request settles within the timeout", "silent.example"],
    ["a server that never completes the TLS handshake settles within the timeout", "tarpit.example"],
  ];
  for (const [name, domain] of slow) {
    it(name, async () => {
      const t0 = Date.now();
      const r = await get(domain);
      expect(r).toMatchObject({ ok: false, failure: { resultType: "sts-policy-fetch-error" } });
      expect(Date.now() - t0).toBeLessThan(TIMEOUT + SLACK);
    });
  }

  describe("a policy server turned hostile: the cached policy keeps protecting, within the timeout", () => {
    const hostile: Array<[string, () => void]> = [
      ["a body trickled forever", () => (toggle.mode = "slow")],
      ["a 1 MB body", () => (toggle.mode = "huge")],
      ["a redirect", () => (toggle.mode = "redirect")],
      ["a 404", () => (toggle.mode = "404")],
      ["an HTML page", () => (toggle.mode = "html")],
      ["a certificate for another host", () => contexts.set("mta-sts.toggle.example", wrongHostContext!)],
    ];
    for (const [name, turn] of hostile) {
      it(name, async () => {
        const saved = contexts.get("mta-sts.toggle.example")!;
        toggle.mode = "good";
        const resolver = new FixtureResolver(zoneFromObject({ "_mta-sts.toggle.example": { TXT: "v=STSv1; id=1" } }));
        const sts = new MtaSts({ resolver, fetch: fetcher(), timeoutMs: TIMEOUT });
        const fresh = new MtaSts({ resolver, fetch: fetcher(), timeoutMs: TIMEOUT });
        try {
          expect(await sts.policy("toggle.example")).toMatchObject({ kind: "policy", source: "fetched" });
          turn();
          resolver.zone.set("_mta-sts.toggle.example", { TXT: [["v=STSv1; id=2"]] });
          const t0 = Date.now();
          const cached = await sts.policy("toggle.example");
          expect(Date.now() - t0).toBeLessThan(TIMEOUT + SLACK);
          expect(cached).toMatchObject({ kind: "policy", source: "cache", id: "1", failure: {} });
          expect(decideDelivery(cached, ["evil.example.org", "mx.good.example"]).allowedHosts).toEqual(["mx.good.example"]);
          // without a cached policy the same server means no policy (RFC 8461 3.3), also in time
          const t1 = Date.now();
          const none = await fresh.policy("toggle.example");
          expect(Date.now() - t1).toBeLessThan(TIMEOUT + SLACK);
          expect(none).toMatchObject({ kind: "none", failure: {} });
        } finally {
          toggle.mode = "good";
          contexts.set("mta-sts.toggle.example", saved);
        }
      });
    }
  });

  it("without the test CA the Web PKI roots refuse the test certificate", async () => {
    const r = await fetchStsPolicy("good.example", {
      fetch: createNodePolicyFetcher({ connect: () => ({ host: "127.0.0.1", port }) }),
      timeoutMs: TIMEOUT * 3,
    });
    expect(r).toMatchObject({ ok: false, failure: { resultType: "sts-webpki-invalid" } });
  });

  it("refuses unknown options", () => {
    expect(() => createNodePolicyFetcher({ rejectUnauthorized: false } as never)).toThrow(TypeError);
  });
});

describe("fetchStsPolicy with injected fetchers", () => {
  it("a fetcher that never settles is cut at the timeout", async () => {
    const r = await fetchStsPolicy("x.example", { fetch: () => new Promise(() => {}), timeoutMs: 50 });
    expect(r).toMatchObject({ ok: false, failure: { resultType: "sts-policy-fetch-error" } });
  });
  it("a domain that is not an A-label name never reaches the fetcher", async () => {
    let called = false;
    for (const bad of ["example.com/evil", "bücher.example", "a..b", "", "x@y.example"]) {
      const r = await fetchStsPolicy(bad, {
        fetch: async () => {
          called = true;
          return { kind: "error", code: "network", reason: "x" };
        },
      });
      expect(r.ok).toBe(false);
    }
    expect(called).toBe(false);
  });
  it("a fetcher that throws is a fetch error", async () => {
    const r = await fetchStsPolicy("x.example", {
      fetch: () => {
        throw new Error("boom");
      },
    });
    expect(r).toMatchObject({ ok: false, failure: { resultType: "sts-policy-fetch-error" } });
  });
  it("a body over maxBytes from a careless fetcher is refused", async () => {
    const r = await fetchStsPolicy("x.example", {
      fetch: async () => ({ kind: "response", status: 200, contentType: "text/plain", body: new Uint8Array(70_000) }),
    });
    expect(r.ok).toBe(false);
  });
  it("the fetcher is asked for the well-known URL of mta-sts.<domain> with the size cap", async () => {
    let url = "";
    let max = 0;
    await fetchStsPolicy("example.com", {
      fetch: async (req) => {
        url = req.url;
        max = req.maxBytes;
        return { kind: "error", code: "network", reason: "x" };
      },
    });
    expect(url).toBe("https://mta-sts.example.com/.well-known/mta-sts.txt");
    expect(max).toBe(65536);
  });
});
