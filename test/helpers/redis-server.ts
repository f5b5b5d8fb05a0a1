import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { connect, createServer } from "node:net";

/** True when redis-server is installed (the tests that need it skip, saying so, when it is not). */
export const HAS_REDIS = (() => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port (the server has started). */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not start on port ${port}`);
}

/**
 * A throwaway redis-server on a free loopback port (no persistence) that a test can break the way
 * production does: kill -9, SIGSTOP/SIGCONT, and start again on the same port.
 */
export class RedisProcess {
  port = 0;
  #child: ChildProcess | undefined;

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    this.#child = child;
    await waitForPort(this.port);
    return this;
  }

  /** kill -9 and wait until the process is gone. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await gone;
  }

  stop(): void {
    this.#child?.kill("SIGSTOP");
  }

  cont(): void {
    this.#child?.kill("SIGCONT");
  }

  /** For afterAll: continue (if stopped) and kill. */
  async dispose(): Promise<void> {
    this.cont();
    await this.kill9();
  }
}

/** True when redis-server is installed. */
export function hasRedisServer(): boolean {
  return HAS_REDIS;
}

/** Starts a throwaway redis-server on a free port (no persistence); stop() kills it. */
export async function startRedisServer(): Promise<{ port: number; url: string; stop: () => void }> {
  const server = await new RedisProcess().start();
  return { port: server.port, url: `redis://127.0.0.1:${server.port}`, stop: () => void server.dispose() };
}
