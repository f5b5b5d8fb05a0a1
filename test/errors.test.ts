import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { MsgauthError, OptionsError } from "../src/index.js";

// Every public entry point that takes an options object, called with an option msgauth does not
// know. Each must throw (or reject with) an OptionsError naming it: a misspelt option is never
// ignored, and the error is typed and coded (issue 16 section 2).
const resolver = new api.FixtureResolver(new Map());
const BAD = { notAnOption: 1 };
const msg = new TextEncoder().encode("From: a@example.com\r\n\r\n");
const header = api.splitMessage(msg).headers;
const store = new api.MemoryStateStore();
const tlsReport = {
  organizationName: "o",
  dateRange: { startDatetime: "2026-01-01T00:00:00Z", endDatetime: "2026-01-01T23:59:59Z" },
  contactInfo: "tls@example.com",
  reportId: "r",
  policies: [],
};

const WITH_OPTIONS: Record<string, () => unknown> = {
  AggregateCollector: () => new api.AggregateCollector({ store, ...BAD } as never),
  AggregateReporter: () => new api.AggregateReporter(BAD as never),
  ArcSealer: () => new api.ArcSealer(BAD as never),
  ArcVerifier: () => new api.ArcVerifier(header, { resolver, ...BAD } as never),
  BudgetedResolver: () => new api.BudgetedResolver(resolver, BAD as never),
  CachingResolver: () => new api.CachingResolver(resolver, BAD as never),
  DkimSignStream: () => new api.DkimSignStream(BAD as never),
  DkimSigner: () => new api.DkimSigner(BAD as never),
  DkimVerifier: () => new api.DkimVerifier(header, { resolver, ...BAD } as never),
  FailureReporter: () => new api.FailureReporter(BAD as never),
  FixtureResolver: () => new api.FixtureResolver(new Map(), BAD as never),
  MemoryStateStore: () => new api.MemoryStateStore(BAD as never),
  MemoryStore: () => new api.MemoryStore(BAD as never),
  MtaSts: () => new api.MtaSts(BAD as never),
  NodeResolver: () => new api.NodeResolver(BAD as never),
  RateLimiter: () => new api.RateLimiter(BAD as never),
  RedisStateStore: () => new api.RedisStateStore({ call: async () => null } as never, BAD as never, false),
  RedisStore: () => new api.RedisStore({ eval: async () => null } as never, BAD as never),
  SmtpSession: () => new api.SmtpSession(BAD as never),
  SqliteStateStore: () => new api.SqliteStateStore({} as never, BAD as never),
  TlsRptRecorder: () => new api.TlsRptRecorder(BAD as never),
  arcOverride: () => api.arcOverride({ result: "none", reason: "", instances: 0, sets: [] } as never, BAD as never),
  authenticate: () => api.authenticate("From: a@example.com\r\n\r\n", { ip: "192.0.2.1", helo: "h.example", mailFrom: "" }, BAD as never),
  buildDsn: () => api.buildDsn(BAD as never),
  buildTlsReportEmail: () => api.buildTlsReportEmail(BAD as never),
  checkDmarc: () => api.checkDmarc({} as never, { resolver, ...BAD } as never),
  checkDnsbl: () => api.checkDnsbl("192.0.2.1", ["bl.example"], { resolver, ...BAD } as never),
  checkDomainBl: () => api.checkDomainBl("example.com", ["bl.example"], { resolver, ...BAD } as never),
  checkIprev: () => api.checkIprev("192.0.2.1", { resolver, ...BAD } as never),
  checkSenderNullMx: () => api.checkSenderNullMx("example.com", { resolver, ...BAD } as never),
  checkSpf: () => api.checkSpf({ ip: "192.0.2.1", helo: "h.example", mailFrom: "a@example.com" }, { resolver, ...BAD } as never),
  checkSpfHelo: () => api.checkSpfHelo({ ip: "192.0.2.1", helo: "h.example" }, { resolver, ...BAD } as never),
  createArcSealer: () => api.createArcSealer(BAD as never),
  createDkimSigner: () => api.createDkimSigner(BAD as never),
  createNodePolicyFetcher: () => api.createNodePolicyFetcher(BAD as never),
  createNodeReportPoster: () => api.createNodeReportPoster(BAD as never),
  discoverStsRecord: () => api.discoverStsRecord("example.com", resolver, BAD as never),
  discoverTlsRpt: () => api.discoverTlsRpt("example.com", resolver, BAD as never),
  envelopeFromMessage: () => api.envelopeFromMessage("From: a@example.com\r\n\r\n", BAD as never),
  envelopeFromReceived: () => api.envelopeFromReceived(header, BAD as never),
  fetchStsPolicy: () => api.fetchStsPolicy("example.com", BAD as never),
  guardResolver: () => api.guardResolver(resolver, BAD as never),
  guardedQuery: () => api.guardedQuery(resolver, "TXT", "example.com", BAD as never),
  ioredisOptions: () => api.ioredisOptions(BAD as never),
  openMessage: () => api.openMessage("From: a@example.com\r\n\r\n", BAD as never),
  openRedisStore: () => api.openRedisStore(BAD as never),
  openSqliteStore: () => api.openSqliteStore(":memory:", BAD as never),
  parseAggregateReport: () => api.parseAggregateReport("<feedback/>", BAD as never),
  parseAggregateXml: () => api.parseAggregateXml("<feedback/>", BAD as never),
  parseCommand: () => api.parseCommand("NOOP", BAD as never),
  parseFailureReport: () => api.parseFailureReport("x", BAD as never),
  parseHeaderBlock: () => api.parseHeaderBlock(new Uint8Array(0), BAD as never),
  parsePath: () => api.parsePath("<a@example.com>", BAD as never),
  parseTlsReport: () => api.parseTlsReport("{}", BAD as never),
  parseTlsReportEmail: () => api.parseTlsReportEmail("x", { resolver: false, ...BAD } as never),
  parseZoneFile: () => api.parseZoneFile("", BAD as never),
  receivedSpf: () => api.receivedSpf({ result: "none", domain: "example.com" } as never, BAD as never),
  recordOf: () => api.recordOf({} as never, {} as never, BAD as never),
  reportEmail: () => api.reportEmail({} as never, "a@example.com", {} as never, BAD as never),
  resolveNextHop: () => api.resolveNextHop("example.com", { resolver, ...BAD } as never),
  sealArc: () => api.sealArc("From: a@example.com\r\n\r\n", BAD as never),
  signDkim: () => api.signDkim("From: a@example.com\r\n\r\n", BAD as never),
  signMessage: () => api.signMessage("From: a@example.com\r\n\r\n", BAD as never),
  splitMessage: () => api.splitMessage(msg, BAD as never),
  stsTransportOptions: () => api.stsTransportOptions({ host: "mx.example.com", allowed: true } as never, BAD as never),
  submitTlsReport: () => api.submitTlsReport(BAD as never),
  summaryHtml: () => api.summaryHtml(api.summarizeReports([]), BAD as never),
  tlsReportFilename: () => api.tlsReportFilename(tlsReport as never, "example.com", BAD as never),
  verifyArc: () => api.verifyArc("From: a@example.com\r\n\r\n", { resolver, ...BAD } as never),
  verifyDkim: () => api.verifyDkim("From: a@example.com\r\n\r\n", { resolver, ...BAD } as never),
  verifyReportDestination: () => api.verifyReportDestination("example.com", "mailto:r@example.net", { resolver, ...BAD } as never),
};

