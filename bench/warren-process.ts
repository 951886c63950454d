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
  /** Arguments for node itself, before the script (--cpu-prof, ...). */
  nodeArgs?: string[];
}

/** Start Warren with a fresh temporary data folder; resolves once it logs `amqp.listening`. */
export async function startWarrenProcess(options: WarrenProcessOptions = {}): Promise<WarrenProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "warren-bench-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), warrenBin, "--host", "127.0.0.1", "--port", "0", "--management-port", "0", "--data-dir", dataDir, ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("warren did not start within 15 s")), 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`warren exited with ${code}`));
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.event === "amqp.listening" && typeof entry.port === "number") {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  }).catch((error: unknown) => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  child.removeAllListeners("exit");
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
