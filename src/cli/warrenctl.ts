#!/usr/bin/env node
/**
 * warrenctl: rabbitmqctl for Warren. Same commands, flags, output and exit codes, talking to a
 * running Warren over the control socket in its data folder (docs/cli.md).
 */
import { readFileSync, readSync } from "node:fs";
import { render, runWarrenctl } from "../ctl/cli/cli.js";

/** One line of stdin, read a byte at a time so that nothing after it is consumed (and a terminal answers at Enter). */
function readLine(): string | undefined {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue;
      break; // no standard input
    }
    if (n === 0) break;
    if (one[0] === 0x0a) return Buffer.from(bytes).toString("utf8");
    bytes.push(one[0]!);
  }
  return bytes.length === 0 ? undefined : Buffer.from(bytes).toString("utf8");
}

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
  readLine,
  write: (text) => process.stdout.write(text),
});
const { stdout, stderr } = render(outcome);
if (stdout !== "") process.stdout.write(stdout);
if (stderr !== "") process.stderr.write(stderr);
process.exitCode = outcome.exitCode;
