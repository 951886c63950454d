/**
 * The long power-loss campaign: `npm run power-loss -- --minutes 10 [--seed N]`; the I/O fault
 * campaign: `npm run power-loss -- --faults --minutes 5 [--seed N]`; or recover a saved failing
 * image again: `npm run power-loss -- --replay DIR`. Prints the seed first.
 */
import { Command, InvalidArgumentError } from "commander";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replayFailure, runPowerLossCampaign } from "./campaign.js";
import { runFaultCampaign } from "./io-faults.js";

function positive(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0`);
    return n;
  };
}

async function main(): Promise<void> {
  const o = new Command("power-loss")
    .description("Cut the power of an in-process Warren at random file operations (or fail its I/O) and check every confirmed message comes back")
    .option("--minutes <n>", "how long to run", positive("minutes"), 5)
    .option("--seed <n>", "seed for the workload and the crash choices (random when absent)", positive("seed"))
    .option("--faults", "run the I/O fault campaign instead", false)
    .option("--replay <dir>", "recover a failing image saved by an earlier run, and check it again")
    .parse()
    .opts<{ minutes: number; seed?: number; faults: boolean; replay?: string }>();

  if (o.replay !== undefined) {
    await replayFailure(o.replay);
    console.log(`replayed ${o.replay}: the image recovers as expected now`);
    return;
  }
  const seed = o.seed ?? randomInt(2 ** 31);
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(0);
  if (o.faults) {
    console.log(`I/O fault campaign, seed ${seed} (repeat with --faults --seed ${seed})`);
    const dataDir = mkdtempSync(join(tmpdir(), "warren-io-faults-"));
    try {
      const r = await runFaultCampaign({ seed, budgetMs: o.minutes * 60_000, dataDir });
      console.log(
        `${r.rounds} rounds (${r.fired} with the fault fired): ${r.confirmed} confirms and ${r.nacked} nacks, every confirmed message recovered, in ${seconds()} s`,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return;
  }
  console.log(`seed ${seed} (repeat with --seed ${seed})`);
  const result = await runPowerLossCampaign({ seed, budgetMs: o.minutes * 60_000, log: (line) => console.log(line) });
  console.log(
    `${result.images} crash images in ${result.chains} chains (${result.generations} generations) recovered and checked, ` +
      `${result.verified} confirmed messages verified, in ${seconds()} s`,
  );
}

// node --test runs every file under dist/test; this one is a program, not a test.
if (process.env.NODE_TEST_CONTEXT === undefined) {
  await main();
  process.exit(0);
}
