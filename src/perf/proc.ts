/**
 * What warren-perf reads about processes from /proc (Linux): CPU time, resident memory, and which
 * process listens on a TCP port (the broker under test). Every function returns undefined where
 * /proc cannot tell (another OS, a process of another user, a broker on another machine).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep 100, the value on every Linux this runs on
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process, bytes (VmRSS). */
export function rssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine, seconds summed over all cores (/proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = f[3]! + f[4]!;
    return { busy: (total - idle) / clockTicks, total: total / clockTicks };
  } catch {
    return undefined;
  }
}

/** The pid of the process holding a listening TCP socket on this port (root sees every process). */
export function listeningPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // 0A: LISTEN
      if (parseInt(f[1]!.split(":")[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return Number(entry);
    }
  }
  return undefined;
}

/**
 * CPU use of a set of processes and of the machine between two instants: start() then stop()
 * gives each one's share in percent of one core, plus what everything else on the machine used.
 */
export class CpuMeter {
  private t0 = 0;
  private readonly start0: Array<number | undefined>;
  private machine0: { busy: number; total: number } | undefined;

  constructor(private readonly pids: Array<number | undefined>) {
    this.start0 = pids.map(() => undefined);
  }

  start(): void {
    this.t0 = performance.now();
    this.pids.forEach((pid, i) => (this.start0[i] = cpuSeconds(pid)));
    this.machine0 = machineCpuSeconds();
  }

  /** Percent of one core for each pid (undefined where unreadable), and for the rest of the machine. */
  stop(): { pct: Array<number | undefined>; otherPct: number | undefined; cores: number | undefined } {
    const wall = (performance.now() - this.t0) / 1000;
    const pct = this.pids.map((pid, i) => {
      const a = this.start0[i];
      const b = cpuSeconds(pid);
      return a === undefined || b === undefined || wall <= 0 ? undefined : round1(((b - a) / wall) * 100);
    });
    const m1 = machineCpuSeconds();
    let otherPct: number | undefined;
    let cores: number | undefined;
    if (this.machine0 && m1 && wall > 0) {
      const busyPct = ((m1.busy - this.machine0.busy) / wall) * 100;
      const ours = pct.reduce<number>((a, b) => a + (b ?? 0), 0);
      otherPct = round1(Math.max(0, busyPct - ours));
      cores = Math.round((m1.total - this.machine0.total) / wall);
    }
    return { pct, otherPct, cores };
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
