import type { DnsAnswer, MxRecord, RecordType, Resolver } from "../../src/dns/index.js";

/**
 * A resolver that answers in round trips, with no clock: the queries sent while the code under test
 * runs are held; when it has nothing left to do but wait, all of them are answered at once (one
 * round trip) and it runs on. `rounds` is then the length of the DNS critical path: how many
 * sequential round trips the evaluation needed, whatever the delay of one would be.
 */
export class RoundTripResolver implements Resolver {
  readonly #inner: Resolver;
  #held: Array<() => void> = [];
  rounds = 0;
  /** Every query sent, in order: "TXT name". */
  readonly sent: string[] = [];
  /** Names (as "TYPE name") whose query fails, as a SERVFAIL would. */
  readonly failing = new Set<string>();

  constructor(inner: Resolver) {
    this.#inner = inner;
  }

  #hold<T>(type: RecordType, name: string, answer: () => Promise<DnsAnswer<T>>): Promise<DnsAnswer<T>> {
    this.sent.push(`${type} ${name}`);
    const fails = this.failing.has(`${type} ${name}`);
    return new Promise((resolve) => {
      this.#held.push(() => {
        if (fails) resolve({ kind: "error", reason: "SERVFAIL" });
        else void answer().then(resolve);
      });
    });
  }

  txt(name: string) {
    return this.#hold("TXT", name, () => this.#inner.txt(name));
  }
  a(name: string) {
    return this.#hold("A", name, () => this.#inner.a(name));
  }
  aaaa(name: string) {
    return this.#hold("AAAA", name, () => this.#inner.aaaa(name));
  }
  mx(name: string): Promise<DnsAnswer<MxRecord[]>> {
    return this.#hold("MX", name, () => this.#inner.mx(name));
  }
  ptr(ip: string) {
    return this.#hold("PTR", ip, () => this.#inner.ptr(ip));
  }

  /** Runs `work` to the end, answering the held queries a round at a time. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let done = false;
    const p = work().finally(() => {
      done = true;
    });
    while (!done) {
      // Let everything that can run without an answer run (promise jobs, then immediates).
      for (let i = 0; i < 5 && !done; i++) await new Promise((r) => setImmediate(r));
      if (done) break;
      const held = this.#held;
      this.#held = [];
      if (held.length > 0) this.rounds++;
      for (const answer of held) answer();
    }
    // Queries sent ahead and never used may still be held: answer them so nothing hangs.
    for (const answer of this.#held.splice(0)) answer();
    return p;
  }
}
