/**
 * Crash safety: publishers with confirms on several channels, the broker killed with SIGKILL at a
 * random moment, then restarted. Every confirmed message must be back exactly once (or marked
 * redelivered), none corrupted, and nothing acked before the crash may come back unless marked
 * redelivered. Repeated for several kill points on one data folder (test/crash/campaign.ts; the
 * long run is `npm run crash -- --rounds 50`).
 */
import { it } from "node:test";
import { randomInt } from "node:crypto";
import { runCrashCampaign } from "./crash/campaign.js";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : randomInt(2 ** 31);

it(`every confirmed message survives SIGKILL at a random moment (${ROUNDS} rounds)`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (repeat with CRASH_SEED=${SEED}, or npm run crash -- --seed ${SEED})`);
  await runCrashCampaign({
    rounds: ROUNDS,
    seed: SEED,
    log: process.env.CRASH_DEBUG ? (line) => console.error(line) : undefined,
  });
});
