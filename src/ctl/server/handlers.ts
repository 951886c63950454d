/**
 * The broker side of warrenctl: one function per command, each reading or changing the broker
 * as the rabbitmqctl command of the same name does on RabbitMQ, and answering with data (the CLI
 * does the printing). Failures are ControlErrors carrying RabbitMQ's error atom.
 */
import { freemem, totalmem, type } from "node:os";
import { AccessError } from "../../access/errors.js";
import { patternProblem } from "../../access/pattern.js";
import { AmqpError } from "../../amqp/errors.js";
import type { Broker } from "../../broker/broker.js";
import type { MemoryMonitor } from "../../broker/memory-monitor.js";
import { StreamQueue } from "../../broker/stream-queue.js";
import type { DiskMonitor } from "../../store/disk-monitor.js";
import type { Options } from "../../config/options.js";
import type { Logger } from "../../logger.js";
import type { Connection } from "../../server/connection.js";
import { DefinitionsError } from "../../definitions/definitions-error.js";
import { exportDefinitions, RABBITMQ_COMPAT_VERSION } from "../../definitions/export-definitions.js";
import { importDefinitions } from "../../definitions/import-definitions.js";
import { INFO_KEYS, parseInfoKeys, type ListCommand } from "../info-keys.js";
import { bindingRows, channelRows, connectionRows, consumerRows, exchangeRows, queueRows, vhostRows, type InfoSource } from "./info.js";
import type { InfoValue } from "../info-values.js";
import { isPidSyntax, type NodeIdentity } from "./node-identity.js";
import { formatVhostLimits, parseVhostLimits, VhostLimitsError } from "../../broker/vhost-limits.js";
import type { ControlRequest, Listing } from "../protocol.js";
import { ControlError } from "./control-error.js";
import { policyHandlers } from "./policy-handlers.js";

/** What the handlers work on: the running Warren's parts. */
export interface ControlContext {
  broker: Broker;
  connections: Iterable<Connection>;
  ids: NodeIdentity;
  /** The memory alarm (absent in tests that build a context by hand). */
  memory?: MemoryMonitor;
  /** The disk alarm (absent in tests that build a context by hand). */
  disk?: DiskMonitor;
  options: Options;
  log: Logger;
  version: string;
  startedAt: number;
  /** The AMQP port actually bound. */
  port(): number;
  /** Begin a clean shutdown (after the answer to `stop` is written). */
  requestStop(): void;
}

type Args = Record<string, unknown>;
type Handler = (ctx: ControlContext, args: Args) => unknown;

function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v !== "string") throw new ControlError("bad_argument", `'${key}' must be a string`);
  return v;
}