// Error classes: their constructors take `{ cause }`, not msgauth options.
const ERROR_CLASSES = new Set([
  "MsgauthError",
  "OptionsError",
  "ArgumentError",
  "KeyError",
  "StateError",
  "AuthResError",
  "SessionStateError",
  "SessionCallbackError",
  "ZoneError",
  "StoreError",
  "RateLimitFaultError",
]);

// Exports that take no options object (positional arguments only).
const NO_OPTIONS = new Set(
  (
    "BodyCanonicalizer BodyHashes DmarcLookups OrgDomains RecordingResolver ReplyParser aggregateXml arcEntry asciiDomain " +
    "authservIdValue buildEhloReply canonicalizeHeader canonicalizeSignatureField checkDnsIdentity classifyTlsError commentText " +
    "decideDelivery decodeBase64 decodeBase64Response decodeEncodedWords decodePlain decodeXtext describeEnhanced describeError " +
    "dkimEntries dkimEntry dmarcEntry dnsIds dnsblLabel ed25519KeyFromSeed encodeXtext expandMacro failureReportEmail " +
    "failureReportsWanted fieldText fieldValue findHeaderEnd foldField formatAuthResults formatDate formatFromPath formatReply " +
    "fromResolveFunction generateFromStore generateReport getField getFields gunzipCapped gzipTlsReport headerHashInput " +
    "ipFromReverseName iprevEntry isAddressLiteral isDmarcRecord isEnhancedCode isMessageInput isSmtpDomain isSpfRecord jsonDepth " +
    "loadPrivateKey loadZone makeField mergeAuthResults mergeZones mxMatches normalizeName parseAddressList parseArcSets " +
    "parseAuthResults parseAuthor parseDmarcRecord parseDsn parseEhloReply parseKeyRecord parseMacroString parseReceived " +
    "parseReply parseSignature parseSpfRecord parseStsPolicy parseStsRecord parseTagList parseTlsRptRecord parseZone " +
    "policyPublished policyStrings pslOrgDomain pvalue quoteIfNeeded rateLimitReply removeAuthResults reportPolicyFor reverseName " +
    "selectHeaders selectOrgDomain serializeTlsReport signedHeaderList spfEntry sqliteSupported stripControls summarizeReports " +
    "summaryText tlsReportFromJson tlsReportToJson toBytes toResolveFunction treeWalk treeWalkTargets trustedAuthResults unfold " +
    "validateAnswer zoneFromObject zoneToObject zoneToYaml"
  ).split(" "),
);

