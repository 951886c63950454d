/**
 * `npm run crash -- [--rounds N] [--seed S]`: the SIGKILL campaign of test/crash.test.ts, for as
 * many rounds as asked (default 50), with the same checker. Prints each round's plan, confirms
 * and recovery. Prints the seed first; on Ctrl-C or a
 * failure it stops the broker it started (by its PID) and removes its data folder.
 */
import { Command, InvalidArgumentError } from "commander";
import { randomInt } from "node:crypto";
import type { BrokerHandle } from "../helpers/broker.js";
import { runCrashCampaign } from "./campaign.js";

function integer(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a whole number`);
    return n;
  };
}

async function main(): Promise<void> {
  const o = new Command("crash")
    .description("SIGKILL Warren at random moments under confirmed and transactional publishing and check every confirmed message comes back")
    .option("--rounds <n>", "kill points", integer("rounds"), 50)
    .option("--seed <n>", "seed for kill moments and bodies (random when absent)", integer("seed"))
    .parse()
    .opts<{ rounds: number; seed?: number }>();
  const seed = o.seed ?? randomInt(2 ** 31);
  console.log(`crash campaign: ${o.rounds} rounds, seed ${seed} (repeat with --seed ${seed})`);
  let current: BrokerHandle | undefined;
  const interrupted = () => {
    // Only the broker this run started, by its PID.
    const pid = current?.process?.pid;
    if (pid !== undefined && current?.process?.exitCode === null) process.kill(pid, "SIGKILL");
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const started = Date.now();
  try {
    const result = await runCrashCampaign({
      rounds: o.rounds,
      seed,
      log: (line) => console.log(line),
      onBroker: (broker) => (current = broker),
    });
    const confirmed = result.rounds.map((r) => r.confirmedVerified);
    console.log(
      `ok: ${result.rounds.length} kills, ${result.verified} confirmed messages verified ` +
        `(confirmed into crash-verified per round: min ${Math.min(...confirmed)}, max ${Math.max(...confirmed)}), ` +
        `${((Date.now() - started) / 1000).toFixed(0)} s, seed ${seed}`,
    );
  } catch (err) {
    console.log(`FAILED (seed ${seed}): ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

// node --test runs every file under dist/test; this one is a program, not a test.
if (process.env.NODE_TEST_CONTEXT === undefined) {
  await main();
}
