import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * A lock file in the data folder, so a second Warren on the same folder refuses to start instead
 * of corrupting it. A lock left by a process that no longer runs is taken over.
 */
export class DataDirLock {
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, "warren.lock");
  }

  acquire(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, "wx");
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const pid = Number(readFileSync(this.path, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) {
        throw new Error(`data folder ${this.path.slice(0, -"/warren.lock".length)} is in use by another Warren (pid ${pid})`);
      }
      rmSync(this.path, { force: true }); // stale: its process is gone
    }
    throw new Error(`could not take the lock ${this.path}`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
