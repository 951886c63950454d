/**
 * warrenctl's logic: parse a command line as rabbitmqctl does, check it, print the banner, ask
 * the broker over the control socket, and turn the answer into output and an exit code. The
 * binary (src/cli/warrenctl.ts) runs it on the process's streams; tests run it in-process.
 */
import { hostname } from "node:os";
import { Command, CommanderError } from "commander";
import { request, RequestTimeoutError, resolveSocketPath, UnreachableError } from "./client.js";
import { EXIT, type CliIo, type CommandSpec, type GlobalOptions, type Outcome } from "./command.js";
import { accessCommands } from "./commands-access.js";
import { limitCommands } from "./commands-limits.js";
import { listCommands } from "./commands-lists.js";
import { nodeCommands } from "./commands-node.js";
import { policyCommands } from "./commands-policies.js";
import { allHelp, commandHelp, commandUsage, suggest } from "./help.js";
import { warrenVersion } from "../../version.js";

const helpCommand: CommandSpec = {
  name: "help",
  section: "Help",
  description: "Displays usage information for a command",
  usage: "[<command>]",
  validate: () => undefined,
  run: async ([name], _opts, _call, _node, io) => {
    const spec = COMMANDS.find((c) => c.name === name);
    if (name !== undefined && spec === undefined) return notFound(name);
    return { exitCode: EXIT.ok, raw: spec === undefined ? allHelp(COMMANDS, io.tty) : commandHelp(spec, io.tty) };
  },
};

const versionCommand: CommandSpec = {
  name: "version",
  section: "Help",
  description: "Displays CLI tools version",
  usage: "",
  validate: () => undefined,
  run: async () => ({ exitCode: EXIT.ok, stdout: [warrenVersion()] }),
};

const COMMANDS: CommandSpec[] = [helpCommand, versionCommand, ...accessCommands, ...limitCommands, ...policyCommands, ...listCommands, ...nodeCommands];

/** The node name, as the broker computes it (both run on this machine). */
const NODE = `warren@${hostname()}`;

function notFound(name: string): Outcome {
  const suggestion = suggest(name, COMMANDS);
  const text =
    suggestion !== undefined
      ? `\nCommand '${name}' not found. \nDid you mean '${suggestion}'? \n`
      : `\nCommand '${name}' not found. \n${allHelp(COMMANDS, false)}`;
  return { exitCode: EXIT.usage, stderr: text };
}

function validationError(message: string, exitCode: number, argv: string[], spec: CommandSpec | undefined): Outcome {
  const usage = spec === undefined ? "" : `\n\nUsage\n\n${commandUsage(spec)}`;
  return { exitCode, stderr: `Error (argument validation): ${message}\nArguments given:\n\t${argv.join(" ")}${usage}` };
}

/** The command named on the command line: the first argument that is not an option or its value. */
function commandIn(argv: string[]): CommandSpec | undefined {
  const valued = new Set(["-n", "--node", "-t", "--timeout", "-p", "--vhost", "--formatter"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.has(a)) i++;
    else if (!a.startsWith("-")) return COMMANDS.find((c) => c.name === a);
  }
  return undefined;
}

function globalOptions(o: Record<string, unknown>): GlobalOptions | string {
  const formatter = (o.formatter as string | undefined) ?? "table";
  if (formatter !== "table" && formatter !== "json") return "the requested formatter is not supported by this command";
  let timeout: number | undefined;
  if (o.timeout !== undefined) {
    timeout = Number(o.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) return `--timeout must be a number of seconds, got '${String(o.timeout)}'`;
  }
  const known = new Set(["node", "quiet", "silent", "timeout", "formatter", "tableHeaders", "vhost", "longnames"]);
  const extra = Object.fromEntries(Object.entries(o).filter(([k]) => !known.has(k)));
  return {
    node: o.node as string | undefined,
    quiet: o.quiet === true,
    silent: o.silent === true,
    timeout,
    formatter,
    tableHeaders: o.tableHeaders !== false,
    vhost: (o.vhost as string | undefined) ?? "/",
    extra,
  };
}

