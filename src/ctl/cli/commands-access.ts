/** warrenctl's user, vhost and permission commands, with rabbitmqctl's texts and exit codes. */
import { validateColumns } from "./commands-lists.js";
import {
  arity,
  badArgument,
  errorOutcome,
  EXIT,
  failureOutcome,
  listingRun,
  messageOutcome,
  okOutcome,
  outputLess,
  requestRun,
  type CliIo,
  type CommandSpec,
  type FailureOutcome,
  type GlobalOptions,
} from "./command.js";

/**
 * A password left out of the command line: read from standard input after a "Password:" prompt
 * (none with --quiet), one line, trimmed, as rabbitmqctl reads it. undefined when there is none.
 */
function passwordFromStdin(io: CliIo, opts: GlobalOptions): string | undefined {
  if (!outputLess(opts)) io.write("Password: \n");
  const line = io.readLine()?.trim();
  return line === "" ? undefined : line;
}

/** A missing user, as delete_user, change_password and set_user_tags word it (JSON: "does not exists", sic). */
const userFailure: FailureOutcome = (f, opts, node) => {
  if (f.error.reason !== "no_such_user") return failureOutcome(f, opts, node, []);
  if (opts.formatter === "json") {
    return { exitCode: EXIT.unavailable, stderr: JSON.stringify({ message: `User ${f.error.subject} does not exists`, node, result: "error" }) };
  }
  return errorOutcome(EXIT.nouser, `User "${f.error.subject}" does not exist`);
};

/** A missing vhost, as delete_vhost and list_permissions word it: no "Error:", exit 65. */
const vhostFailure: FailureOutcome = (f, opts, node) =>
  f.error.reason === "no_such_vhost" ? { exitCode: EXIT.dataerr, stderr: f.error.message } : failureOutcome(f, opts, node, []);

/** rabbitmqctl has no text for some missing users and prints the Erlang error term. */
const userTermFailure: FailureOutcome = (f, opts, node, [username]) =>
  f.error.reason === "no_such_user" ? errorOutcome(EXIT.unavailable, `{:no_such_user, ${JSON.stringify(username)}}`) : failureOutcome(f, opts, node, []);

/** Errors of set_permissions / clear_permissions, which word them differently. */
const permissionFailure: FailureOutcome = (f, opts, node) => {
  const { reason, subject, message } = f.error;
  const text = reason === "no_such_user" ? `User ${subject} does not exist` : reason === "no_such_vhost" ? `Virtual host ${subject} does not exist` : undefined;
  if (text !== undefined && opts.formatter === "json") {
    return { exitCode: EXIT.unavailable, stderr: JSON.stringify({ message: text, node, result: "error" }) };
  }
  if (reason === "no_such_user") return errorOutcome(EXIT.nouser, text!);
  return errorOutcome(EXIT.unavailable, text ?? message);
};

const DONE_ADD_USER = "Done. Don't forget to grant the user permissions to some virtual hosts! See 'warrenctl help set_permissions' to learn more.";

