/**
 * Crash safety of the real process: SIGKILL under confirmed and transactional publishing, then a
 * restart on the same data folder, for a few kill points (test/crash/campaign.ts; the long run is
 * `npm run crash -- --rounds 50`, the same campaign). Every round must confirm something into the
 * queue nobody consumes, and every confirmed message must come back exactly once, intact.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crashPlan, runCrashCampaign } from "./crash/campaign.js";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : randomInt(2 ** 31);
const mainJs = join(dirname(fileURLToPath(import.meta.url)), "crash", "main.js");

it(`every confirmed message survives SIGKILL at a random moment (${ROUNDS} rounds)`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (repeat with CRASH_SEED=${SEED}, or npm run crash -- --seed ${SEED})`);
  const result = await runCrashCampaign({
    rounds: ROUNDS,
    seed: SEED,
    log: (line) => {
      // Confirms and kills per round always show; the rest on demand.
      if (line.includes("SIGKILL:")) t.diagnostic(line);
      else if (process.env.CRASH_DEBUG) console.error(line);
    },
  });
  assert.equal(result.rounds.length, ROUNDS);
  for (const round of result.rounds) assert.ok(round.confirmedVerified > 0, `round ${round.round} confirmed nothing`);
  assert.ok(result.verified >= result.rounds.reduce((n, r) => n + r.confirmedVerified, 0), "fewer messages verified than confirmed");
});

it("npm run crash prints the seed, each round's plan and its confirms, and the seed replays the plan", { timeout: 60_000 }, async () => {
  const seed = 424242;
  const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
    // Without NODE_TEST_CONTEXT: main.js runs its campaign only outside the test runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [mainJs, "--rounds", "1", "--seed", String(seed)], { stdio: ["ignore", "pipe", "inherit"], env });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), 50_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, new RegExp(`seed ${seed} \\(repeat with --seed ${seed}\\)`));
  const plan = crashPlan(seed, 1)[0]!;
  assert.match(run.out, new RegExp(`round 0: plan: SIGKILL ${plan.delayMs} ms after confirm ${plan.confirms} on crash-verified`));
  const confirmed = /round 0: SIGKILL: confirmed (\d+) on crash-verified/.exec(run.out);
  assert.ok(confirmed && Number(confirmed[1]) >= plan.confirms, run.out);
  assert.match(run.out, /round 1: recovered \d+ messages, \d+ of them confirmed; no confirmed message lost/);
  assert.match(run.out, /^ok: 1 kills, \d+ confirmed messages verified/m);
});
