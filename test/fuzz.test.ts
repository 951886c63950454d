/**
 * The fuzz harness (test/fuzz) for a bounded time: each target a few seconds, about 30 s in all,
 * with a fresh random seed each run (FUZZ_SEED fixes it). A failure prints its seed, the minimal
 * case and the command that replays it; `npm run fuzz -- --minutes N` fuzzes longer. The last
 * tests check the harness's own time budget on a machine that stalls.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { randomSeed, targets } from "./fuzz/runner.js";
import { BLOCK_LIMIT_MS, assertFastCase, type TimedStep } from "./fuzz/target.js";
import { runAssemblerCase, type AssemblerCase } from "./fuzz/targets/content-assembler.js";

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

/**
 * Holds the thread past the time budget, as a step that loops would: busy for that much CPU time
 * (the budget is checked on CPU time too, so a wall-clock wait that other processes preempt would
 * not count).
 */
function stall(): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 > BLOCK_LIMIT_MS + 20) return;
  }
}

/** A loaded machine: the step named `stalledStep` is held past the budget in the first `runs` runs of its case. */
class StallingMachine {
  stalls = 0;
  constructor(
    private readonly stalledStep: string,
    private readonly runs: number,
  ) {}

  wrap(timed: TimedStep): TimedStep {
    return (what, step) =>
      timed(what, () => {
        step();
        if (what === this.stalledStep && this.stalls < this.runs) {
          this.stalls++;
          stall();
        }
      });
  }
}

const HEADER_PROPERTIES = Uint8Array.from(Buffer.from("ec4e1399dd124bc4077d", "hex"));

/**
 * The content-assembler target failed for seed 1515022519 ("step 1 (publish): expected 505, got
 * ok"; in a full-suite run "step 5 (header): expected 406, got 505", a header of size 2^63) and
 * passed on replay: the time check ran a slow step a second time on the same assembler, which
 * after the first run's error was back to expecting a method. Here the step is held past the
 * budget on purpose, in the cases as reported.
 */
const STALLED_CASES: Array<{ stalledStep: string; c: AssemblerCase }> = [
  {
    stalledStep: "step 1 (publish)",
    c: {
      maxSize: 366,
      steps: [
        { kind: "publish" },
        { kind: "publish" },
        { kind: "body", bytes: Uint8Array.from(Buffer.from("2e2680909eb9bdb6a4", "hex")) },
        { kind: "body", bytes: Uint8Array.from(Buffer.from("13ee73", "hex")) },
        { kind: "body", bytes: Uint8Array.from(Buffer.from("19953e59812d", "hex")) },
        { kind: "publish" },
        { kind: "body", bytes: Uint8Array.from(Buffer.from("46b6d5c2e3df7ad2e7a1", "hex")) },
        { kind: "header", classId: 60, size: 61, properties: HEADER_PROPERTIES, truncateTo: 14 },
      ],
    },
  },
  {
    stalledStep: "step 5 (header)",
    c: {
      maxSize: 366,
      steps: [
        ...Array.from({ length: 5 }, () => ({ kind: "publish" }) as const),
        { kind: "header", classId: 60, size: 2 ** 63, properties: HEADER_PROPERTIES },
        { kind: "publish" },
      ],
    },
  },
];

for (const { stalledStep, c } of STALLED_CASES) {
  it(`content-assembler, seed 1515022519: ${stalledStep} held past the time budget once is timed again, not fed twice to the assembler`, () => {
    const machine = new StallingMachine(stalledStep, 1);
    assertFastCase((timed) => runAssemblerCase(c, machine.wrap(timed)));
    assert.equal(machine.stalls, 1, "the stall happened");
  });
}

it("a step over the time budget in every run of its case fails, naming the step", () => {
  const { stalledStep, c } = STALLED_CASES[0]!;
  const machine = new StallingMachine(stalledStep, 3);
  assert.throws(() => assertFastCase((timed) => runAssemblerCase(c, machine.wrap(timed))), {
    message: `step 1 (publish) held the event loop over ${BLOCK_LIMIT_MS} ms, in three runs of the case`,
  });
  assert.equal(machine.stalls, 3);
});
