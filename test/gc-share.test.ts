/**
 * bench/gc-share.ts: the garbage collector's share of a CPU profile cut into windows on the
 * monotonic clock (what bench:compare reports for scenarios 1 and 2). A profile written here by
 * hand, so every figure is known; and one from a real `node --cpu-prof` run.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gcShares } from "../bench/gc-share.js";

function withDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "warren-gc-share-test-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("gc-share", () => {
  it("counts GC and busy samples only inside each window; idle is not busy", () => {
    withDir((dir) => {
      const node = (id: number, functionName: string) => ({ id, callFrame: { functionName, url: "", lineNumber: 0, columnNumber: 0 } });
      // Samples every 1,000 µs from t = 1,000,000: work, gc, idle, work | gc, gc, idle, idle.
      const samples = [2, 3, 4, 2, 3, 3, 4, 4];
      const profile = {
        nodes: [node(1, "(root)"), node(2, "deliver"), node(3, "(garbage collector)"), node(4, "(idle)")],
        startTime: 999_000,
        endTime: 1_008_000,
        samples,
        timeDeltas: samples.map(() => 1000),
      };
      const path = join(dir, "p.cpuprofile");
      writeFileSync(path, JSON.stringify(profile));
      const [first, second, none] = gcShares(path, [
        { start: 1_000_000, end: 1_004_000 },
        { start: 1_004_000, end: 1_008_000 },
        { start: 2_000_000, end: 2_001_000 },
      ]);
      // The last sample has no next delta: it stands for no time.
      assert.deepEqual(first, { seconds: 0.004, busySeconds: 0.003, gcSeconds: 0.001, gcPctOfBusy: (1 / 3) * 100 });
      assert.deepEqual(second, { seconds: 0.004, busySeconds: 0.002, gcSeconds: 0.002, gcPctOfBusy: 100 });
      assert.equal(none, undefined, "a window with no samples has no figure");
    });
  });

  it("reads a real node --cpu-prof profile, whose clock is process.hrtime's", () => {
    withDir((dir) => {
      // Allocate a lot, so the collector runs; print the window on the monotonic clock.
      const script = `const t0 = process.hrtime.bigint() / 1000n; let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 1e5) keep = []; } console.log(String(t0), String(process.hrtime.bigint() / 1000n));`;
      const out = execFileSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, "-e", script], { encoding: "utf8" });
      const [start, end] = out.trim().split(" ").map(Number) as [number, number];
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!;
      const [share] = gcShares(join(dir, file), [{ start, end }]);
      assert.ok(share, "samples inside the window: the profile and process.hrtime share a clock");
      assert.ok(share.busySeconds > 0 && share.busySeconds <= share.seconds * 1.1, JSON.stringify(share));
      assert.ok(share.gcSeconds > 0 && share.gcPctOfBusy < 100, JSON.stringify(share));
    });
  });
});
