/**
 * Starts a real Warren process for a test file, or points at an external broker.
 *
 * The choice is explicit. `startBroker()` with no options means "any broker": the one AMQP_URL
 * names (for example amqp://guest:guest@127.0.0.1:5673/, RabbitMQ included) when it is set, else a
 * Warren of the test file's own on a free port with its data in a temporary folder.
 * `startBroker({ forceLocal: true, ... })` always starts a Warren, whatever AMQP_URL says: tests
 * that pass flags, environment or a data folder, read the broker's logs, kill or restart it, or
 * check Warren-only behaviour. Passing `args`, `env` or `dataDir` without `forceLocal` throws: such
 * a test would otherwise silently test AMQP_URL's broker instead of the Warren it configured.
 * Every start prints one "broker: ..." line on stderr ("# broker: ..." in the test runner's
 * output), so a test log, CI's included, shows which broker each test file talked to.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { stopProcess, waitForListening } from "../../bench/warren-process.js";
import { BROKER_NODE_FLAGS } from "../../src/cli/node-flags.js";
import { runCommand, type CommandResult } from "./run-command.js";

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
  /** The management HTTP API's base URL (http://127.0.0.1:PORT), when started with `management: true`. */
  managementUrl?: string;
  /** The Prometheus listener's base URL (http://127.0.0.1:PORT), when started with `prometheus: true`. */
  prometheusUrl?: string;
  /** True when the tests run against a broker they did not start (AMQP_URL). */
  external: boolean;
  /** The Warren process, when the test started one. */
  process?: ChildProcess;
  dataDir?: string;
  /**
   * Log lines (parsed JSON) the broker has written so far. Reading them on an external broker
   * throws (an empty list would let "no such line" assertions pass without looking).
   */
  readonly logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra command-line flags for warren (needs forceLocal). */
  args?: string[];
  /** Reuse a data folder (restart tests); a fresh temporary one otherwise (needs forceLocal). */
  dataDir?: string;
  /** Ignore AMQP_URL and always start a Warren (tests of Warren-only behaviour). */
  forceLocal?: boolean;
  /** Extra environment for warren (needs forceLocal). */
  env?: Record<string, string>;
  /**
   * Run the management HTTP API, on a free port (needs forceLocal). Off otherwise, so that test
   * brokers never take port 15672 and start without loading it.
   */
  management?: boolean;
  /**
   * Run the Prometheus metrics listener, on a free port (needs forceLocal). Off otherwise, so that
   * test brokers never take port 15692.
   */
  prometheus?: boolean;
}

/** The external broker's URL (AMQP_URL) that `startBroker()` without forceLocal uses, if any. */
export function externalBrokerUrl(): string | undefined {
  return process.env.AMQP_URL || undefined;
}

/** Say which broker a test file talks to, where a test log (and CI's) shows it. */
function announce(text: string): void {
  process.stderr.write(`broker: ${text}\n`);
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

/**
 * Start a broker for this test file: a local Warren, or AMQP_URL's broker when the test accepts
 * any broker (no options). See the module comment for the rules.
 */
export async function startBroker(options: StartOptions = {}): Promise<BrokerHandle> {
  const configured = (["args", "dataDir", "env", "management", "prometheus"] as const).filter((key) => options[key] !== undefined);
  if (configured.length > 0 && !options.forceLocal) {
    throw new Error(
      `startBroker: ${configured.join(", ")} configure a Warren this test starts, so pass forceLocal: true ` +
        "(a local Warren, AMQP_URL ignored); or pass none of them to run against any broker (AMQP_URL when set). " +
        "Without forceLocal the test would silently talk to AMQP_URL's broker, which never saw these options.",
    );
  }
  const external = externalBrokerUrl();
  if (external && !options.forceLocal) {
    const u = new URL(external);
    announce(`external AMQP_URL ${redacted(external)}`);
    return {
      url: external,
      host: u.hostname,
      port: Number(u.port || 5672),
      external: true,
      get logs(): Array<Record<string, unknown>> {
        throw new Error("broker.logs: this test talks to AMQP_URL's broker, whose logs it cannot read; start it with forceLocal: true");
      },
      stop: async () => {},
    };
  }
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "warren-test-"));
  const ownsDataDir = options.dataDir === undefined;
  const child = spawn(
    process.execPath,
    [
      ...BROKER_NODE_FLAGS,
      warrenBin,
      ...["--host", "127.0.0.1", "--port", "0", "--management-port", "0", "--management", options.management ? "true" : "false"],
      ...["--management-host", "127.0.0.1", "--prometheus-port", "0", "--prometheus", options.prometheus ? "true" : "false", "--prometheus-host", "127.0.0.1"],
      ...["--data-dir", dataDir, "--log-level", "debug", ...(options.args ?? [])],
    ],
    // stderr is piped, not inherited: a broker that outlives this file must not hold the test
    // runner's pipe open, or the runner waits for it after its summary.
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } },
  );
  child.stderr!.pipe(process.stderr);
  dieWithThisFile(child);
  const logs: Array<Record<string, unknown>> = [];
  let tlsPort: number | undefined;
  let managementPort: number | undefined;
  let prometheusPort: number | undefined;
  const port = await waitForListening(child.stdout!, {
    exited: new Promise((resolve) => child.once("exit", resolve)),
    timeoutMs: 15_000,
    what: "warren",
    onEntry: (entry) => {
      logs.push(entry);
      if (entry.event === "amqps.listening" && typeof entry.port === "number") tlsPort = entry.port;
      if (entry.event === "management.listening" && typeof entry.port === "number") managementPort = entry.port;
      if (entry.event === "prometheus.listening" && typeof entry.port === "number") prometheusPort = entry.port;
    },
  });
  announce(`local Warren pid ${child.pid} on 127.0.0.1:${port}, data ${dataDir}${external ? " (forceLocal: AMQP_URL ignored)" : ""}`);
  const handle: BrokerHandle = {
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    host: "127.0.0.1",
    port,
    tlsPort,
    managementUrl: managementPort === undefined ? undefined : `http://127.0.0.1:${managementPort}`,
    prometheusUrl: prometheusPort === undefined ? undefined : `http://127.0.0.1:${prometheusPort}`,
    external: false,
    process: child,
    dataDir,
    logs,
    stop: async () => {
      await stopProcess(child);
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

const liveBrokers = new Set<ChildProcess>();

/**
 * Make sure `child` does not outlive this test file. A file that ends normally stops its brokers in
 * its after hooks; one that the runner kills (`--test-timeout` ends a file with SIGTERM) or that
 * exits early would otherwise leave them running, holding ports and memory until the machine
 * restarts.
 */
function dieWithThisFile(child: ChildProcess): void {
  if (!killOnExitInstalled) installKillOnExit();
  liveBrokers.add(child);
  child.once("exit", () => liveBrokers.delete(child));
}

let killOnExitInstalled = false;

function installKillOnExit(): void {
  killOnExitInstalled = true;
  const killAll = (): void => {
    for (const child of liveBrokers) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      killAll();
      // Die of the signal, as without this handler.
      process.kill(process.pid, signal);
    });
  }
}

/** Kill a Warren the test started with SIGKILL (a crash, not a stop) and wait until it has gone. */
export async function killBroker(broker: BrokerHandle): Promise<void> {
  const child = broker.process;
  if (child === undefined) throw new Error("killBroker: this broker was not started by the test");
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
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
export function runPython(script: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return runCommand(python, [join(here, "..", "..", "..", "test", "python", script), ...args], { timeoutMs });
}
