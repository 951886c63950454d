/**
 * Best of a few runs, in ns per operation. `prepare` (not timed) returns the timed run, which
 * returns its operation count. For tests that compare two costs on the same machine as a ratio
 * (generous, so it cannot flake), never against an absolute speed.
 */
export function timePerOp(prepare: () => () => number): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const run = prepare();
    const start = process.hrtime.bigint();
    const ops = run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / ops);
  }
  return best;
}
