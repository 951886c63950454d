#!/usr/bin/env node
/**
 * warrenctl: rabbitmqctl for Warren. Same commands, flags, output and exit codes, talking to a
 * running Warren over the control socket in its data folder (docs/cli.md).
 */
import { readFileSync } from "node:fs";
import { render, runWarrenctl } from "../ctl/cli.js";

const outcome = await runWarrenctl(process.argv.slice(2), {
  env: process.env,
  tty: process.stdout.isTTY === true,
  readStdin: () => {
    try {
      return readFileSync(0, "utf8");
    } catch {
      return ""; // no standard input (closed, or a terminal that cannot be read)
    }
  },
  write: (text) => process.stdout.write(text),
});
const { stdout, stderr } = render(outcome);
if (stdout !== "") process.stdout.write(stdout);
if (stderr !== "") process.stderr.write(stderr);
process.exitCode = outcome.exitCode;
