/** warrenctl's policy and operator policy commands, with rabbitmqctl 3.10's texts and exit codes. */
import {
  arity,
  EXIT,
  failureOutcome,
  listingRun,
  requestRun,
  type CommandSpec,
  type FailureOutcome,
  type GlobalOptions,
  type ValidationFailure,
} from "./command.js";

/** A missing vhost: no "Error:", exit 65. Other refusals: "Error:\n...", exit 69. */
const vhostFailure: FailureOutcome = (f, opts, node, args) =>
  f.error.reason === "no_such_vhost" ? { exitCode: EXIT.dataerr, stderr: f.error.message } : failureOutcome(f, opts, node, args);

/** --priority as given ("0" when not), which the banner quotes. */
function priorityOf(opts: GlobalOptions): string {
  return typeof opts.extra.priority === "string" ? opts.extra.priority : "0";
}

/** rabbitmqctl takes --priority as an integer; anything else is an invalid option. */
function checkPriority(opts: GlobalOptions): ValidationFailure | undefined {
  const p = opts.extra.priority;
  if (p === undefined || (typeof p === "string" && /^[+-]?\d+$/.test(p))) return undefined;
  return { message: `Invalid options for this command:\n--priority : ${String(p)}`, exitCode: EXIT.usage };
}

const SET_DETAILS: Array<[string, string]> = [
  ["<name>", "policy name (identifier)"],
  ["<pattern>", "regular expression pattern that will be used to match queues, exchanges, etc"],
  ["<definition>", "policy definition (arguments). Must be a valid JSON document"],
  ["--priority <priority>", "policy priority"],
  ["--apply-to <queues | exchanges | all>", "policy should only apply to queues, exchanges, or all entities (both of the above)"],
];

const SET_OPTIONS = [
  { flags: "--priority <priority>", description: "policy priority" },
  { flags: "--apply-to <apply-to>", description: "queues, exchanges or all" },
];

function setCommand(name: "set_policy" | "set_operator_policy", description: string, what: string): CommandSpec {
  return {
    name,
    section: "Virtual hosts",
    description,
    usage: "[--vhost <vhost>] [--priority <priority>] [--apply-to <apply-to>] <name> <pattern> <definition>",
    details: SET_DETAILS,
    options: SET_OPTIONS,
    validate: (args, opts) => arity(args, 3) ?? checkPriority(opts),
    banner: ([policy, pattern, definition], opts) =>
      `Setting ${what} "${policy}" for pattern "${pattern}" to "${definition}" with priority "${priorityOf(opts)}" for vhost "${opts.vhost}" ...`,
    run: requestRun(
      name,
      ([policy, pattern, definition], opts) => ({
        vhost: opts.vhost,
        name: policy,
        pattern,
        definition,
        priority: Number.parseInt(priorityOf(opts), 10),
        applyTo: typeof opts.extra.applyTo === "string" ? opts.extra.applyTo : "all",
      }),
      vhostFailure,
    ),
  };
}

function clearCommand(name: "clear_policy" | "clear_operator_policy", description: string, what: string): CommandSpec {
  return {
    name,
    section: "Virtual hosts",
    description,
    usage: "[--vhost <vhost>] <name>",
    details: [["<name>", what === "policy" ? "Name of policy to clear (remove)" : "policy name (identifier)"]],
    validate: (args) => arity(args, 1),
    banner: ([policy], opts) => `Clearing ${what} "${policy}" on vhost "${opts.vhost}" ...`,
    run: requestRun(name, ([policy], opts) => ({ vhost: opts.vhost, name: policy })),
  };
}

function listCommand(name: "list_policies" | "list_operator_policies", description: string, what: string): CommandSpec {
  return {
    name,
    section: "Virtual hosts",
    description,
    usage: "[--vhost <vhost>] [--no-table-headers]",
    timeout: true,
    validate: (args) => arity(args, 0),
    banner: (_args, opts) => `Listing ${what} for vhost "${opts.vhost}" ...`,
    run: listingRun(name, (_args, opts) => ({ vhost: opts.vhost }), vhostFailure),
  };
}

export const policyCommands: CommandSpec[] = [
  setCommand("set_policy", "Sets or updates a policy", "policy"),
  clearCommand("clear_policy", "Clears (removes) a policy", "policy"),
  listCommand("list_policies", "Lists all policies in a virtual host", "policies"),
  setCommand("set_operator_policy", "Sets an operator policy that overrides a subset of arguments in user policies", "operator policy override"),
  clearCommand("clear_operator_policy", "Clears an operator policy", "operator policy"),
  listCommand("list_operator_policies", "Lists operator policy overrides for a virtual host", "operator policy overrides"),
];
