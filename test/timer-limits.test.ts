// Millisecond options that become timers (setTimeout, socket.setTimeout, AbortSignal.timeout, SQLite's
// busy_timeout): Node.js fires a timer longer than 2^31-1 ms after 1 ms, so `timeoutMs: 3e9` ("never")
// would give up at once. The rule (src/options.ts MAX_TIMER_MS): every such option is an integer from
// its minimum to 2^31-1 (or a tighter documented bound), refused otherwise with an OptionsError naming
// it. The walk below calls every public entry point that takes one; the source scans make a new
// millisecond option or a new timer fail here until it is walked (or shown not to be a timer).
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startSmtpServer } from "../examples/smtp-server.js";
import { createAuthenticatingServer } from "../examples/smtp-server-package.js";
import {
  AggregateReporter,
  authenticate,
  BudgetedResolver,
  checkSpf,
  checkSpfHelo,
  createNodeReportPoster,
  discoverStsRecord,
  discoverTlsRpt,
  FailureReporter,
  FixtureResolver,
  fetchStsPolicy,
  guardedQuery,
  guardResolver,
  ioredisOptions,
  MAX_TIMER_MS,
  MemoryStateStore,
  MtaSts,
  NodeResolver,
  OptionsError,
  openRedisStore,
  openSqliteStore,
  RateLimiter,
  submitTlsReport,
  verifyReportDestination,
} from "../src/index.js";

import { exampleResolver } from "./helpers/keys.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const resolver = exampleResolver();
const MESSAGE = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: t\r\n\r\nHello\r\n";
const IDENTITY = { orgName: "Receiver", email: "dmarc-noreply@receiver.example", receiver: "mx.receiver.example" };
const failedFetch = async () => ({ kind: "error", code: "network", reason: "no network in this test" }) as const;
const REPORT = {
  organizationName: "Sender",
  dateRange: { startDatetime: "2026-01-01T00:00:00Z", endDatetime: "2026-01-01T23:59:59Z" },
  contactInfo: "tlsrpt@example.com",
  reportId: "1",
  policies: [],
};

interface Site {
  /** `file:option` as declared (the source scan matches it). */
  declared: string;
  /** The OptionsError path. */
  path: string;
  min?: number;
  /** The largest value taken: MAX_TIMER_MS unless the option documents a tighter bound. */
  max?: number;
  /** Calls the entry point with the option set to `ms` (a throw or a rejection is what is judged). */
  call: (ms: number) => unknown;
}

