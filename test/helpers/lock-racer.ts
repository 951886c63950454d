/**
 * One contender in the lock race of test/data-dir.test.ts: waits until the agreed moment, takes
 * the data folder's lock, prints "won" (holding it a while, as a running Warren would) or why not.
 * Usage: node lock-racer.js <data folder> <start time, ms since the epoch>
 */
import { DataDirLock } from "../../src/store/data-dir-lock.js";

const [dataDir, startAt] = process.argv.slice(2);
const lock = new DataDirLock(dataDir!);
while (Date.now() < Number(startAt)) {
  // spin: every contender starts at the same moment
}
try {
  lock.acquire();
  process.stdout.write("won\n");
  setTimeout(() => lock.release(), 1500);
} catch (err) {
  process.stdout.write(`${(err as Error).message}\n`);
}
