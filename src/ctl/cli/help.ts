/** warrenctl's help texts, laid out as rabbitmqctl's. */
import type { CommandSpec, HelpSection } from "./command.js";

const SECTIONS: HelpSection[] = [
  "Help",
  "Nodes",
  "Users",
  "Access Control",
  "Monitoring, observability and health checks",
  "Virtual hosts",
  "Configuration and Environment",
  "Queues",
  "Connections",
  "Definitions",
];

function bold(text: string, tty: boolean): string {
  return tty ? `\x1b[1m${text}\x1b[0m` : text;
}

const GENERAL_OPTIONS = `The following options are accepted by most or all commands.

short            | long          | description
-----------------|---------------|--------------------------------
-?               | --help        | displays command help
-n <node>        | --node <node> | the broker to talk to: its data folder, or its
                 |               | control socket (<data folder>/warren.sock).
                 |               | Default: $WARREN_DATA_DIR, else ./data
-l               | --longnames   | accepted for compatibility, ignored
-t               | --timeout <n> | operation timeout in seconds
-q               | --quiet       | suppress informational messages
-s               | --silent      | suppress informational messages
                                 | and table header row
-p               | --vhost       | for commands that are scoped to a virtual host,
                 |               | virtual host to use (default: /)
                 | --formatter   | alternative result formatter to use: json or table
                 | --no-table-headers | leave out the header row of tables`;

/** The one-line usage of a command. */
export function commandUsage(spec: CommandSpec): string {
  const usage = spec.usage === "" ? spec.name : `${spec.name} ${spec.usage}`;
  return `warrenctl [--node <node>] [--longnames] [--quiet] ${usage}${spec.timeout === true ? " [--timeout <timeout>]" : ""}`;
}

/** `warrenctl help <command>` / `warrenctl <command> --help`. */
export function commandHelp(spec: CommandSpec, tty: boolean): string {
  const lines = ["", bold("Usage", tty), "", commandUsage(spec), "", `${spec.description}.`.replace(/\.\.$/, "."), ""];
  if (spec.details !== undefined && spec.details.length > 0) {
    lines.push("", bold("Arguments and Options", tty), "");
    for (const [what, why] of spec.details) lines.push(what, `\t${why}`, "");
  }
  lines.push("", bold("General Options", tty), "", GENERAL_OPTIONS, "");
  return lines.join("\n");
}

/** `warrenctl help`, `warrenctl --help`, and what a wrong command gets. */
export function allHelp(commands: readonly CommandSpec[], tty: boolean): string {
  const lines = [
    "",
    bold("Usage", tty),
    "",
    "warrenctl [--node <node>] [--timeout <timeout>] [--longnames] [--quiet] <command> [<command options>]",
    "",
    "Available commands:",
    "",
  ];
  for (const section of SECTIONS) {
    const inSection = commands.filter((c) => c.section === section).sort((a, b) => a.name.localeCompare(b.name));
    if (inSection.length === 0) continue;
    lines.push(`${bold(section, tty)}:`, "");
    for (const c of inSection) lines.push(`   ${c.name.padEnd(30)}${c.description}`);
    lines.push("");
  }
  lines.push(
    "Use 'warrenctl help <command>' to learn more about a specific command",
    "",
    "warrenctl talks to a running Warren over the control socket in its data folder (docs/cli.md).",
    "",
  );
  return lines.join("\n");
}

/** The closest command name, for "Did you mean ...?" (edit distance at most 2). */
export function suggest(name: string, commands: readonly CommandSpec[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of commands) {
    const d = distance(name, c.name);
    if (d < bestDistance) [best, bestDistance] = [c.name, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
