/** /api/overview, /api/nodes, /api/whoami, /api/cluster-name, /api/extensions, /api/auth. */
import { readdirSync, readFileSync, statfsSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { exchangeTypes } from "../../broker/exchange/registry.js";
import { RABBITMQ_COMPAT_VERSION } from "../../definitions/export-definitions.js";
import { type ApiRouter, noContent } from "../api.js";
import { type Principal, requireAdministrator, requireMonitor, visibleVhosts } from "../auth.js";
import type { ManagementContext } from "../context.js";
import { httpError } from "../http-error.js";
import { objectResponse, type Item } from "../listing.js";
import { bodyObject, stringParam } from "../params.js";
import { type SampleRanges, sampleRanges } from "../sample-range.js";

const SAMPLE_RETENTION_POLICIES = { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] };

/** Descriptions of the types that are not AMQP's own: the delayed-message plugin's, as it registers it. */
const PLUGIN_TYPE_DESCRIPTIONS: Record<string, string> = { "x-delayed-message": "Delayed Message Exchange." };

/** The exchange types with RabbitMQ's descriptions. */
export function exchangeTypeList(): Item[] {
  return [...exchangeTypes.keys()].sort().map((name) => ({
    name,
    description: PLUGIN_TYPE_DESCRIPTIONS[name] ?? `AMQP ${name} exchange, as per the AMQP specification`,
    enabled: true,
  }));
}

const MECHANISM_DESCRIPTIONS: Record<string, string> = {
  PLAIN: "SASL PLAIN authentication mechanism",
  AMQPLAIN: "QPid AMQPLAIN mechanism",
  EXTERNAL: "SSL authentication mechanism using SASL EXTERNAL",
};

export function registerOverviewRoutes(api: ApiRouter, ctx: ManagementContext): void {
  /** The cluster name; PUT /api/cluster-name changes it until the next start. */
  let clusterName = ctx.ids.node;

  api.get("/api/overview", (call) => objectResponse(overview(ctx, call.principal, clusterName, sampleRanges(call.query)), call.query));

  api.get("/api/whoami", (call) => ({ name: call.principal.user.name, tags: [...call.principal.user.tags] }));

  api.get("/api/cluster-name", () => ({ name: clusterName }));
  api.put("/api/cluster-name", (call) => {
    requireAdministrator(call.principal);
    const name = stringParam(bodyObject(call.body), "name");
    if (name === "") throw httpError.badRequest("name must not be empty");
    clusterName = name;
    return noContent();
  });

  api.get("/api/nodes", (call) => {
    requireMonitor(call.principal);
    return [objectResponse(node(ctx), call.query)];
  });
  api.get("/api/nodes/:node", (call) => {
    requireMonitor(call.principal);
    if (call.params.node !== ctx.ids.node) throw httpError.notFound();
    return objectResponse(node(ctx), call.query);
  });

  // Extensions of the web UI (plugins' JavaScript); Warren has none.
  api.get("/api/extensions", () => []);

  // How the web UI should log in: basic auth, no OAuth 2 (UAA).
  api.get("/api/auth", () => ({ enable_uaa: false, uaa_client_id: "", uaa_location: "" }), { public: true });
}

function overview(ctx: ManagementContext, p: Principal, clusterName: string, ranges: SampleRanges): Item {
  const vhosts = visibleVhosts(ctx.broker, p);
  const connections = [...ctx.connections].filter((c) => (p.isMonitor ? true : c.username === p.user.name));
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  let [messages, ready, unacked] = [0, 0, 0];
  for (const name of vhosts) {
    const vhost = ctx.broker.vhosts.get(name)!;
    queues += vhost.queues.size;
    exchanges += vhost.exchanges.size;
    for (const q of vhost.queues.values()) {
      consumers += q.consumerCount;
      ready += q.messageCount;
      unacked += q.unacked;
      messages += q.messageCount + q.unacked;
    }
  }
  const channels = connections.reduce((n, c) => n + [...c.openChannels].length, 0);
  const depth = ctx.rates.nodeDepthDetails(ranges.lengths);
  const out: Item = {
    management_version: RABBITMQ_COMPAT_VERSION,
    rates_mode: "basic",
    sample_retention_policies: SAMPLE_RETENTION_POLICIES,
    exchange_types: exchangeTypeList(),
    product_version: ctx.version,
    product_name: "Warren",
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    cluster_name: clusterName,
    release_series_support_status: "supported",
    disable_stats: false,
    enable_queue_totals: false,
    message_stats: p.isMonitor ? ctx.rates.nodeMessageStats(ranges.msgRates) : {},
    // RabbitMQ gives churn samples (over the lengths range) only when message rates are asked for too.
    churn_rates: ctx.rates.churnRates(ranges.msgRates === undefined ? undefined : ranges.lengths),
    queue_totals: {
      messages,
      messages_details: depth.messages,
      messages_ready: ready,
      messages_ready_details: depth.ready,
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: depth.unacked,
    },
    object_totals: p.isMonitor
      ? { channels, connections: connections.length, consumers, exchanges, queues }
      : { channels, connections: connections.length, exchanges, queues },
    statistics_db_event_queue: 0,
  };
  if (p.isMonitor) {
    out.node = ctx.ids.node;
    out.listeners = listeners(ctx);
    out.contexts = contexts(ctx);
  }
  return out;
}

