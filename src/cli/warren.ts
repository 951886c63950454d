#!/usr/bin/env -S node --max-semi-space-size=2
import { Command, Option } from "commander";
import { loadOptions } from "../config/config-file.js";
import { OptionError, settings, type Options } from "../config/options.js";
import { Warren } from "../warren.js";
import { warrenVersion } from "../version.js";

const program = new Command("warren").description("Warren: a RabbitMQ-compatible AMQP 0-9-1 message broker").version(warrenVersion());
/** Commander's name for each flag's value (--config is "config"), and the setting it sets. */
const settingOf = new Map<string, keyof Options>();
for (const s of settings) {
  // A true/false setting given alone means true (`--in-memory`); `--management false` still works.
  const placeholder = s.kind === "int" ? "<n>" : s.kind === "bool" ? "[true|false]" : "<value>";
  const shownDefault = s.default === Infinity ? "infinity" : JSON.stringify(s.default);
  const option = new Option(`${s.flag} ${placeholder}`, `${s.description} [env ${s.env}] (default: ${shownDefault})`);
  program.addOption(option);
  settingOf.set(option.attributeName(), s.key);
}
program.parse();

let options: Options;
try {
  const given = program.opts<Record<string, string | true | undefined>>();
  const flags: Partial<Record<keyof Options, string>> = {};
  for (const [name, key] of settingOf) {
    const value = given[name];
    if (value !== undefined) flags[key] = value === true ? "true" : value;
  }
  options = loadOptions(flags, process.env);
} catch (err) {
  if (err instanceof OptionError) {
    console.error(`warren: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const warren = new Warren(options);
let started = false;
let stopRequested = false;
let stopping = false;
/** SIGINT, SIGTERM and `warrenctl stop` all end here; one that comes while starting stops the broker once it has started. */
function shutdown(): void {
  if (!started) {
    stopRequested = true;
    return;
  }
  if (stopping) return;
  stopping = true;
  void warren.stop().then(() => process.exit(0));
}
warren.onStopRequest = shutdown;
// Handled before the broker starts: as a container's PID 1, a signal with no handler is dropped by
// the kernel, so a `docker stop` during startup would otherwise be lost (and end in SIGKILL).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, shutdown);
try {
  await warren.start();
} catch (err) {
  warren.log.fatal({ err }, "could not start");
  console.error(`warren: could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
started = true;
if (stopRequested) shutdown();
