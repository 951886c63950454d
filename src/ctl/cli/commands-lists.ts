/** warrenctl's list commands for the broker's contents: queues, exchanges, bindings, connections, channels, consumers. */
import { listingLines } from "./format.js";
import { INFO_KEYS, parseInfoKeys, type ListCommand } from "../info-keys.js";
import type { Listing } from "../protocol.js";
import { errorOutcome, EXIT, type CommandSpec, type GlobalOptions, type HelpSection, type ValidationFailure } from "./command.js";

/** Columns given on the command line, checked against the command's list. */
export function validateColumns(command: ListCommand, args: string[]): ValidationFailure | undefined {
  const parsed = parseInfoKeys(command, args);
  if ("unsupported" in parsed) return { message: `Info key(s) ${parsed.unsupported.join(",")} are not supported`, exitCode: EXIT.usage };
  return undefined;
}

/** "must be one of ..." for `help <command>`. */
function columnsHelp(command: ListCommand): [string, string] {
  return ["<column>", `must be one of ${[...INFO_KEYS[command].all].sort().join(", ")}`];
}

function listCommand(
  name: Exclude<ListCommand, "list_vhosts">,
  section: HelpSection,
  description: string,
  usage: string,
  banner: (opts: GlobalOptions) => string | string[],
  vhostScoped: boolean,
): CommandSpec {
  return {
    name,
    section,
    description,
    usage,
    details: [columnsHelp(name)],
    timeout: true,
    validate: (args) => validateColumns(name, args),
    banner: (_args, opts) => banner(opts),
    async run(args, opts, call) {
      const r = await call(name, vhostScoped ? { vhost: opts.vhost, keys: args } : { keys: args });
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      const { keys, rows } = r.result as Listing;
      return {
        exitCode: EXIT.ok,
        stdout: listingLines(keys, rows, { json: opts.formatter === "json", headers: opts.tableHeaders && !opts.silent, streamed: true }),
      };
    },
  };
}

/** list_queues' banner names the timeout (60 seconds unless -t says otherwise). */
function queuesBanner(opts: GlobalOptions): string[] {
  const seconds = opts.timeout ?? 60;
  return [`Timeout: ${Number.isInteger(seconds) ? `${seconds}.0` : seconds} seconds ...`, `Listing queues for vhost ${opts.vhost} ...`];
}

export const listCommands: CommandSpec[] = [
  listCommand(
    "list_queues",
    "Monitoring, observability and health checks",
    "Lists queues and their properties",
    "[--vhost <vhost>] [--no-table-headers] [<column>, ...]",
    queuesBanner,
    true,
  ),
  listCommand(
    "list_exchanges",
    "Monitoring, observability and health checks",
    "Lists exchanges",
    "[--vhost <vhost>] [--no-table-headers] [<column> ...]",
    (opts) => `Listing exchanges for vhost ${opts.vhost} ...`,
    true,
  ),
  listCommand(
    "list_bindings",
    "Monitoring, observability and health checks",
    "Lists all bindings on a vhost",
    "[--vhost <vhost>] [--no-table-headers] [<column> ...]",
    (opts) => `Listing bindings for vhost ${opts.vhost}...`,
    true,
  ),
  listCommand(
    "list_connections",
    "Monitoring, observability and health checks",
    "Lists AMQP 0.9.1 connections for the node",
    "[--no-table-headers] [<column> ...]",
    () => "Listing connections ...",
    false,
  ),
  listCommand(
    "list_channels",
    "Monitoring, observability and health checks",
    "Lists all channels in the node",
    "[--no-table-headers] [<column> ...]",
    () => "Listing channels ...",
    false,
  ),
  listCommand(
    "list_consumers",
    "Monitoring, observability and health checks",
    "Lists all consumers for a vhost",
    "[--vhost <vhost>] [--no-table-headers] [<column> ...]",
    (opts) => `Listing consumers in vhost ${opts.vhost} ...`,
    true,
  ),
];
