/**
 * `npm run fuzz -- [--minutes N] [--seed S [--path P]] [--target NAME[,NAME]] [--spawn]`
 *
 * Runs the fuzz targets for N minutes in all (default 1), the session target getting three
 * shares of the time and each other target one. Every failure prints its seed, its minimal case
 * and the command that replays it; the exit code is 1 if anything failed.
 */
import { Command, InvalidArgumentError } from "commander";
import { randomSeed, targets } from "./runner.js";

function number(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number`);
    return n;
  };
}

async function main(): Promise<void> {
  const program = new Command("fuzz")
    .description("fuzz Warren's wire decoders and whole sessions (test/fuzz)")
    .option("--minutes <n>", "total time to fuzz, shared by the targets", number("minutes"), 1)
    .option("--seed <n>", "fast-check seed (random when absent)", number("seed"))
    .option("--path <path>", "replay exactly the case at this path (needs --seed)")
    .option("--target <names>", `comma-separated targets: ${targets.map((t) => t.name).join(", ")}`)
    .option("--spawn", "session target: fuzz a spawned warren process instead of an in-process broker", false)
    .option("--shrink-seconds <n>", "time allowed to shrink a failure", number("shrink-seconds"), 60)
    .parse();
  const o = program.opts<{ minutes: number; seed?: number; path?: string; target?: string; spawn: boolean; shrinkSeconds: number }>();
  const names = o.target?.split(",").map((s) => s.trim()) ?? targets.map((t) => t.name);
  const chosen = names.map((name) => {
    const target = targets.find((t) => t.name === name);
    if (!target) program.error(`unknown target ${name}; targets: ${targets.map((t) => t.name).join(", ")}`);
    return target!;
  });
  if (o.path !== undefined && o.seed === undefined) program.error("--path needs the --seed it was found with");
  const share = (name: string) => (name === "session" ? 3 : 1);
  const shares = chosen.reduce((sum, t) => sum + share(t.name), 0);
  const seed = o.seed ?? randomSeed();
  let failures = 0;
  for (const target of chosen) {
    const result = await target.run({
      seed,
      path: o.path,
      searchMs: (o.minutes * 60_000 * share(target.name)) / shares,
      shrinkMs: o.shrinkSeconds * 1000,
      spawn: o.spawn,
      log: (line) => console.log(line),
    });
    if (result.failed) {
      failures++;
      console.log(result.report);
    } else {
      console.log(`[${target.name}] ok: ${result.cases} cases, seed ${result.seed}`);
    }
  }
  process.exitCode = failures > 0 ? 1 : 0;
}

// node --test runs every file under dist/test; this one is a program, not a test.
if (process.env.NODE_TEST_CONTEXT === undefined) {
  await main();
}
