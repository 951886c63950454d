/** warrenctl's vhost limit commands, with rabbitmqctl 3.10's texts and exit codes. */
import { arity, EXIT, failureOutcome, listingRun, requestRun, valueOutcome, type CommandSpec, type FailureOutcome } from "./command.js";

/** A missing vhost: no "Error:", exit 65, in every format. Other refusals: "Error:\n...", exit 69. */
const vhostFailure: FailureOutcome = (f, opts, node, args) =>
  f.error.reason === "no_such_vhost" ? { exitCode: EXIT.dataerr, stderr: f.error.message } : failureOutcome(f, opts, node, args);

/** list_vhost_limits --global: a vhost / limits table of the vhosts that have limits. */
const listAllLimits = listingRun("list_vhost_limits", () => ({ global: true }));

export const limitCommands: CommandSpec[] = [
  {
    name: "set_vhost_limits",
    section: "Virtual hosts",
    description: "Sets virtual host limits",
    usage: "[--vhost <vhost>] <definition>",
    details: [["<definition>", "Limit definitions, must be a valid JSON document"]],
    validate: (args) => arity(args, 1),
    banner: ([definition], opts) => `Setting vhost limits to "${definition}" for vhost "${opts.vhost}" ...`,
    run: requestRun("set_vhost_limits", ([definition], opts) => ({ vhost: opts.vhost, definition }), vhostFailure),
  },
  {
    name: "clear_vhost_limits",
    section: "Virtual hosts",
    description: "Clears virtual host limits",
    usage: "[--vhost <vhost>]",
    validate: (args) => arity(args, 0),
    banner: (_args, opts) => `Clearing vhost "${opts.vhost}" limits ...`,
    run: requestRun("clear_vhost_limits", (_args, opts) => ({ vhost: opts.vhost }), vhostFailure),
  },
  {
    name: "list_vhost_limits",
    section: "Virtual hosts",
    description: "Displays configured virtual host limits",
    usage: "[--vhost <vhost>] [--global] [--no-table-headers]",
    details: [["--global", "list global limits (those not associated with a virtual host)"]],
    options: [{ flags: "--global", description: "list the limits of every vhost" }],
    validate: (args) => arity(args, 0),
    banner: (_args, opts) => (opts.extra.global === true ? "Listing limits for all vhosts ..." : `Listing limits for vhost "${opts.vhost}" ...`),
    run: async (args, opts, call, node, io) => {
      if (opts.extra.global === true) return listAllLimits(args, opts, call, node, io);
      const r = await call("list_vhost_limits", { vhost: opts.vhost });
      if (!r.ok) return vhostFailure(r, opts, node, args);
      const limits = r.result as string;
      // No limits: an empty line, or [] in JSON (rabbitmqctl prints an empty list so).
      if (limits === "") return { exitCode: EXIT.ok, stdout: [opts.formatter === "json" ? "[]" : ""] };
      return valueOutcome(opts, node, limits);
    },
  },
];
