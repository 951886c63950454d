/**
 * The garbage collector's share of a process's CPU time during given windows, from a V8 CPU
 * profile (`node --cpu-prof`). V8 stamps samples with the monotonic clock in µs, the clock
 * warren-perf reports its measured window on (`windowUs`), so one profile of a broker that ran
 * several loads can be cut into one figure per load.
 */
import { readFileSync } from "node:fs";

/** A V8 .cpuprofile, the parts the bench tools read. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A window on the monotonic clock, µs. */
export interface Window {
  start: number;
  end: number;
}

export interface GcShare {
  /** Length of the window, seconds. */
  seconds: number;
  /** Sampled time the process was not idle, seconds. */
  busySeconds: number;
  /** Sampled time in "(garbage collector)", seconds. */
  gcSeconds: number;
  /** gcSeconds / busySeconds, percent: the collector's share of the CPU time. */
  gcPctOfBusy: number;
}

/** GC and busy time of the profiled process in each window (undefined: no samples in it). */
export function gcShares(profilePath: string, windows: readonly Window[]): Array<GcShare | undefined> {
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as CpuProfile;
  const kind = new Map<number, "gc" | "idle" | "busy">();
  for (const n of profile.nodes) {
    const name = n.callFrame.functionName;
    kind.set(n.id, name === "(garbage collector)" ? "gc" : name === "(idle)" ? "idle" : "busy");
  }
  const sums = windows.map(() => ({ busy: 0, gc: 0, any: false }));
  // Sample i is taken at startTime + timeDeltas[0..i] and stands for the time until the next one
  // (as cpuprofile-top.ts counts it).
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const k = kind.get(profile.samples[i]!);
    windows.forEach((w, j) => {
      if (t < w.start || t >= w.end) return;
      const s = sums[j]!;
      s.any = true;
      if (k === "idle") return;
      s.busy += us;
      if (k === "gc") s.gc += us;
    });
  }
  return windows.map((w, j) => {
    const s = sums[j]!;
    if (!s.any) return undefined;
    return {
      seconds: (w.end - w.start) / 1e6,
      busySeconds: s.busy / 1e6,
      gcSeconds: s.gc / 1e6,
      gcPctOfBusy: s.busy > 0 ? (s.gc / s.busy) * 100 : 0,
    };
  });
}