function unreachable(err: UnreachableError, spec: CommandSpec, opts: GlobalOptions): Outcome {
  if (spec.name === "stop" && opts.extra.idempotent === true) return { exitCode: EXIT.ok, stdout: [`Node ${NODE} is no longer running`] };
  return {
    exitCode: EXIT.unavailable,
    stderr: [
      `Error: unable to perform an operation on node '${NODE}'. Please see diagnostics information and suggestions below.`,
      "",
      "Most common reasons for this are:",
      "",
      " * Target node is not running",
      " * Target node uses another data folder: pass it with --node <data folder> or set WARREN_DATA_DIR",
      " * This user cannot open the control socket (only the user Warren runs as can)",
      "",
      "DIAGNOSTICS",
      "===========",
      "",
      `attempted to contact: ${err.socketPath} (${err.code})`,
    ].join("\n"),
  };
}

async function execute(spec: CommandSpec, args: string[], opts: GlobalOptions, argv: string[], io: CliIo): Promise<Outcome> {
  const failure = spec.validate(args, opts);
  if (failure !== undefined) return validationError(failure.message, failure.exitCode, argv, spec);
  const banner = opts.quiet || opts.silent || opts.formatter === "json" ? undefined : spec.banner?.(args, opts, NODE);
  if (banner !== undefined) io.write([banner].flat().join("\n") + "\n");
  const socket = resolveSocketPath(opts.node, io.env);
  const timeoutMs = (opts.timeout ?? 60) * 1000;
  try {
    return await spec.run(args, opts, (command, body) => request(socket, { command, args: body }, timeoutMs, command === "stop"), NODE, io);
  } catch (err) {
    if (err instanceof UnreachableError) return unreachable(err, spec, opts);
    if (err instanceof RequestTimeoutError) {
      return { exitCode: EXIT.tempfail, stderr: `Error: operation ${spec.name} on node ${NODE} timed out. Timeout value used: ${timeoutMs}` };
    }
    throw err;
  }
}

/** Run warrenctl with these arguments; resolves with what to print after the banner, and the exit code. */
export async function runWarrenctl(argv: string[], io: CliIo): Promise<Outcome> {
  if (argv.length === 0) return { exitCode: EXIT.usage, stderr: allHelp(COMMANDS, false) };
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-?")) return { exitCode: EXIT.ok, raw: allHelp(COMMANDS, io.tty) };
  if (argv.length === 1 && argv[0] === "--version") argv = ["version"];
  const named = commandIn(argv);
  if (named !== undefined && (argv.includes("--help") || argv.includes("-?"))) return { exitCode: EXIT.ok, raw: commandHelp(named, io.tty) };

  let outcome: Promise<Outcome> | undefined;
  const program = new Command("warrenctl")
    .option("-n, --node <node>")
    .option("-q, --quiet")
    .option("-s, --silent")
    .option("-t, --timeout <seconds>")
    .option("-l, --longnames")
    .option("-p, --vhost <vhost>")
    .option("--formatter <formatter>")
    .option("--no-table-headers")
    .helpOption(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const spec of COMMANDS) {
    const sub = program.command(spec.name).argument("[args...]").helpOption(false).exitOverride();
    sub.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    for (const o of spec.options ?? []) sub.option(o.flags, o.description);
    sub.action((args: string[], _local: unknown, cmd: Command) => {
      const opts = globalOptions(cmd.optsWithGlobals());
      outcome = typeof opts === "string" ? Promise.resolve(validationError(opts, EXIT.usage, argv, spec)) : execute(spec, args, opts, argv, io);
    });
  }
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === "commander.unknownCommand" || err.code === "commander.excessArguments") {
      const name = argv.find((a) => !a.startsWith("-")) ?? "";
      return notFound(name);
    }
    if (err.code === "commander.unknownOption") {
      const option = /'([^']+)'/.exec(err.message)?.[1] ?? err.message;
      return validationError(`Invalid options for this command:\n${option} : `, EXIT.usage, argv, named);
    }
    return validationError(err.message.replace(/^error: /, ""), EXIT.usage, argv, named);
  }
  if (outcome === undefined) return { exitCode: EXIT.usage, stderr: allHelp(COMMANDS, false) };
  return outcome;
}

/** An outcome as the text written to stdout (after the banner) and stderr. */
export function render(outcome: Outcome): { stdout: string; stderr: string } {
  const lines = outcome.stdout !== undefined && outcome.stdout.length > 0 ? outcome.stdout.join("\n") + "\n" : "";
  return { stdout: lines + (outcome.raw ?? ""), stderr: outcome.stderr !== undefined ? outcome.stderr + "\n" : "" };
}
