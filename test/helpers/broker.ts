/**
 * Starts a real Warren process for a test file, or points at an external broker.
 *
 * Set AMQP_URL (for example amqp://guest:guest@127.0.0.1:5672/) to run the client tests against
 * any broker, RabbitMQ included; otherwise each test file gets its own Warren on a free port with
 * its data in a temporary folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/warren.js, seen from dist/test/helpers. */
export const warrenBin = join(here, "..", "..", "src", "cli", "warren.js");

export interface BrokerHandle {
  /** amqp:// URL with guest credentials and the default vhost. */
  url: string;
  host: string;
  port: number;
  /** The AMQPS port, when the broker was started with TLS (an `amqps.listening` line). */
  tlsPort?: number;
  /** True when the tests run against a broker they did not start (AMQP_URL). */
  external: boolean;
  /** The Warren process, when the test started one. */
  process?: ChildProcess;
  dataDir?: string;
  /** Log lines (parsed JSON) the broker has written so far. */
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra command-line flags for warren. */
  args?: string[];
  /** Reuse a data folder (restart tests); a fresh temporary one otherwise. */
  dataDir?: string;
  /** Ignore AMQP_URL and always start a Warren (tests of Warren-only behaviour). */
  forceLocal?: boolean;
  env?: Record<string, string>;
}

/** Start a broker for this test file (or use AMQP_URL). */
export async function startBroker(options: StartOptions = {}): Promise<BrokerHandle> {
  const external = process.env.AMQP_URL;
  if (external && !options.forceLocal) {
    const u = new URL(external);
    return {
      url: external,
      host: u.hostname,
      port: Number(u.port || 5672),
      external: true,
      logs: [],
      stop: async () => {},
    };
  }
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "warren-test-"));
  const ownsDataDir = options.dataDir === undefined;
  const child = spawn(
    process.execPath,
    [warrenBin, "--host", "127.0.0.1", "--port", "0", "--management-port", "0", "--data-dir", dataDir,
      "--log-level", "debug", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...options.env } },
  );
  const logs: Array<Record<string, unknown>> = [];
  let tlsPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("warren did not start within 15 s")), 15_000);
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`warren exited with ${code}`)); });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      logs.push(entry);
      // Warren logs amqps.listening (when TLS is on) before amqp.listening, its "ready" line.
      if (entry.event === "amqps.listening" && typeof entry.port === "number") tlsPort = entry.port;
      if (entry.event === "amqp.listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
  child.removeAllListeners("exit");
  const handle: BrokerHandle = {
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    host: "127.0.0.1",
    port,
    tlsPort,
    external: false,
    process: child,
    dataDir,
    logs,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * The first log line of `event` that `match` accepts, waiting (bounded) for it: log lines come
 * through the broker's stdout pipe, which can be behind the frames a client has already seen.
 */
export async function waitForLog(
  broker: BrokerHandle,
  event: string,
  match: (line: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = broker.logs.find((l) => l.event === event && match(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${event} log line within 2 s`);
}

/** Debian's python3 (where python3-pika lives), not a pyenv shim that lacks it. */
export const python = process.env.WARREN_TEST_PYTHON ?? "/usr/bin/python3";

/** Run a Python script from test/python with the broker URL as its first argument. */
export function runPython(script: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const path = join(here, "..", "..", "..", "test", "python", script);
  return new Promise((resolve) => {
    const child = spawn(python, [path, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
