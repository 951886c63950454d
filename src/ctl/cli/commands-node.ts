/** warrenctl's commands for the node, queues, connections and definitions. */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { splitDefinitions } from "./definitions-split.js";
import { toJson } from "./format.js";
import { MAX_REQUEST_BYTES } from "../protocol.js";
import { jsonText } from "../json-text.js";
import { parseSize } from "../../config/size.js";
import {
  arity,
  badArgument,
  errorOutcome,
  EXIT,
  requestRun,
  messageOutcome,
  notEnough,
  okOutcome,
  outputLess,
  tooMany,
  type ValidationFailure,
  valueOutcome,
  type CliIo,
  type CommandSpec,
  type GlobalOptions,
  type Outcome,
} from "./command.js";

/** Section titles of `status`, bold on a terminal as rabbitmqctl prints them. */
function brightTitle(title: string, tty: boolean): string {
  return tty ? `\x1b[1m${title}\x1b[0m` : title;
}

interface Status {
  pid: number;
  os: string;
  uptime: number;
  is_under_maintenance: boolean;
  product_name: string;
  product_version: string;
  rabbitmq_version: string;
  release_series_support_status: string;
  runtime: string;
  data_directory: string;
  config_files: string[];
  log_files: string[];
  /** The resources in alarm: "memory", "disk". */
  alarms: string[];
  memory: { total: number; strategy: string };
  vm_memory_high_watermark_setting?: { relative: number } | { absolute: number };
  vm_memory_high_watermark_limit?: number;
  totals: { connection_count: number; queue_count: number; virtual_host_count: number };
  listeners: Array<{ interface: string; port: number; protocol: string; purpose: string }>;
}

/** status, in rabbitmqctl's layout (sections that describe Erlang are left out). */
function statusLines(s: Status, node: string, tty: boolean): string[] {
  const bright = (title: string) => brightTitle(title, tty);
  return [
    `${bright("Runtime")}\n`,
    `OS PID: ${s.pid}`,
    `OS: ${s.os}`,
    `Uptime (seconds): ${s.uptime}`,
    `Is under maintenance?: ${s.is_under_maintenance}`,
    `Product name: ${s.product_name}`,
    `Product version: ${s.product_version}`,
    `RabbitMQ version: ${s.rabbitmq_version}`,
    `RabbitMQ release series support status: ${s.release_series_support_status}`,
    `Node name: ${node}`,
    `Runtime: ${s.runtime}`,
    `\n${bright("Data directory")}\n`,
    `Node data directory: ${s.data_directory}`,
    `\n${bright("Config files")}\n`,
    ...s.config_files.map((f) => ` * ${f}`),
    `\n${bright("Log file(s)")}\n`,
    ...s.log_files.map((f) => ` * ${f}`),
    `\n${bright("Alarms")}\n`,
    ...(s.alarms.length === 0 ? ["(none)"] : s.alarms.map((resource) => `${ALARM_NAMES[resource] ?? resource} alarm on node ${node}`)),
    `\n${bright("Memory")}\n`,
    `Total memory used: ${gigabytes(s.memory.total)} gb`,
    `Calculation strategy: ${s.memory.strategy}`,
    ...watermarkLine(s),
    `\n${bright("Totals")}\n`,
    `Connection count: ${s.totals.connection_count}`,
    `Queue count: ${s.totals.queue_count}`,
    `Virtual host count: ${s.totals.virtual_host_count}`,
    `\n${bright("Listeners")}\n`,
    ...s.listeners.map((l) => `Interface: ${l.interface}, port: ${l.port}, protocol: ${l.protocol}, purpose: ${l.purpose}`),
  ];
}

const ALARM_NAMES: Record<string, string> = { memory: "Memory", disk: "Free disk space" };

/** Bytes as rabbitmqctl prints gigabytes: rounded to 4 decimals, "100.0" for a whole number. */
function gigabytes(bytes: number): string {
  const gb = Math.round(bytes / 1e5) / 1e4;
  return Number.isInteger(gb) ? gb.toFixed(1) : String(gb);
}

