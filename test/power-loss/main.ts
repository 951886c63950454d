/**
 * The long power-loss campaign: `npm run power-loss -- --minutes 10 [--seed N]`, or recover a saved
 * failing image again: `npm run power-loss -- --replay DIR`.
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { replayFailure, runPowerLossCampaign } from "./campaign.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seed: { type: "string" },
    replay: { type: "string" },
  },
});

if (values.replay !== undefined) {
  await replayFailure(values.replay);
  console.log(`replayed ${values.replay}: the image recovers as expected now`);
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
