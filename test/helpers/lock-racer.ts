/**
 * One contender in the lock race of test/data-dir.test.ts: waits until the agreed moment, takes
 * the data folder's lock, prints "won" (holding it a while, as a running Warren would) or why not.
 * Usage: node lock-racer.js <data folder> <start time, ms since the epoch>
 */
import { DataDirLock } from "../../src/store/data-dir-lock.js";

const [dataDir, startAt] = process.argv.slice(2);
// `node --test dist/test/` loads every file under it, this one too: without arguments, do nothing.
if (dataDir !== undefined && startAt !== undefined) race(dataDir, Number(startAt));

function race(dir: string, at: number): void {
  const lock = new DataDirLock(dir);
  while (Date.now() < at) {
    // spin: every contender starts at the same moment
  }
  try {
    lock.acquire();
    process.stdout.write("won\n");
    setTimeout(() => lock.release(), 1500);
  } catch (err) {
    process.stdout.write(`${(err as Error).message}\n`);
  }
}
