import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { FILE_MODE } from "./store-fs.js";

/**
 * A lock file in the data folder, so a second Warren on the same folder refuses to start instead
 * of corrupting it. A lock left by a process that no longer runs is taken over.
 *
 * Every step is atomic, so two Warrens starting at once cannot both win:
 * - the lock appears with its pid already in it (written to a private file, then hard-linked
 *   to warren.lock, which fails when the lock exists);
 * - a stale lock (its pid is gone) is replaced only by the process that creates
 *   `warren.lock.takeover-<stale pid>` (hard-linked from a private file holding its pid, so one
 *   process only, and never seen empty), which checks that the lock still names that pid and then
 *   renames a fresh lock over it.
 */
export class DataDirLock {
  private readonly path: string;
  private readonly dataDir: string;
  private held = false;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.path = join(dataDir, "warren.lock");
  }

  acquire(): void {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (this.create()) return;
      const holder = this.holder();
      if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
        throw new Error(`data folder ${this.dataDir} is in use by another Warren (pid ${holder})`);
      }
      if (this.takeOver(holder)) return;
      sleep(20); // another process is taking over right now: look again once it is done
    }
    throw new Error(`could not take the lock ${this.path}`);
  }

  /** Create the lock when there is none; false when one exists. */
  private create(): boolean {
    const mine = this.writeFresh();
    try {
      linkSync(mine, this.path);
      this.held = true;
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      return false;
    } finally {
      rmSync(mine, { force: true });
    }
  }

  /** Replace a stale lock naming `holder`; false when another process is doing it or did it. */
  private takeOver(holder: number | undefined): boolean {
    const takeover = `${this.path}.takeover-${holder ?? "unreadable"}`;
    // Like the lock, the takeover file appears with its pid already in it: created empty and then
    // written, another process could read it empty in between, take its owner for dead, delete
    // it and take over too, and two Warrens held the folder (seen once under load).
    const mine = `${takeover}.${process.pid}.new`;
    rmSync(mine, { force: true });
    writeExclusive(mine, `${process.pid}\n`);
    try {
      linkSync(mine, takeover);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Left by a process that died while taking over: clear it, and try again. Only when it names
      // a dead process: unreadable means its owner has just removed it, and another process may
      // already have created the next one, which deleting would let a third create too (two
      // Warrens held the folder under load).
      const owner = readPid(takeover);
      if (owner !== undefined && !isRunning(owner)) rmSync(takeover, { force: true });
      return false;
    } finally {
      rmSync(mine, { force: true });
    }
    try {
      if (this.holder() !== holder) return false; // taken over already: look again
      renameSync(this.writeFresh(), this.path);
      this.held = true;
      return true;
    } finally {
      rmSync(takeover, { force: true });
    }
  }

  /** A private file holding our pid, ready to become the lock. */
  private writeFresh(): string {
    const fresh = `${this.path}.${process.pid}.new`;
    rmSync(fresh, { force: true });
    writeExclusive(fresh, `${process.pid}\n`);
    return fresh;
  }

  /** The pid in the lock file; undefined when it has none or cannot be read. */
  private holder(): number | undefined {
    return readPid(this.path);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.holder() === process.pid) rmSync(this.path, { force: true });
  }
}

function writeExclusive(path: string, text: string): void {
  const fd = openSync(path, "wx", FILE_MODE);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
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

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
