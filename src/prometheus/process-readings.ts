import { readdirSync, readFileSync, statfsSync } from "node:fs";

/**
 * What the operating system says about this process and its disk, read once per scrape (a few
 * system calls; nothing is cached between scrapes). Linux's /proc; elsewhere undefined, and the
 * metric is left out rather than made up.
 */

/** Open file descriptors (sockets, segment files, the listeners). */
export function openFds(): number | undefined {
  try {
    // readdir itself holds one descriptor open on the folder while it lists it.
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return undefined;
  }
}

/** The soft limit on open file descriptors (ulimit -n). */
export function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    return soft === "unlimited" ? Infinity : Number(soft);
  } catch {
    return undefined;
  }
}

/** Bytes free for an unprivileged user on the disk that holds `dir`. */
export function diskFree(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}