function watermarkLine(s: Status): string[] {
  const setting = s.vm_memory_high_watermark_setting;
  if (setting === undefined || s.vm_memory_high_watermark_limit === undefined) return [];
  const what = "relative" in setting ? `${setting.relative} of available memory` : `${gigabytes(setting.absolute)} gb`;
  return [`Memory high watermark setting: ${what}, computed to: ${gigabytes(s.vm_memory_high_watermark_limit)} gb`];
}

/** JSON with keys sorted at every level, as rabbitmqctl prints Erlang maps. */
function sortedJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === "object") {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return toJson(sort(v));
}

function deleteQueueBanner([queue]: string[], opts: GlobalOptions): string {
  const conditions = [opts.extra.ifEmpty === true ? "if queue is empty " : "", opts.extra.ifUnused === true ? "if queue is unused " : ""].filter(
    (c) => c !== "",
  );
  return `Deleting queue '${queue}' on vhost '${opts.vhost}' ${conditions.join("and ")}...`;
}

function readDefinitionsInput(path: string | undefined, io: CliIo): { text: string } | Outcome {
  if (path === undefined || path === "-") {
    const text = io.readStdin();
    return text === "" ? errorOutcome(EXIT.dataerr, "No definitions on standard input") : { text };
  }
  let text: string;
  try {
    if (statSync(path).isDirectory()) return errorOutcome(EXIT.dataerr, `Path ${path} is a directory`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    return errorOutcome(EXIT.dataerr, `Could not read from file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return text === "" ? errorOutcome(EXIT.dataerr, `File ${path} is zero-sized`) : { text };
}

/** The units set_vm_memory_high_watermark absolute takes (rabbitmqctl's, a narrower list than the config file's). */
const CTL_MEMORY_UNITS = ["", "k", "kiB", "M", "MiB", "G", "GiB", "kB", "MB", "GB"];
const FLOAT = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?/;
const plainBadArgument: ValidationFailure = { message: "Bad argument.", exitCode: EXIT.dataerr };

/** rabbitmqctl's checks: a whole float from 0 to 1, or an integer with one of its units. */
function validateWatermark(args: string[]): ValidationFailure | undefined {
  if (args.length === 0) return notEnough;
  if (args[0] === "absolute") {
    if (args.length !== 2) return args.length < 2 ? notEnough : tooMany;
    const value = args[1]!;
    const integer = /^[+-]?\d+/.exec(value);
    if (integer === null) return plainBadArgument;
    if (CTL_MEMORY_UNITS.includes(value.slice(integer[0].length))) return undefined;
    const float = FLOAT.exec(value);
    if (float !== null && CTL_MEMORY_UNITS.includes(value.slice(float[0].length))) return badArgument("The threshold should be an integer.");
    return badArgument("Invalid units.");
  }
  if (args.length > 1) return tooMany;
  const float = FLOAT.exec(args[0]!);
  if (float === null || float[0] !== args[0]) return plainBadArgument;
  const fraction = Number(args[0]);
  return fraction >= 0 && fraction <= 1 ? undefined : badArgument("The threshold should be a fraction between 0.0 and 1.0");
}

/** rabbitmqctl's checks: an integer with one of its units, or mem_relative and a float of at least 0. */
function validateDiskLimit(args: string[]): ValidationFailure | undefined {
  if (args.length === 0 || (args.length === 1 && args[0] === "mem_relative")) return notEnough;
  if (args.length > 2 || (args.length === 2 && args[0] !== "mem_relative")) return tooMany;
  if (args[0] === "mem_relative") {
    const float = FLOAT.exec(args[1]!);
    return float !== null && float[0] === args[1] && Number(args[1]) >= 0 ? undefined : plainBadArgument;
  }
  const integer = /^[+-]?\d+/.exec(args[0]!);
  return integer !== null && CTL_MEMORY_UNITS.includes(args[0]!.slice(integer[0].length)) ? undefined : plainBadArgument;
}

export const nodeCommands: CommandSpec[] = [
  {
    name: "status",
    section: "Nodes",
    description: "Displays status of a node",
    usage: "",
    timeout: true,
    validate: (args) => arity(args, 0),
    banner: (_args, _opts, node) => `Status of node ${node} ...`,
    async run(_args, opts, call, node, io) {
      const r = await call("status", {});
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      const status = r.result as Status;
      if (opts.formatter === "json") {
        const alarms = status.alarms.map((resource) => ({ node, resource, type: "resource_limit" }));
        return { exitCode: EXIT.ok, stdout: [sortedJson({ ...status, alarms, node })] };
      }
      return { exitCode: EXIT.ok, stdout: statusLines(status, node, io.tty) };
    },
  },
  {
    name: "stop",
    section: "Nodes",
    description: "Stops the broker: closes every connection (320 CONNECTION_FORCED), writes what is pending, and exits",
    usage: "[--idempotent] [<pidfile>]",
    details: [
      ["<pidfile>", "accepted for compatibility; warrenctl waits for the broker to exit in any case"],
      ["--idempotent", "return success if the broker is not running (cannot be contacted)"],
    ],
    options: [{ flags: "--idempotent", description: "succeed when the broker is not running" }],
    validate: (args) => arity(args, 0, 1),
    banner: (args, _opts, node) =>
      args.length === 1 ? `Stopping and halting node ${node} (will monitor pid file ${args[0]}) ...` : `Stopping and halting node ${node} ...`,
    run: requestRun("stop", () => ({})),
  },
  {
    name: "set_vm_memory_high_watermark",
    section: "Configuration and Environment",
    description: "Sets the vm_memory_high_watermark setting",
    usage: "<fraction> | absolute <value>",
    details: [
      ["<fraction>", "New limit as a fraction of total memory reported by the OS"],
      ["absolute <value>", "New limit as an absolute value with units, e.g. 1GB"],
    ],
    validate: validateWatermark,
    banner: (args, _opts, node) =>
      args[0] === "absolute" ? `Setting memory threshold on ${node} to ${args[1]} bytes ...` : `Setting memory threshold on ${node} to ${args[0]} ...`,
    async run(args, opts, call, node) {
      let request: { relative: number } | { absolute: number };
      if (args[0] === "absolute") {
        const bytes = parseSize(args[1]!);
        // rabbitmqctl crashes on 0 and negative sizes (exit 70); Warren says why.
        if (bytes === undefined || bytes <= 0) return errorOutcome(EXIT.software, `The threshold should be a positive number of bytes, got ${args[1]}`);
        request = { absolute: bytes };
      } else {
        request = { relative: Number(args[0]) };
      }
      const r = await call("set_vm_memory_high_watermark", request);
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      return okOutcome(opts, node);
    },
  },
  {
    name: "set_disk_free_limit",
    section: "Configuration and Environment",
    description: "Sets the disk_free_limit setting",
    usage: "<disk_limit> | mem_relative <fraction>",
    details: [
      ["<disk_limit>", "New limit as an absolute value with units, e.g. 1GB"],
      ["mem_relative <fraction>", "New limit as a fraction of total memory reported by the OS"],
    ],
    validate: validateDiskLimit,
    banner: (args, _opts, node) =>
      args[0] === "mem_relative"
        ? `Setting disk free limit on ${node} to ${args[1]} times the total RAM ...`
        : `Setting disk free limit on ${node} to ${args[0]} bytes ...`,
    async run(args, opts, call, node) {
      let request: { relative: number } | { absolute: number };
      if (args[0] === "mem_relative") {
        request = { relative: Number(args[1]) };
      } else {
        // A negative limit is accepted, as by rabbitmqctl: it never raises the alarm, like 0.
        const negative = args[0]!.startsWith("-");
        const bytes = parseSize(args[0]!.replace(/^[+-]/, ""));
        if (bytes === undefined) return errorOutcome(EXIT.dataerr, "Bad argument.");
        request = { absolute: negative ? 0 : bytes };
      }
      const r = await call("set_disk_free_limit", request);
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      return okOutcome(opts, node);
    },
  },
  {
    name: "purge_queue",
    section: "Queues",
    description: "Purges a queue (removes all messages in it)",
    usage: "[--vhost <vhost>] <queue>",
    details: [["<queue>", "Name of the queue to purge"]],
    timeout: true,
    validate: (args) => arity(args, 1),
    banner: ([queue], opts) => `Purging queue '${queue}' in vhost '${opts.vhost}' ...`,
    run: requestRun("purge_queue", ([queue], opts) => ({ vhost: opts.vhost, queue })),
  },
  {
    name: "delete_queue",
    section: "Queues",
    description: "Deletes a queue",
    usage: "<queue_name> [--if-empty|-e] [--if-unused|-u]",
    details: [
      ["<queue_name>", "name of the queue to delete"],
      ["--if-empty", "delete the queue if it is empty (has no messages ready for delivery)"],
      ["--if-unused", "delete the queue only if it has no consumers"],
    ],
    options: [
      { flags: "-e, --if-empty", description: "delete the queue only if it is empty" },
      { flags: "-u, --if-unused", description: "delete the queue only if it has no consumers" },
    ],
    timeout: true,
    validate: (args) => arity(args, 1) ?? (args[0] === "" ? badArgument("queue name cannot be an empty string") : undefined),
    banner: deleteQueueBanner,
    async run([queue], opts, call) {
      const r = await call("delete_queue", { vhost: opts.vhost, queue, ifEmpty: opts.extra.ifEmpty === true, ifUnused: opts.extra.ifUnused === true });
      if (!r.ok) return errorOutcome(["not_found", "in_use", "not_empty"].includes(r.error.reason) ? EXIT.usage : EXIT.unavailable, r.error.message);
      return messageOutcome(opts, `Queue was successfully deleted with ${(r.result as { messages: number }).messages} ready messages`);
    },
  },
  {
    name: "close_connection",
    section: "Connections",
    description: "Instructs the broker to close the connection associated with the pid shown by list_connections",
    usage: "<connection pid> <explanation>",
    details: [
      ["<connection pid>", "connection identifier, see list_connections"],
      ["<explanation>", "reason for connection closure"],
    ],
    validate: (args) => arity(args, 2),
    banner: ([pid, explanation]) => `Closing connection ${pid}, reason: ${explanation}...`,
    // rabbitmqctl reports a malformed pid twice over: "Error:\nError:\n{:invalid_pid_syntax, ...}".
    run: requestRun(
      "close_connection",
      ([pid, explanation]) => ({ pid, explanation }),
      (f) => errorOutcome(EXIT.unavailable, f.error.reason === "invalid_pid_syntax" ? `Error:\n${f.error.message}` : f.error.message),
    ),
  },
  {
    name: "close_all_connections",
    section: "Connections",
    description: "Instructs the broker to close all connections for the specified vhost or entire node",
    usage: "[--vhost <vhost> --limit <limit>] [--global] [--per-connection-delay <delay>] <explanation>",
    details: [
      ["--global", "consider connections across all virtual hosts"],
      ["--limit <number>", "close up to this many connections"],
      ["--per-connection-delay <milliseconds>", "accepted for compatibility; connections are closed at once"],
    ],
    options: [
      { flags: "--global", description: "consider connections across all virtual hosts" },
      { flags: "--limit <number>", description: "close up to this many connections" },
      { flags: "--per-connection-delay <milliseconds>", description: "accepted for compatibility" },
    ],
    validate(args, opts) {
      const limit = opts.extra.limit;
      if (limit !== undefined && !/^\d+$/.test(String(limit))) return badArgument(`--limit must be a non-negative integer, got '${String(limit)}'`);
      return arity(args, 1);
    },
    banner([explanation], opts, node) {
      if (opts.extra.global === true) return `Closing all connections to node ${node} (across all vhosts), reason: ${explanation}...`;
      const limit = Number(opts.extra.limit ?? 0);
      return limit === 0
        ? `Closing all connections in vhost ${opts.vhost}, reason: ${explanation}...`
        : `Closing ${limit} connections in vhost ${opts.vhost}, reason: ${explanation}...`;
    },
    async run([explanation], opts, call, node) {
      const r = await call("close_all_connections", {
        vhost: opts.vhost,
        global: opts.extra.global === true,
        limit: Number(opts.extra.limit ?? 0),
        explanation,
      });
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      return valueOutcome(opts, node, `Closed ${(r.result as { closed: number }).closed} connections`);
    },
  },
  {
    name: "export_definitions",
    section: "Definitions",
    description: "Exports definitions in JSON",
    usage: '<file_path | "-"> [--format <json>]',
    details: [
      ["<file>", "Local file path to export to. Pass a dash (-) for stdout."],
      ["--format", "output format to use: json"],
    ],
    options: [{ flags: "--format <format>", description: "json (the only format Warren writes)" }],
    timeout: true,
    validate(args, opts) {
      const format = opts.extra.format;
      if (format !== undefined && format !== "json" && format !== "JSON") return badArgument("Format should be json");
      const failure = arity(args, 1);
      if (failure !== undefined || args[0] === "-") return failure;
      const dir = dirname(args[0]!);
      return existsSync(dir) ? undefined : badArgument(`Directory ${dir} does not exist`);
    },
    banner: ([path]) => (path === "-" ? undefined : `Exporting definitions in JSON to a file at "${path}" ...`),
    async run([path], _opts, call) {
      const r = await call("export_definitions", {});
      if (!r.ok) return errorOutcome(EXIT.unavailable, r.error.message);
      const body = jsonText(r.result);
      if (path === "-") return { exitCode: EXIT.ok, raw: body };
      const abs = resolve(path!);
      try {
        rmSync(abs, { force: true });
        writeFileSync(abs, body);
      } catch (err) {
        return errorOutcome(EXIT.dataerr, `Could not write to file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      return { exitCode: EXIT.ok };
    },
  },
  {
    name: "import_definitions",
    section: "Definitions",
    description: "Imports definitions in JSON (RabbitMQ's format)",
    usage: '<file_path | "-"> [--format <json>]',
    details: [
      ["[file]", "Local file path to import from. If omitted will be read from standard input"],
      ["--format", "input format to use: json"],
    ],
    options: [{ flags: "--format <format>", description: "json (the only format Warren reads)" }],
    timeout: true,
    validate(args, opts) {
      const format = opts.extra.format;
      if (format !== undefined && format !== "json" && format !== "JSON") return badArgument("Format should be json");
      if (args.length > 1) return arity(args, 0, 1);
      if (args.length === 1 && args[0] !== "-" && !existsSync(args[0]!)) return badArgument(`File ${args[0]} does not exist`);
      return undefined;
    },
    banner: ([path]) => (path === undefined || path === "-" ? undefined : `Importing definitions in JSON from a file at "${path}" ...`),
    async run([path], opts, call, node, io) {
      const input = readDefinitionsInput(path, io);
      if (!("text" in input)) return input;
      let definitions: unknown;
      try {
        definitions = JSON.parse(input.text);
      } catch (err) {
        return errorOutcome(EXIT.dataerr, `Failed to deserialise input (format: JSON) (error: ${err instanceof Error ? err.message : String(err)})`);
      }
      // A file too large for one request goes in parts (the request envelope needs a little room).
      for (const part of splitDefinitions(definitions, MAX_REQUEST_BYTES - 4096)) {
        const r = await call("import_definitions", { definitions: part });
        if (!r.ok) {
          if (r.error.reason === "no_such_vhost") return { exitCode: EXIT.dataerr, stderr: r.error.message };
          return errorOutcome(EXIT.unavailable, r.error.message);
        }
      }
      if (opts.formatter === "json") return { exitCode: EXIT.ok, raw: JSON.stringify({ node, result: "ok" }) };
      if (outputLess(opts) || path === undefined || path === "-") return { exitCode: EXIT.ok };
      return { exitCode: EXIT.ok, raw: "Successfully started definition import. This process is asynchronous and can take some time.\n" };
    },
  },
];
