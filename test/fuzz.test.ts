/**
 * The fuzz harness (test/fuzz) for a bounded time: each target a few seconds, about 30 s in all,
 * with a fresh random seed each run (FUZZ_SEED fixes it). A failure prints its seed, the minimal
 * case and the command that replays it; `npm run fuzz -- --minutes N` fuzzes longer.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { randomSeed, targets } from "./fuzz/runner.js";

/** Seconds of search per target; the session target gets the most. */
const BUDGET_S: Record<string, number> = {
  "frame-reader": 3,
  "method-decoders": 4,
  "field-table": 3,
  "content-assembler": 3,
  session: 14,
};

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : randomSeed();
console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed} or npm run fuzz -- --seed ${seed})`);

for (const target of targets) {
  const seconds = BUDGET_S[target.name] ?? 3;
  it(`fuzz ${target.name} for ${seconds} s: ${target.summary}`, { timeout: (seconds + 60) * 1000 }, async (t) => {
    const result = await target.run({
      seed,
      searchMs: seconds * 1000,
      shrinkMs: 20_000,
      spawn: false,
      log: (line) => t.diagnostic(line),
    });
    t.diagnostic(`${result.cases} cases, seed ${result.seed}`);
    if (result.failed) assert.fail(result.report);
  });
}