function strings(args: Args, key: string): string[] {
  const v = args[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new ControlError("bad_argument", `'${key}' must be a list of strings`);
  return v as string[];
}

function keysFor(command: ListCommand, args: Args): string[] {
  const parsed = parseInfoKeys(command, strings(args, "keys"));
  if ("unsupported" in parsed) throw new ControlError("bad_info_key", `Info key(s) ${parsed.unsupported.join(",")} are not supported`);
  return parsed.keys;
}

function source(ctx: ControlContext): InfoSource {
  return { broker: ctx.broker, connections: ctx.connections, ids: ctx.ids };
}

/** Close every connection matching `which` with 320 CONNECTION_FORCED and the given text. */
function closeConnections(ctx: ControlContext, which: (c: Connection) => boolean, text: string, limit = 0): number {
  let closed = 0;
  for (const c of [...ctx.connections]) {
    if (limit > 0 && closed >= limit) break;
    if (!c.isRunning || !which(c)) continue;
    c.forceClose(text);
    closed++;
  }
  return closed;
}

function requireVhost(ctx: ControlContext, name: string) {
  const vhost = ctx.broker.vhosts.get(name);
  if (vhost === undefined) throw new ControlError("no_such_vhost", `Virtual host '${name}' does not exist`, name);
  return vhost;
}

function requireUser(ctx: ControlContext, name: string) {
  if (ctx.broker.users.get(name) === undefined) throw new ControlError("no_such_user", `User "${name}" does not exist`, name);
}

const handlers: Record<string, Handler> = {
  status(ctx) {
    const mem = process.memoryUsage();
    return {
      pid: process.pid,
      os: type(),
      uptime: Math.floor((Date.now() - ctx.startedAt) / 1000),
      is_under_maintenance: false,
      product_name: "Warren",
      product_version: ctx.version,
      rabbitmq_version: RABBITMQ_COMPAT_VERSION,
      release_series_support_status: "supported",
      runtime: `Node.js ${process.version}`,
      data_directory: ctx.options.dataDir,
      config_files: ctx.options.configFile === "" ? [] : [ctx.options.configFile],
      log_files: ["<stdout>"],
      alarms: ctx.broker.alarms.resources,
      memory: { total: mem.rss, heap_used: mem.heapUsed, strategy: "rss", system_total: totalmem(), system_free: freemem() },
      vm_memory_calculation_strategy: "rss",
      vm_memory_high_watermark_setting: ctx.memory?.watermark,
      vm_memory_high_watermark_limit: ctx.memory?.limit,
      totals: {
        connection_count: [...ctx.connections].length,
        queue_count: [...ctx.broker.vhosts.values()].reduce((n, v) => n + v.queues.size, 0),
        virtual_host_count: ctx.broker.vhosts.size,
      },
      listeners: [{ interface: ctx.options.host, port: ctx.port(), protocol: "amqp", purpose: "AMQP 0-9-1" }],
    };
  },

  set_vm_memory_high_watermark(ctx, args) {
    const { relative, absolute } = args;
    if (ctx.memory === undefined) throw new ControlError("not_supported", "this node has no memory monitor");
    if (typeof relative === "number" && relative >= 0 && relative <= 1) ctx.memory.setWatermark({ relative });
    else if (typeof absolute === "number" && Number.isSafeInteger(absolute) && absolute > 0) ctx.memory.setWatermark({ absolute });
    else throw new ControlError("bad_argument", "expected a relative watermark from 0 to 1 or a positive absolute one in bytes");
    return null;
  },

  set_disk_free_limit(ctx, args) {
    const { relative, absolute } = args;
    if (ctx.disk === undefined) throw new ControlError("not_supported", "this node has no disk monitor");
    // RabbitMQ's mem_relative: a multiple of the machine's memory.
    if (typeof relative === "number" && relative >= 0 && Number.isFinite(relative)) ctx.disk.setLimit(Math.floor(totalmem() * relative));
    else if (typeof absolute === "number" && Number.isSafeInteger(absolute)) ctx.disk.setLimit(absolute);
    else throw new ControlError("bad_argument", "expected a limit in bytes or a non-negative multiple of the memory");
    return null;
  },

  // ---- users ----

  add_user(ctx, args) {
    const name = str(args, "username");
    if (name === "") throw new ControlError("bad_argument", "user cannot be an empty string");
    ctx.broker.users.create(name, str(args, "password"));
    return null;
  },

  delete_user(ctx, args) {
    const name = str(args, "username");
    ctx.broker.users.delete(name);
    ctx.broker.permissions.forgetUser(name);
    ctx.broker.topicPermissions.forgetUser(name);
    // RabbitMQ 3.10 closes the deleted user's connections (rabbit_connection_tracking).
    closeConnections(ctx, (c) => c.username === name, `user '${name}' is deleted`);
    return null;
  },

  change_password(ctx, args) {
    // Open connections stay open, as in RabbitMQ: only new logins see the new password.
    ctx.broker.users.changePassword(str(args, "username"), str(args, "password"));
    return null;
  },

  clear_password(ctx, args) {
    ctx.broker.users.clearPassword(str(args, "username"));
    return null;
  },

  authenticate_user(ctx, args) {
    const name = str(args, "username");
    const password = str(args, "password");
    if (password === "") {
      throw new ControlError(
        "refused",
        `user '${name}' attempted to log in with a blank password, which is prohibited by the internal authN backend. To use TLS/x509 certificate-based authentication, see the rabbitmq_auth_mechanism_ssl plugin and configure the client to use the EXTERNAL authentication mechanism. Alternatively change the password for the user to be non-blank.`,
        name,
      );
    }
    const user = ctx.broker.users.authenticate(name, password);
    if (user === undefined) throw new ControlError("refused", `user '${name}' - invalid credentials`, name);
    return { user: user.name, tags: user.tags };
  },

  set_user_tags(ctx, args) {
    ctx.broker.users.setTags(str(args, "username"), strings(args, "tags"));
    return null;
  },

  list_users(ctx): Listing {
    return { keys: ["user", "tags"], rows: ctx.broker.users.list().map((u) => [u.name, { atoms: [...u.tags] }]) };
  },

  // ---- vhosts ----

  add_vhost(ctx, args) {
    const name = str(args, "vhost");
    if (name === "") throw new ControlError("bad_argument", "vhost cannot be an empty string");
    // Adding an existing vhost succeeds and changes nothing, as in RabbitMQ.
    if (!ctx.broker.vhosts.has(name)) {
      ctx.broker.addVhost(name, { description: typeof args.description === "string" ? args.description : "", tags: strings(args, "tags") });
    }
    return null;
  },

  delete_vhost(ctx, args) {
    const name = str(args, "vhost");
    requireVhost(ctx, name);
    closeConnections(ctx, (c) => c.vhost?.name === name, `vhost '${name}' is deleted`);
    ctx.broker.deleteVhost(name);
    return null;
  },

  list_vhosts(ctx, args): Listing {
    const keys = keysFor("list_vhosts", args);
    return { keys, rows: vhostRows(source(ctx), keys) };
  },

  // ---- permissions ----

  set_permissions(ctx, args) {
    const [user, vhost] = [str(args, "username"), str(args, "vhost")];
    const [configure, write, read] = [str(args, "configure"), str(args, "write"), str(args, "read")];
    // RabbitMQ's order: the patterns, then the user, then the vhost.
    for (const p of [configure, write, read]) {
      // rabbitmqctl prints the Erlang error term here; Warren's reason is its engine's.
      const why = patternProblem(p);
      if (why !== undefined) throw new ControlError("invalid_regexp", `{:invalid_regexp, '${p}', ${JSON.stringify(why)}}`, p);
    }
    requireUser(ctx, user);
    requireVhost(ctx, vhost);
    ctx.broker.permissions.set(user, vhost, configure, write, read);
    return null;
  },

  clear_permissions(ctx, args) {
    const [user, vhost] = [str(args, "username"), str(args, "vhost")];
    requireUser(ctx, user);
    requireVhost(ctx, vhost);
    ctx.broker.permissions.clear(user, vhost);
    return null;
  },

  list_permissions(ctx, args): Listing {
    const vhost = str(args, "vhost");
    requireVhost(ctx, vhost);
    const rows = ctx.broker.permissions.list().filter((p) => p.vhost === vhost);
    return {
      keys: ["user", "configure", "write", "read"],
      rows: rows.map(({ user, permission: p }) => [user, p.configure, p.write, p.read]),
    };
  },

  list_user_permissions(ctx, args): Listing {
    const user = str(args, "username");
    requireUser(ctx, user);
    const rows = ctx.broker.permissions.list().filter((p) => p.user === user);
    return {
      keys: ["vhost", "configure", "write", "read"],
      rows: rows.map(({ vhost, permission: p }) => [vhost, p.configure, p.write, p.read]),
    };
  },

  set_topic_permissions(ctx, args) {
    const [user, vhost, exchange] = [str(args, "username"), str(args, "vhost"), str(args, "exchange")];
    const [write, read] = [str(args, "write"), str(args, "read")];
    for (const p of [write, read]) {
      const why = patternProblem(p);
      if (why !== undefined) throw new ControlError("invalid_regexp", `{:invalid_regexp, ${JSON.stringify(p)}, ${JSON.stringify(why)}}`, p);
    }
    requireUser(ctx, user);
    requireVhost(ctx, vhost);
    ctx.broker.topicPermissions.set(user, vhost, exchange, write, read);
    return null;
  },

  clear_topic_permissions(ctx, args) {
    const [user, vhost] = [str(args, "username"), str(args, "vhost")];
    requireUser(ctx, user);
    requireVhost(ctx, vhost);
    ctx.broker.topicPermissions.clear(user, vhost, typeof args.exchange === "string" ? args.exchange : undefined);
    return null;
  },

  list_topic_permissions(ctx, args): Listing {
    const vhost = str(args, "vhost");
    requireVhost(ctx, vhost);
    const rows = ctx.broker.topicPermissions.list().filter((p) => p.vhost === vhost);
    return { keys: ["user", "exchange", "write", "read"], rows: rows.map((p) => [p.user, p.exchange, p.write, p.read]) };
  },

  list_user_topic_permissions(ctx, args): Listing {
    const user = str(args, "username");
    requireUser(ctx, user);
    const rows = ctx.broker.topicPermissions.list().filter((p) => p.user === user);
    return { keys: ["vhost", "exchange", "write", "read"], rows: rows.map((p) => [p.vhost, p.exchange, p.write, p.read]) };
  },

  // ---- listing the broker's contents ----

  // ---- policies and operator policies (policy-handlers.ts) ----

  ...policyHandlers,

  // ---- vhost limits ----

  set_vhost_limits(ctx, args) {
    const vhost = requireVhost(ctx, str(args, "vhost"));
    try {
      vhost.setLimits(parseVhostLimits(str(args, "definition")));
    } catch (err) {
      if (err instanceof VhostLimitsError) throw new ControlError("invalid_limits", err.message);
      throw err;
    }
    return null;
  },

  clear_vhost_limits(ctx, args) {
    // rabbitmqctl: a missing vhost has no parameter either, and is worded so.
    const vhost = ctx.broker.vhosts.get(str(args, "vhost"));
    if (vhost?.limits === undefined) throw new ControlError("no_such_parameter", "Parameter does not exist");
    vhost.setLimits(undefined);
    return null;
  },

  /** One vhost's limits as JSON text ("" when none), or with `global` every vhost's that has some. */
  list_vhost_limits(ctx, args): string | Listing {
    if (args.global === true) {
      const rows = [...ctx.broker.vhosts.values()].filter((v) => v.limits !== undefined).map((v) => [v.name, formatVhostLimits(v.limits!)]);
      return { keys: ["vhost", "limits"], rows };
    }
    const limits = requireVhost(ctx, str(args, "vhost")).limits;
    return limits === undefined || Object.keys(limits).length === 0 ? "" : formatVhostLimits(limits);
  },

  list_queues(ctx, args): Listing {
    const keys = keysFor("list_queues", args);
    return { keys, rows: queueRows(source(ctx), ctx.broker.vhosts.get(str(args, "vhost")), keys) };
  },

  list_exchanges(ctx, args): Listing {
    const keys = keysFor("list_exchanges", args);
    return { keys, rows: exchangeRows(ctx.broker.vhosts.get(str(args, "vhost")), keys) };
  },

  list_bindings(ctx, args): Listing {
    const keys = keysFor("list_bindings", args);
    return { keys, rows: bindingRows(ctx.broker.vhosts.get(str(args, "vhost")), keys) };
  },

  list_connections(ctx, args): Listing {
    const keys = keysFor("list_connections", args);
    return { keys, rows: connectionRows(source(ctx), keys) };
  },

  list_channels(ctx, args): Listing {
    const keys = keysFor("list_channels", args);
    return { keys, rows: channelRows(source(ctx), keys) };
  },

  list_consumers(ctx, args): Listing {
    // rabbitmqctl shows list_consumers' columns in its own order, whatever order they were asked in.
    const asked = keysFor("list_consumers", args);
    const keys = INFO_KEYS.list_consumers.all.filter((k) => asked.includes(k));
    return { keys, rows: consumerRows(source(ctx), ctx.broker.vhosts.get(str(args, "vhost")), keys) };
  },

  // ---- queues and connections ----

  purge_queue(ctx, args) {
    const queue = ctx.broker.vhosts.get(str(args, "vhost"))?.queues.get(str(args, "queue"));
    if (queue === undefined) throw new ControlError("not_found", "not_found");
    // rabbitmqctl 3.10 prints "not_supported" for a stream (exit 69).
    if (queue instanceof StreamQueue) throw new ControlError("not_supported", "not_supported");
    return { messages: queue.purge() };
  },

  delete_queue(ctx, args) {
    const vhost = ctx.broker.vhosts.get(str(args, "vhost"));
    const queue = vhost?.queues.get(str(args, "queue"));
    if (vhost === undefined || queue === undefined) throw new ControlError("not_found", "Queue not found");
    try {
      return { messages: vhost.deleteQueue(queue, { ifEmpty: args.ifEmpty === true, ifUnused: args.ifUnused === true }) };
    } catch (err) {
      if (err instanceof AmqpError && err.reason === "in_use") throw new ControlError("in_use", "Queue is in use");
      if (err instanceof AmqpError && err.reason === "not_empty") throw new ControlError("not_empty", "Queue is not empty");
      throw err;
    }
  },

  close_connection(ctx, args) {
    const pid = str(args, "pid");
    if (!isPidSyntax(pid)) throw new ControlError("invalid_pid_syntax", `{:invalid_pid_syntax, ${JSON.stringify(pid)}}`, pid);
    // A pid that is not (or no longer) a connection is not an error, as in RabbitMQ.
    closeConnections(ctx, (c) => ctx.ids.connectionPid(c) === pid, str(args, "explanation"));
    return null;
  },

  close_all_connections(ctx, args) {
    const explanation = str(args, "explanation");
    const limit = typeof args.limit === "number" ? args.limit : 0;
    const vhost = args.global === true ? undefined : str(args, "vhost");
    const closed = closeConnections(ctx, (c) => vhost === undefined || c.vhost?.name === vhost, explanation, limit);
    return { closed };
  },

  // ---- definitions and the node ----

  export_definitions(ctx) {
    return exportDefinitions(ctx.broker);
  },

  import_definitions(ctx, args) {
    const summary = importDefinitions(ctx.broker, args.definitions);
    ctx.log.info({ event: "definitions.imported", ...summary }, "imported definitions");
    if (summary.skipped.length > 0) {
      ctx.log.warn({ event: "definitions.skipped", skipped: summary.skipped }, `not imported (not supported): ${summary.skipped.join(", ")}`);
    }
    return summary;
  },

  stop() {
    return null; // the server starts the shutdown once this answer is written
  },
};

/** Run one request. Throws ControlError for a refused command, anything else for a bug. */
export function handleRequest(ctx: ControlContext, request: ControlRequest): unknown {
  const handler = Object.hasOwn(handlers, request.command) ? handlers[request.command] : undefined;
  if (handler === undefined) throw new ControlError("unknown_command", `unknown command '${request.command}'`);
  try {
    return handler(ctx, request.args ?? {});
  } catch (err) {
    if (err instanceof AccessError || err instanceof DefinitionsError) throw new ControlError(err.reason, err.message, err.subject);
    throw err;
  }
}

/** The list commands the handlers answer (for tests and docs). */
export const LIST_COMMANDS = Object.keys(INFO_KEYS) as ListCommand[];