const SITES: Site[] = [
  {
    declared: "src/authenticate.ts:timeBudgetMs",
    path: "options.limits.timeBudgetMs",
    call: (ms) => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, authservId: "mx", limits: { timeBudgetMs: ms } }),
  },
  {
    declared: "src/authenticate.ts:dnsQueryTimeoutMs",
    path: "options.limits.dnsQueryTimeoutMs",
    call: (ms) => authenticate(MESSAGE, { ip: "192.0.2.1" }, { resolver, authservId: "mx", limits: { dnsQueryTimeoutMs: ms } }),
  },
  // checkSpf has a hand-written fast path for usual options (plainSpfOptions): both must refuse.
  {
    declared: "src/spf/check.ts:timeBudgetMs",
    path: "options.timeBudgetMs",
    call: (ms) => checkSpf({ ip: "192.0.2.1", mailFrom: "a@example.com" }, { resolver, timeBudgetMs: ms }),
  },
  {
    declared: "src/spf/check.ts:timeBudgetMs",
    path: "options.timeBudgetMs",
    call: (ms) => checkSpfHelo({ ip: "192.0.2.1", helo: "mx.example.com" }, { resolver, timeBudgetMs: ms, receiver: "mx" }),
  },
  {
    declared: "src/dns/budget.ts:timeBudgetMs",
    path: "options.timeBudgetMs",
    call: (ms) => new BudgetedResolver(resolver, { timeBudgetMs: ms }),
  },
  {
    declared: "src/dns/budget.ts:queryTimeoutMs",
    path: "options.queryTimeoutMs",
    call: (ms) => new BudgetedResolver(resolver, { queryTimeoutMs: ms }),
  },
  { declared: "src/dns/node.ts:timeoutMs", path: "options.timeoutMs", call: (ms) => new NodeResolver({ timeoutMs: ms }) },
  {
    declared: "src/dns/zone.ts:timeoutDelayMs",
    path: "options.timeoutDelayMs",
    min: 0,
    call: (ms) => new FixtureResolver([], { timeoutDelayMs: ms }),
  },
  {
    declared: "src/dns/guard.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => guardedQuery(resolver, "TXT", "example.com", { timeoutMs: ms }),
  },
  { declared: "src/dns/guard.ts:timeoutMs", path: "options.timeoutMs", call: (ms) => guardResolver(resolver, { timeoutMs: ms }) },
  {
    declared: "src/dns/guard.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => discoverTlsRpt("example.com", resolver, { timeoutMs: ms }),
  },
  {
    declared: "src/dns/guard.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => discoverStsRecord("example.com", resolver, { timeoutMs: ms }),
  },
  {
    declared: "src/dmarc/report.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => verifyReportDestination("example.com", "mailto:r@example.org", { resolver, timeoutMs: ms }),
  },
  {
    declared: "src/mtasts/fetch.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => fetchStsPolicy("example.com", { fetch: failedFetch, timeoutMs: ms }),
  },
  {
    declared: "src/mtasts/client.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => new MtaSts({ resolver, fetch: failedFetch, timeoutMs: ms }),
  },
  {
    declared: "src/mtasts/client.ts:storeTimeoutMs",
    path: "options.storeTimeoutMs",
    call: (ms) => new MtaSts({ resolver, fetch: failedFetch, storeTimeoutMs: ms }),
  },
  {
    declared: "src/tlsrpt/submit.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => submitTlsReport({ report: REPORT, policyDomain: "example.com", rua: [], transports: {}, timeoutMs: ms }),
  },
  { declared: "src/tlsrpt/submit.ts:timeoutMs", path: "options.timeoutMs", call: (ms) => createNodeReportPoster({ timeoutMs: ms }) },
  {
    declared: "src/ratelimit/limiter.ts:timeoutMs",
    path: "options.timeoutMs",
    max: 60_000, // RATE_LIMIT_BOUNDS.maxTimeoutMs
    call: (ms) => new RateLimiter({ capacity: 10, refillPerSecond: 1, timeoutMs: ms }),
  },
  {
    declared: "src/ratelimit/redis.ts:socketTimeoutMs",
    path: "options.socketTimeoutMs",
    min: 100,
    max: 600_000,
    call: (ms) => ioredisOptions({ socketTimeoutMs: ms }),
  },
  {
    declared: "src/store/redis.ts:timeoutMs",
    path: "options.timeoutMs",
    call: (ms) => openRedisStore({ client: { call: async () => null } as never, timeoutMs: ms }),
  },
  // On Node before 22.13 an accepted value ends in StoreError "unsupported-runtime": options are checked first.
  {
    declared: "src/store/sqlite.ts:busyTimeoutMs",
    path: "options.busyTimeoutMs",
    min: 0,
    call: (ms) => openSqliteStore(":memory:", { busyTimeoutMs: ms }).then((s) => s.close()),
  },
  ...(["transportTimeoutMs", "checkTimeoutMs"] as const).flatMap((key): Site[] => [
    {
      declared: `src/report/reporter.ts:${key}`,
      path: `options.${key}`,
      call: (ms) =>
        new AggregateReporter({
          store: new MemoryStateStore(),
          identity: IDENTITY,
          resolver,
          transport: async () => {},
          leaseMs: 2 ** 32, // longer than any transportTimeoutMs, as required
          [key]: ms,
        }),
    },
    {
      declared: `src/report/failure.ts:${key}`,
      path: `options.${key}`,
      call: (ms) => new FailureReporter({ identity: IDENTITY, resolver, transport: async () => {}, [key]: ms }),
    },
  ]),
  ...(["idleTimeoutMs", "handshakeTimeoutMs", "refusalGraceMs"] as const).map(
    (key): Site => ({
      declared: `examples/smtp-server.ts:${key}`,
      path: `options.${key}`,
      call: async (ms) => (await startSmtpServer({ hostname: "mx.example.org", log: () => undefined, [key]: ms })).close(),
    }),
  ),
  {
    declared: "examples/smtp-server-package.ts:progressTimeoutMs",
    path: "options.progressTimeoutMs",
    call: (ms) =>
      createAuthenticatingServer({
        authservId: "mx.example.org",
        localDomains: ["example.org"],
        store: () => undefined,
        log: () => undefined,
        progressTimeoutMs: ms,
      }),
  },
];

