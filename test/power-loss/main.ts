/**
 * The long power-loss campaign: `npm run power-loss -- --minutes 10 [--seed N]`; the I/O fault
 * campaign: `npm run power-loss -- --faults --minutes 5 [--seed N]`; or recover a saved failing
 * image again: `npm run power-loss -- --replay DIR`.
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayFailure, runPowerLossCampaign } from "./campaign.js";
import { runFaultCampaign } from "./io-faults.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seed: { type: "string" },
    replay: { type: "string" },
    faults: { type: "boolean", default: false },
  },
});

if (values.replay !== undefined) {
  await replayFailure(values.replay);
  console.log(`replayed ${values.replay}: the image recovers as expected now`);
} else if (values.faults) {
  const seed = values.seed !== undefined ? Number(values.seed) : randomInt(2 ** 31);
  console.log(`I/O fault campaign, seed ${seed} (repeat with --faults --seed ${seed})`);
  const dataDir = mkdtempSync(join(tmpdir(), "warren-io-faults-"));
  try {
    const r = await runFaultCampaign({ seed, budgetMs: Number(values.minutes) * 60_000, dataDir });
    console.log(`${r.rounds} rounds (${r.fired} with the fault fired): ${r.confirmed} confirms and ${r.nacked} nacks, every confirmed message recovered`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
} else {
  const seed = values.seed !== undefined ? Number(values.seed) : randomInt(2 ** 31);
  console.log(`seed ${seed} (repeat with --seed ${seed})`);
  const started = Date.now();
  const result = await runPowerLossCampaign({
    seed,
    budgetMs: Number(values.minutes) * 60_000,
    log: (line) => console.log(line),
  });
  console.log(
    `${result.images} crash images in ${result.chains} chains (${result.generations} generations) recovered and checked, ` +
      `${result.verified} confirmed messages verified, in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
process.exit(0);