function listeners(ctx: ManagementContext): Item[] {
  return ctx
    .listeners()
    .filter((l) => l.protocol !== "http")
    .map((l) => ({ node: ctx.ids.node, protocol: l.protocol, ip_address: l.host === "" ? "::" : l.host, port: l.port, socket_opts: {} }))
    .concat(
      ctx
        .listeners()
        .filter((l) => l.protocol === "http")
        .map((l) => ({ node: ctx.ids.node, protocol: "http", ip_address: l.host === "" ? "::" : l.host, port: l.port, socket_opts: { port: l.port } })),
    );
}

function contexts(ctx: ManagementContext): Item[] {
  return ctx
    .listeners()
    .filter((l) => l.protocol === "http")
    .map((l) => ({ node: ctx.ids.node, description: "RabbitMQ Management", path: "/", port: String(l.port), ...(l.host === "" ? {} : { ip: l.host }) }));
}

function node(ctx: ManagementContext): Item {
  const mem = process.memoryUsage();
  const disk = diskFree(ctx.options.dataDir);
  const alarms = ctx.broker.alarms;
  const connections = [...ctx.connections].length;
  const fdTotal = openFileLimit();
  return {
    applications: [],
    auth_mechanisms: ["PLAIN", "AMQPLAIN", "EXTERNAL"].map((name) => ({
      name,
      description: MECHANISM_DESCRIPTIONS[name],
      enabled: ctx.options.authMechanisms.includes(name),
    })),
    cluster_links: [],
    config_files: ctx.options.configFile === "" ? [] : [ctx.options.configFile],
    contexts: contexts(ctx),
    db_dir: ctx.options.dataDir,
    disk_free: disk,
    disk_free_alarm: alarms.has("disk"),
    disk_free_limit: ctx.options.diskFreeLimit,
    enabled_plugins: ["rabbitmq_management"],
    exchange_types: exchangeTypeList(),
    fd_total: fdTotal,
    fd_used: openFiles(),
    log_files: ["<stdout>"],
    mem_alarm: alarms.has("memory"),
    mem_calculation_strategy: "rss",
    mem_limit: ctx.memory?.limit ?? Math.floor(totalmem() * ctx.options.vmMemoryHighWatermark),
    mem_used: mem.rss,
    name: ctx.ids.node,
    net_ticktime: 60,
    os_pid: String(process.pid),
    partitions: [],
    proc_total: 1048576,
    proc_used: 0,
    processors: availableParallelism(),
    rates_mode: "basic",
    run_queue: 0,
    running: true,
    sockets_total: fdTotal,
    sockets_used: connections,
    type: "disc",
    uptime: Date.now() - ctx.startedAt,
    ...nodeCounters(ctx),
  };
}

/**
 * The node's counters RabbitMQ 3.10 lists: churn from Warren's counters, context switches from
 * the process; RabbitMQ's file-handle, Mnesia, message-store, queue-index and Raft counters have
 * no counterpart in Warren and are 0, as on a node that has done none of that.
 */
function nodeCounters(ctx: ManagementContext): Item {
  const c = ctx.broker.counters;
  const usage = process.resourceUsage();
  const zero = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, 0]));
  return {
    gc_num: 0,
    gc_bytes_reclaimed: 0,
    context_switches: usage.voluntaryContextSwitches + usage.involuntaryContextSwitches,
    ...zero([
      "io_read_count",
      "io_read_bytes",
      "io_read_avg_time",
      "io_write_count",
      "io_write_bytes",
      "io_write_avg_time",
      "io_sync_count",
      "io_sync_avg_time",
    ]),
    ...zero([
      "io_seek_count",
      "io_seek_avg_time",
      "io_reopen_count",
      "mnesia_ram_tx_count",
      "mnesia_disk_tx_count",
      "msg_store_read_count",
      "msg_store_write_count",
    ]),
    ...zero(["queue_index_write_count", "queue_index_read_count"]),
    connection_created: c.connectionsOpened,
    connection_closed: c.connectionsClosed,
    channel_created: c.channelsOpened,
    channel_closed: c.channelsClosed,
    queue_declared: c.queuesDeclared,
    queue_created: c.queuesCreated,
    queue_deleted: c.queuesDeleted,
    metrics_gc_queue_length: zero([
      "connection_closed",
      "channel_closed",
      "consumer_deleted",
      "exchange_deleted",
      "queue_deleted",
      "vhost_deleted",
      "node_node_deleted",
      "channel_consumer_deleted",
    ]),
    ra_open_file_metrics: { ra_log_wal: 0, ra_log_segment_writer: 0 },
  };
}

function diskFree(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

function openFiles(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 0;
  }
}

/** The soft limit on open files (RabbitMQ's fd_total), from /proc where there is one. */
function openFileLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? 1048576 : Number(soft);
  } catch {
    return 1024;
  }
}
