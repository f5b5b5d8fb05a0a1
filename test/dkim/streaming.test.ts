import { describe, expect, it } from "vitest";
import { signDkim, verifyDkim } from "../../src/dkim/index.js";
import { ED_PEM, exampleResolver } from "../helpers/keys.js";

const SIZE = 100 * 1024 * 1024;
const HEADER = "From: a@example.com\r\nTo: b@example.org\r\nSubject: big\r\n\r\n";

let base = 0;
let peak = 0;
function sample(): void {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.heapUsed + m.arrayBuffers - base);
}

/**
 * The same 100 MB message, generated chunk by chunk: never held in memory whole. Memory is sampled
 * here, between chunks, since the whole pipeline runs on microtasks and a timer would never fire.
 */
async function* bigMessage(prefix = ""): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  yield enc.encode(prefix + HEADER);
  const line = "The quick brown fox jumps over the lazy dog \t 0123456789  \r\n";
  const chunk = enc.encode(line.repeat(Math.floor((64 * 1024) / line.length)));
  let n = 0;
  for (let sent = 0; sent < SIZE; sent += chunk.length) {
    if (++n % 32 === 0) sample();
    yield chunk;
  }
}

describe("streaming", () => {
  it("a 100 MB message signs and verifies with bounded memory", async () => {
    const m = process.memoryUsage();
    base = m.heapUsed + m.arrayBuffers;
    const fields = await signDkim(bigMessage(), {
      domain: "example.com",
      selector: "ed25519",
      privateKey: ED_PEM,
      canonicalization: "relaxed/relaxed",
    });
    const results = await verifyDkim(bigMessage(fields), { resolver: exampleResolver() });
    sample();
    const mb = (peak / 1024 / 1024).toFixed(1);
    console.log(`DKIM streaming: 100 MB signed and verified; peak heap+buffers growth ${mb} MB`);
    expect(results.map((r) => r.result)).toEqual(["pass"]);
    // The message is 100 MB; memory must not grow with it.
    expect(peak).toBeLessThan(48 * 1024 * 1024);
  });
});