async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("public API: wrong calls throw typed, coded errors", () => {
  it("every exported function and class is classified (a new export must say whether it takes options)", () => {
    const unclassified = Object.entries(api)
      .filter(
        ([name, value]) => typeof value === "function" && !(name in WITH_OPTIONS) && !NO_OPTIONS.has(name) && !ERROR_CLASSES.has(name),
      )
      .map(([name]) => name);
    expect(unclassified).toEqual([]);
    const stale = [...Object.keys(WITH_OPTIONS), ...NO_OPTIONS, ...ERROR_CLASSES].filter((n) => !(n in api));
    expect(stale).toEqual([]);
  });

  for (const [name, call] of Object.entries(WITH_OPTIONS)) {
    it(`${name} refuses an unknown option with an OptionsError naming it`, async () => {
      const err = await thrownBy(call);
      expect(err, `${name} accepted { notAnOption: 1 }`).toBeInstanceOf(MsgauthError);
      expect(err).toBeInstanceOf(OptionsError);
      const e = err as OptionsError;
      expect(e.code).toBe("ERR_MSGAUTH_UNKNOWN_OPTION");
      expect(e.path).toMatch(/\.notAnOption$/);
      expect(e.message).toContain("notAnOption");
    });
  }

  for (const [name, call] of Object.entries({
    "MemoryStateStore.set with a bad key": () => store.set("", "v"),
    "MemoryStateStore.increment with a non-array": () => store.increment("x" as never),
    "formatReply with code 700": () => api.formatReply({ code: 700, lines: ["x"] }),
    "formatAuthResults with CRLF in the authserv-id": () => api.formatAuthResults("a\r\nb", []),
    "parseAggregateReport with a number": () => api.parseAggregateReport(42 as never),
    "splitMessage with a string (it takes bytes)": () => api.splitMessage("From: a@example.com\r\n\r\n" as never),
    "verifyDkim with a number as the message": () => api.verifyDkim(42 as never, { resolver }),
    "signDkim with a public key": () =>
      api.signDkim("From: a@example.com\r\n\r\n", { domain: "example.com", selector: "s", privateKey: "nope" }),
    "parseZoneFile with an unknown directive": () => api.parseZoneFile("$NOPE x\n"),
    "BodyHashes.add after the body began": () => {
      const h = new api.BodyHashes();
      h.update(new Uint8Array([65]));
      h.add({ canon: "relaxed", hash: "sha256" });
    },
    "SmtpSession.completeMessage with nothing pending": () =>
      new api.SmtpSession({ hostname: "mx.example.com" } as never).completeMessage({ code: 250, lines: ["ok"] } as never),
    "MemoryStateStore with options that are not an object": () => new api.MemoryStateStore(42 as never),
  })) {
    it(`${name}: a MsgauthError with a documented code`, async () => {
      const err = await thrownBy(call);
      expect(err).toBeInstanceOf(MsgauthError);
      expect((err as MsgauthError).code).toMatch(/^ERR_MSGAUTH_[A-Z_]+$/);
      expect(documentedCodes()).toContain((err as MsgauthError).code);
    });
  }
});

/** Codes listed in the table of src/errors.ts's TSDoc. */
function documentedCodes(): Set<string> {
  const text = readFileSync(join(import.meta.dirname, "../src/errors.ts"), "utf8");
  const doc = text.slice(0, text.indexOf("*/"));
  return new Set(doc.match(/ERR_MSGAUTH_[A-Z_]+/g) ?? []);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("the code table of src/errors.ts", () => {
  it("lists every ERR_MSGAUTH_ code used in src, and lists none that is unused", () => {
    const documented = documentedCodes();
    const used = new Set<string>();
    for (const file of sourceFiles(join(import.meta.dirname, "../src"))) {
      let text = readFileSync(file, "utf8");
      if (file.endsWith(`${join("src", "errors.ts")}`)) text = text.slice(text.indexOf("*/"));
      for (const code of text.match(/ERR_MSGAUTH_[A-Z_]+/g) ?? []) used.add(code);
    }
    expect([...used].filter((c) => !documented.has(c)).sort()).toEqual([]);
    expect([...documented].filter((c) => !used.has(c)).sort()).toEqual([]);
  });

  it("docs/authenticate.md lists the same codes", () => {
    const doc = readFileSync(join(import.meta.dirname, "../docs/authenticate.md"), "utf8");
    const inDoc = new Set(doc.match(/ERR_MSGAUTH_[A-Z_]+/g) ?? []);
    expect([...documentedCodes()].filter((c) => !inDoc.has(c)).sort()).toEqual([]);
  });
});
