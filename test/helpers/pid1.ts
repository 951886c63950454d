/**
 * Runs a command as PID 1 of a new PID namespace (util-linux `unshare`), the way a container
 * runtime runs an image's entrypoint. PID 1 is special: the kernel drops a signal sent to it for
 * which it has no handler, so a broker that does not handle SIGTERM itself ignores `docker stop`
 * until the SIGKILL. Needs the privilege to create a PID namespace (root here, as in CI).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

/** Why a PID namespace cannot be made here, or undefined when it can. */
export function pid1Unavailable(): string | undefined {
  const probe = spawnSync("unshare", ["--pid", "--fork", "--kill-child", "sh", "-c", "echo $$"], { encoding: "utf8", timeout: 10_000 });
  if (probe.error !== undefined) return `unshare cannot run: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare --pid failed (${probe.stderr.trim() || `exit ${probe.status}`})`;
  if (probe.stdout.trim() !== "1") return `the command did not run as PID 1 (it saw pid ${probe.stdout.trim()})`;
  return undefined;
}

/** A command running as PID 1 of its own namespace. */
export interface Pid1Process {
  /** The `unshare` process: its stdio are the command's, it exits with the command's status. */
  wrapper: ChildProcess;
  /** The command's pid as this process sees it: signals sent here reach PID 1 of the namespace. */
  pid: number;
}

/** The children of `pid`, from /proc (the children file, or every process's parent when it is missing). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
}

/** Start `command args` as PID 1 of a new PID namespace; it is SIGKILLed if the wrapper dies. */
export async function spawnAsPid1(command: string, args: string[], options: SpawnOptions): Promise<Pid1Process> {
  const wrapper = spawn("unshare", ["--pid", "--fork", "--kill-child", command, ...args], options);
  for (let i = 0; i < 500; i++) {
    const [pid] = childrenOf(wrapper.pid!);
    if (pid !== undefined) return { wrapper, pid };
    if (wrapper.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  wrapper.kill("SIGKILL");
  throw new Error(`unshare started no child within 5 s (exit ${wrapper.exitCode})`);
}
