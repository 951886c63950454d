/**
 * Durability under simulated power loss and I/O faults (test/power-loss/): a Warren in this process
 * on a simulated disk, crash images taken at thousands of random file operations, each recovered
 * and checked; then rounds of injected EIO/ENOSPC. Bounded by POWER_LOSS_MS (default 25 s) and
 * IO_FAULTS_MS (default 8 s); the long runs are `npm run power-loss -- --minutes N [--faults]`.
 * A failure prints its seed and saves the failing image for `npm run power-loss -- --replay DIR`.
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { runPowerLossCampaign } from "./power-loss/campaign.js";
import { runFaultCampaign } from "./power-loss/io-faults.js";

const seed = process.env.POWER_LOSS_SEED !== undefined ? Number(process.env.POWER_LOSS_SEED) : randomInt(2 ** 31);

it("every confirmed or committed message survives a power loss at random file operations", { timeout: 180_000 }, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with POWER_LOSS_SEED=${seed}, or npm run power-loss -- --seed ${seed})`);
  const result = await runPowerLossCampaign({ seed, budgetMs: Number(process.env.POWER_LOSS_MS ?? 25_000) });
  t.diagnostic(`${result.images} crash images in ${result.chains} chains (${result.generations} generations), ${result.verified} confirmed messages verified`);
  // A campaign that took few images proves little: on this machine a run takes well over 1000.
  assert.ok(result.images >= 300, `only ${result.images} crash images were checked`);
});

it("I/O errors: nacks and the disk alarm, and nothing confirmed lost across a restart", { timeout: 120_000 }, async (t) => {
  t.diagnostic(`seed ${seed} (repeat with POWER_LOSS_SEED=${seed}, or npm run power-loss -- --faults --seed ${seed})`);
  const dataDir = mkdtempSync(join(tmpdir(), "warren-io-faults-"));
  try {
    const result = await runFaultCampaign({ seed, budgetMs: Number(process.env.IO_FAULTS_MS ?? 8_000), minRounds: 10, dataDir });
    t.diagnostic(`${result.rounds} rounds, ${result.fired} with the fault fired: ${result.confirmed} confirms, ${result.nacked} nacks`);
    assert.ok(result.fired >= 5, `the fault fired in only ${result.fired} rounds`);
    assert.ok(result.nacked > 0, "no publish was ever nacked");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
