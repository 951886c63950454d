/**
 * The benchmarks' Warren: a process started from dist/ on a free loopback port. The benchmarks
 * keep their own launcher rather than the tests' (test/helpers/broker.ts), so a change to the
 * test helpers cannot change what a benchmark measures (and `npm run check:deps` forbids bench/
 * importing test/).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BROKER_NODE_FLAGS } from "../src/cli/node-flags.js";

/** dist/src/cli/warren.js, seen from dist/bench. */
export const warrenBin = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "warren.js");

export interface WarrenProcess {
  /** amqp:// URL with guest credentials and the default vhost. */
  url: string;
  pid: number;
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the data folder. */
  stop(): Promise<void>;
}

export interface WarrenProcessOptions {
  /** Extra command-line flags for warren. */
  args?: string[];
  /** Arguments for node itself, before the script (--cpu-prof, ...), after BROKER_NODE_FLAGS. */
  nodeArgs?: string[];
}

/** Start Warren with a fresh temporary data folder; resolves once it logs `amqp.listening`. */
export async function startWarrenProcess(options: WarrenProcessOptions = {}): Promise<WarrenProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...BROKER_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      warrenBin,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--management-port",
      "0",
      "--prometheus-port",
      "0",
      "--data-dir",
      dataDir,
      ...(options.args ?? []),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const port = await waitForListening(child.stdout!, { exited, timeoutMs: 15_000, what: "warren" }).catch((error: unknown) => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    pid: child.pid!,
    stop: async () => {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stop a Warren process: SIGTERM, SIGKILL if it has not exited after `graceMs`; resolves once it has. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ListeningWait {
  /** Settles when the process writing the log exits: before `amqp.listening`, that is a failure. */
  exited: Promise<number | null>;
  timeoutMs: number;
  /** Names the process in errors ("warren", "warren under strace"). */
  what: string;
  /** Every JSON log line, as it comes (also after the port is known). */
  onEntry?: (entry: Record<string, unknown>) => void;
}

/**
 * Read a Warren's JSON log lines from `stdout` until its `amqp.listening` line (the "ready" line,
 * logged after `amqps.listening` when TLS is on); resolves with the AMQP port.
 */
export function waitForListening(stdout: NodeJS.ReadableStream, wait: ListeningWait): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${wait.what} did not start within ${wait.timeoutMs / 1000} s`)), wait.timeoutMs);
    void wait.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${wait.what} exited with ${code} before listening`));
    });
    createInterface({ input: stdout }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      wait.onEntry?.(entry);
      if (entry.event === "amqp.listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
}