export const accessCommands: CommandSpec[] = [
  {
    name: "add_user",
    section: "Users",
    description: "Creates a new user in the internal database. This user will have no permissions for any virtual hosts by default.",
    usage: "<username> <password>",
    details: [
      ["<username>", "Self-explanatory"],
      ["<password>", "Password this user will authenticate with. Read from standard input when left out."],
    ],
    validate(args) {
      return arity(args, 1, 2) ?? (args[0] === "" ? badArgument("user cannot be an empty string") : undefined);
    },
    banner: ([user]) => `Adding user "${user}" ...`,
    async run(args, opts, call, node, io) {
      const password = args[1] ?? passwordFromStdin(io, opts);
      if (password === undefined) return errorOutcome(EXIT.dataerr, "Password is not provided via argument or stdin");
      const r = await call("add_user", { username: args[0], password });
      if (!r.ok) {
        if (r.error.reason !== "user_already_exists") return errorOutcome(EXIT.unavailable, r.error.message);
        if (opts.formatter === "json") {
          return { exitCode: EXIT.unavailable, stderr: JSON.stringify({ message: `User ${args[0]} already exists`, node, result: "error" }) };
        }
        return errorOutcome(EXIT.software, `User "${args[0]}" already exists`);
      }
      if (opts.formatter === "json") return { exitCode: EXIT.ok, stdout: [JSON.stringify({ message: DONE_ADD_USER, node, status: "ok" })] };
      return outputLess(opts) ? { exitCode: EXIT.ok } : { exitCode: EXIT.ok, stdout: [DONE_ADD_USER] };
    },
  },
  {
    name: "delete_user",
    section: "Users",
    description: "Removes a user from the internal database and closes its connections",
    usage: "<username>",
    details: [["<username>", "Name of the user to delete."]],
    validate: (args) => arity(args, 1),
    banner: ([user]) => `Deleting user "${user}" ...`,
    run: requestRun("delete_user", ([username]) => ({ username }), userFailure),
  },
  {
    name: "change_password",
    section: "Users",
    description: "Changes the user password",
    usage: "<username> <password>",
    details: [
      ["<username>", "Name of the user whose password should be changed"],
      ["<password>", "New password to set. Read from standard input when left out."],
    ],
    validate: (args) => arity(args, 1, 2),
    banner: ([user]) => `Changing password for user "${user}" ...`,
    async run(args, opts, call, node, io) {
      const password = args[1] ?? passwordFromStdin(io, opts);
      if (password === undefined) return errorOutcome(EXIT.software, "Password is not provided via argument or stdin");
      const r = await call("change_password", { username: args[0], password });
      return r.ok ? okOutcome(opts, node) : userFailure(r, opts, node, args);
    },
  },
  {
    name: "clear_password",
    section: "Users",
    description: "Clears (resets) password and disables password login for a user",
    usage: "<username>",
    details: [["<username>", "Name of the user whose password should be cleared"]],
    validate: (args) => arity(args, 1),
    banner: ([user]) => `Clearing password for user "${user}" ...`,
    run: requestRun("clear_password", ([username]) => ({ username }), userTermFailure),
  },
  {
    name: "authenticate_user",
    section: "Users",
    description: "Attempts to authenticate a user. Exits with a non-zero code if authentication fails.",
    usage: "<username> <password>",
    details: [
      ["<username>", "Username to use"],
      ["<password>", "Password to use. Read from standard input when left out."],
    ],
    validate: (args) => arity(args, 1, 2),
    banner: ([user]) => `Authenticating user "${user}" ...`,
    async run(args, opts, call, _node, io) {
      const password = args[1] ?? passwordFromStdin(io, opts);
      if (password === undefined) return errorOutcome(EXIT.software, "Password is not provided via argument or stdin");
      const r = await call("authenticate_user", { username: args[0], password });
      if (r.ok) return messageOutcome(opts, "Success");
      if (r.error.reason === "refused") return errorOutcome(EXIT.dataerr, `Error: failed to authenticate user "${args[0]}"\n${r.error.message}`);
      return errorOutcome(EXIT.unavailable, r.error.message);
    },
  },
  {
    name: "set_user_tags",
    section: "Users",
    description: "Sets user tags",
    usage: "<username> <tag> [...]",
    details: [
      ["<username>", "Self-explanatory"],
      ["<tags>", "Space separated list of tags (administrator, monitoring, management, policymaker or any other)"],
    ],
    validate: (args) => (args.length === 0 ? arity(args, 1) : undefined),
    banner: ([user, ...tags]) => `Setting tags for user "${user}" to [${tags.join(", ")}] ...`,
    run: requestRun("set_user_tags", ([username, ...tags]) => ({ username, tags }), userFailure),
  },
  {
    name: "list_users",
    section: "Users",
    description: "List user names and tags",
    usage: "[--no-table-headers]",
    timeout: true,
    validate: (args) => arity(args, 0),
    banner: () => "Listing users ...",
    run: listingRun("list_users", () => ({})),
  },
  {
    name: "add_vhost",
    section: "Virtual hosts",
    description: "Creates a virtual host",
    usage: '<vhost> [--description <description> --tags "<tag1>,<tag2>,<...>"]',
    details: [
      ["<vhost>", "Virtual host name"],
      ["--description <description>", "Virtual host description"],
      ["--tags <tags>", "Comma separated list of tags"],
    ],
    options: [
      { flags: "--description <description>", description: "virtual host description" },
      { flags: "--tags <tags>", description: "comma separated list of tags" },
      { flags: "--default-queue-type <type>", description: "accepted for compatibility; Warren's queues are classic" },
    ],
    validate: (args) => arity(args, 1),
    banner: ([vhost]) => `Adding vhost "${vhost}" ...`,
    run: requestRun("add_vhost", ([vhost], opts) => ({
      vhost,
      description: opts.extra.description ?? "",
      tags:
        typeof opts.extra.tags === "string"
          ? opts.extra.tags
              .split(",")
              .map((t) => t.trim())
              .filter((t) => t !== "")
          : [],
    })),
  },
  {
    name: "delete_vhost",
    section: "Virtual hosts",
    description: "Deletes a virtual host, closing its connections and deleting its queues, exchanges, bindings and permissions",
    usage: "<vhost>",
    details: [["<vhost>", "Name of the virtual host to delete."]],
    validate: (args) => arity(args, 1),
    banner: ([vhost]) => `Deleting vhost "${vhost}" ...`,
    run: requestRun("delete_vhost", ([vhost]) => ({ vhost }), vhostFailure),
  },
  {
    name: "list_vhosts",
    section: "Virtual hosts",
    description: "Lists virtual hosts",
    usage: "[--no-table-headers] [<column> ...]",
    timeout: true,
    validate: (args) => validateColumns("list_vhosts", args),
    banner: () => "Listing vhosts ...",
    run: listingRun("list_vhosts", (keys) => ({ keys })),
  },
  {
    name: "set_permissions",
    section: "Access Control",
    description: "Sets user permissions for a vhost",
    usage: "[--vhost <vhost>] <username> <conf> <write> <read>",
    details: [
      ["<username>", "Self-explanatory"],
      ["<conf>", "Configuration permission pattern"],
      ["<write>", "Write permission pattern"],
      ["<read>", "Read permission pattern"],
    ],
    validate: (args) => arity(args, 4),
    banner: ([user], opts) => `Setting permissions for user "${user}" in vhost "${opts.vhost}" ...`,
    run: requestRun(
      "set_permissions",
      ([username, configure, write, read], opts) => ({ vhost: opts.vhost, username, configure, write, read }),
      permissionFailure,
    ),
  },
  {
    name: "clear_permissions",
    section: "Access Control",
    description: "Revokes user permissions for a vhost",
    usage: "[--vhost <vhost>] <username>",
    details: [["<username>", "Name of the user whose permissions should be revoked"]],
    validate: (args) => arity(args, 1),
    banner: ([user], opts) => `Clearing permissions for user "${user}" in vhost "${opts.vhost}" ...`,
    run: requestRun("clear_permissions", ([username], opts) => ({ vhost: opts.vhost, username }), permissionFailure),
  },
  {
    name: "list_permissions",
    section: "Access Control",
    description: "Lists user permissions in a virtual host",
    usage: "[--vhost <vhost>] [--no-table-headers]",
    timeout: true,
    validate: (args) => arity(args, 0),
    banner: (_args, opts) => `Listing permissions for vhost "${opts.vhost}" ...`,
    run: listingRun("list_permissions", (_args, opts) => ({ vhost: opts.vhost }), vhostFailure),
  },
  {
    name: "list_user_permissions",
    section: "Access Control",
    description: "Lists permissions of a user across all virtual hosts",
    usage: "[--no-table-headers] <username>",
    details: [["<username>", "Name of the user"]],
    timeout: true,
    validate: (args) => arity(args, 1),
    banner: ([user]) => `Listing permissions for user "${user}" ...`,
    run: listingRun("list_user_permissions", ([username]) => ({ username }), userTermFailure),
  },
  {
    name: "set_topic_permissions",
    section: "Access Control",
    description: "Sets user topic permissions for an exchange",
    usage: "[--vhost <vhost>] <username> <exchange> <write> <read>",
    details: [
      ["<username>", "Self-explanatory"],
      ["<exchange>", "Topic exchange to set the permissions for"],
      ["<write>", "Write permission pattern"],
      ["<read>", "Read permission pattern"],
    ],
    validate: (args) => arity(args, 4),
    banner: ([user, exchange], opts) => `Setting topic permissions on "${exchange}" for user "${user}" in vhost "${opts.vhost}" ...`,
    run: requestRun(
      "set_topic_permissions",
      ([username, exchange, write, read], opts) => ({ vhost: opts.vhost, username, exchange, write, read }),
      permissionFailure,
    ),
  },
  {
    name: "clear_topic_permissions",
    section: "Access Control",
    description: "Clears user topic permissions for a vhost or exchange",
    usage: "[--vhost <vhost>] <username> [<exchange>]",
    details: [
      ["<username>", "Name of the user whose topic permissions should be revoked"],
      ["<exchange>", "Exchange the permissions are for"],
    ],
    validate: (args) => arity(args, 1, 2),
    banner: ([user, exchange], opts) =>
      exchange === undefined
        ? `Clearing topic permissions for user "${user}" in vhost "${opts.vhost}" ...`
        : `Clearing topic permissions on "${exchange}" for user "${user}" in vhost "${opts.vhost}" ...`,
    run: requestRun("clear_topic_permissions", ([username, exchange], opts) => ({ vhost: opts.vhost, username, exchange }), permissionFailure),
  },
  {
    name: "list_topic_permissions",
    section: "Access Control",
    description: "Lists topic permissions in a virtual host",
    usage: "[--vhost <vhost>] [--no-table-headers]",
    timeout: true,
    validate: (args) => arity(args, 0),
    banner: (_args, opts) => `Listing topic permissions for vhost "${opts.vhost}" ...`,
    run: listingRun("list_topic_permissions", (_args, opts) => ({ vhost: opts.vhost }), vhostFailure),
  },
  {
    name: "list_user_topic_permissions",
    section: "Access Control",
    description: "Lists user topic permissions",
    usage: "[--no-table-headers] <username>",
    details: [["<username>", "Name of the user"]],
    timeout: true,
    validate: (args) => arity(args, 1),
    banner: ([user]) => `Listing topic permissions for user "${user}" ...`,
    // rabbitmqctl 3.10 prints this table without its header row, whatever the flags.
    run: (args, opts, ...rest) =>
      listingRun("list_user_topic_permissions", ([username]) => ({ username }), userTermFailure)(args, { ...opts, tableHeaders: false }, ...rest),
  },
];