/** Millisecond options that never become a timer, and why. */
const NOT_TIMERS: Record<string, string> = {
  "src/store/types.ts:ttlMs": "a stored value's expiry: compared with the clock (memory, SQLite) or Redis PX, no timer",
  "src/report/reporter.ts:leaseMs": "a store TTL (the period's lease), compared with the clock",
  "src/mtasts/client.ts:retryAfterFailureMs": "a store TTL (failed-fetch back-off)",
};

/** Every file under `dir` ending in .ts. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => relative(ROOT, join(ROOT, dir, f)).replaceAll("\\", "/"));
}
const FILES = [...sources("src"), ...sources("examples")];

async function outcome(site: Site, ms: number): Promise<unknown> {
  try {
    await site.call(ms);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe("millisecond options that become timers", () => {
  const refused = (min: number, max: number) => [max + 1, 2 ** 31, 1e15, Number.POSITIVE_INFINITY, Number.NaN, 1.5, min - 1, -1];

  it.each(SITES.map((s, i) => [`${s.declared} (#${i})`, s] as const))("%s: refused past the limit, taken up to it", async (_, site) => {
    const min = site.min ?? 1;
    const max = site.max ?? MAX_TIMER_MS;
    for (const ms of refused(min, max)) {
      const err = await outcome(site, ms);
      expect(err, `${site.path} = ${ms}`).toBeInstanceOf(OptionsError);
      expect((err as OptionsError).path, `${site.path} = ${ms}`).toBe(site.path);
      expect((err as OptionsError).message, `${site.path} = ${ms}`).toContain(String(max));
    }
    for (const ms of [min, max]) {
      const err = await outcome(site, ms);
      expect(err instanceof OptionsError ? err.message : undefined, `${site.path} = ${ms}`).toBeUndefined();
    }
  });

  it("every optional millisecond option declared in src/ and examples/ is walked above or is not a timer", () => {
    const declared = new Set<string>();
    for (const file of FILES)
      for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(/\b(\w+Ms)\?: ?number\b/g)) declared.add(`${file}:${m[1]}`);
    const walked = new Set(SITES.map((s) => s.declared));
    expect([...declared].filter((d) => !walked.has(d) && !(d in NOT_TIMERS))).toEqual([]);
    // and the lists name nothing that is gone
    expect([...walked, ...Object.keys(NOT_TIMERS)].filter((d) => !declared.has(d))).toEqual([]);
  });

  it("no zod schema takes a millisecond key as a plain number (they use timerMs / timerMsOrZero)", () => {
    const plain: string[] = [];
    for (const file of FILES)
      for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(/\b(\w+Ms): ?(positiveInt|nonNegativeInt|positive\b|z\.number\(\))/g))
        if (!(`${file}:${m[1]}` in NOT_TIMERS)) plain.push(`${file}:${m[1]}`);
    expect(plain).toEqual([]);
  });

  it("every file that arms a timer is one whose delays come from the options walked above (or fixed)", () => {
    const arming = FILES.filter((f) =>
      /\bsetTimeout\(|AbortSignal\.timeout\(|\bsetInterval\(|busy_timeout|\.setTimeout\(/.test(readFileSync(join(ROOT, f), "utf8")),
    ).sort();
    expect(arming).toEqual(
      [
        "examples/dmarc-reports.ts", // a fixed 5 min setInterval, in its usage comment
        "examples/smtp-server-package.ts", // progressTimeoutMs
        "examples/smtp-server.ts", // idleTimeoutMs, handshakeTimeoutMs, refusalGraceMs
        "src/cli/report.ts", // a fixed 120 s kill of a child process
        "src/dmarc/report.ts", // timeoutMs
        "src/dns/deadlines.ts", // DNS deadlines (timeoutMs, timeBudgetMs, queryTimeoutMs...): re-armed past 2^31-1 as well
        "src/dns/node.ts", // timeoutMs
        "src/dns/zone.ts", // timeoutDelayMs
        "src/mtasts/cache.ts", // storeTimeoutMs
        "src/mtasts/fetch.ts", // timeoutMs
        "src/ratelimit/limiter.ts", // timeoutMs (at most 60 s)
        "src/report/reporter.ts", // transportTimeoutMs, checkTimeoutMs (FailureReporter's too, via withDeadline and startDestinationChecks)
        "src/store/redis.ts", // timeoutMs
        "src/store/sqlite.ts", // busyTimeoutMs
        "src/tlsrpt/submit.ts", // timeoutMs
      ].sort(),
    );
  });
});
