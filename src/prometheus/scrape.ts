/**
 * One scrape: walk the broker once and write rabbitmq_prometheus's metrics as text. Three shapes,
 * as the plugin's three endpoints:
 * - aggregated (/metrics): one unlabelled sample per family, the sum over queues, channels and
 *   connections, so a scrape stays small with many objects;
 * - per-object (/metrics/per-object): one sample per queue, channel and connection, labelled;
 * - detailed (/metrics/detailed): per object, only the groups asked for (`family`), optionally
 *   only some vhosts' queues and exchanges (`vhost`), named rabbitmq_detailed_*.
 * Everything read here is a counter or a size the broker keeps anyway: a scrape adds nothing to
 * the publish/deliver path, and costs time linear in the number of objects.
 */
import type { MessageStats } from "../broker/message-stats.js";
import type { Queue } from "../broker/queue.js";
import { QUEUE_TYPE_MODULE, type QueueType } from "../broker/queue-arguments.js";
import { RABBITMQ_COMPAT_VERSION } from "../definitions/export-definitions.js";
import type { ChannelInfo } from "../server/channel.js";
import type { Connection } from "../server/connection.js";
import type { PrometheusContext } from "./context.js";
import { F } from "./families.js";
import { clusterPermanentId } from "./identity.js";
import { diskFree, maxFds, openFds } from "./process-readings.js";
import { encodeLabels, label, labels, type MetricFamily, TextWriter } from "./text-writer.js";

export type ScrapeShape =
  | { kind: "aggregated" }
  | { kind: "per-object" }
  /** `groups`: rabbitmq_prometheus's family names; `vhosts`: undefined for every vhost. */
  | { kind: "detailed"; groups: ReadonlySet<string>; vhosts: ReadonlySet<string> | undefined };

/** The groups /metrics/detailed knows (others are ignored, as the plugin ignores unknown ones). */
export const DETAILED_GROUPS = [
  "connection_churn_metrics",
  "node_coarse_metrics",
  "node_metrics",
  "queue_coarse_metrics",
  "queue_consumer_count",
  "queue_metrics",
  "channel_metrics",
  "channel_exchange_metrics",
  "channel_queue_metrics",
  "channel_queue_exchange_metrics",
  "connection_coarse_metrics",
  "connection_metrics",
  "vhost_status",
  "exchange_names",
  "exchange_bindings",
  "auth_attempt_metrics",
] as const;

const PROTOCOL = label("protocol", "amqp091");
const QUEUE_TYPES: readonly QueueType[] = ["classic", "quorum", "stream"];

/** A family whose value is read from each object of a kind. */
type PerObject<T> = readonly [MetricFamily, (o: T) => number];

/** A channel as the channel families read it: its counters and a snapshot of its state. */
interface ChannelRow {
  stats: MessageStats;
  info: ChannelInfo;
}

const QUEUE_COARSE: PerObject<Queue>[] = [
  [F.queueMessagesReady, (q) => q.messageCount],
  [F.queueMessagesUnacked, (q) => q.unacked],
  [F.queueMessages, (q) => q.messageCount + q.unacked],
];
const QUEUE_CONSUMERS: PerObject<Queue> = [F.queueConsumers, (q) => q.consumerCount];
const QUEUE_SIZES: PerObject<Queue>[] = [
  [F.queueMessagesBytes, (q) => q.readyBytes + q.unackedBytes],
  [F.queueMessagesReadyBytes, (q) => q.readyBytes],
  [F.queueMessagesUnackedBytes, (q) => q.unackedBytes],
];
const QUEUE_PUBLISHED: PerObject<Queue> = [F.queueMessagesPublishedTotal, (q) => q.stats.publish];

const CHANNEL_STATE: PerObject<ChannelRow>[] = [
  [F.channelConsumers, (c) => c.info.consumerCount],
  [F.channelMessagesUnacked, (c) => c.info.messagesUnacknowledged],
  [F.channelMessagesUnconfirmed, (c) => c.info.messagesUnconfirmed],
  [F.channelMessagesUncommitted, (c) => c.info.messagesUncommitted],
  [F.channelAcksUncommitted, (c) => c.info.acksUncommitted],
  [F.consumerPrefetch, (c) => c.info.prefetchCount],
  [F.channelPrefetch, (c) => c.info.globalPrefetchCount],
];
const CHANNEL_PUBLISHES: PerObject<ChannelRow>[] = [
  [F.channelMessagesPublishedTotal, (c) => c.stats.publish],
  [F.channelMessagesConfirmedTotal, (c) => c.stats.confirm - c.info.messagesUnconfirmed],
  [F.channelMessagesUnroutableReturnedTotal, (c) => c.stats.returnUnroutable],
  [F.channelMessagesUnroutableDroppedTotal, (c) => c.stats.dropUnroutable],
];
const CHANNEL_DELIVERIES: PerObject<ChannelRow>[] = [
  [F.channelGetAckTotal, (c) => c.stats.get],
  [F.channelGetTotal, (c) => c.stats.getNoAck],
  [F.channelMessagesDeliveredAckTotal, (c) => c.stats.deliver],
  [F.channelMessagesDeliveredTotal, (c) => c.stats.deliverNoAck],
  [F.channelMessagesRedeliveredTotal, (c) => c.stats.redeliver],
  [F.channelMessagesAckedTotal, (c) => c.stats.ack],
  [F.channelGetEmptyTotal, (c) => c.stats.getEmpty],
];
const CONNECTION_BYTES: PerObject<Connection>[] = [
  [F.connectionIncomingBytesTotal, (c) => c.socket.bytesRead],
  [F.connectionOutgoingBytesTotal, (c) => c.socket.bytesWritten],
];
const CONNECTION_CHANNELS: PerObject<Connection> = [F.connectionChannels, (c) => channelCount(c)];

/** Per queue type, the global delivery counters and the queue counter each reads. */
const GLOBAL_DELIVERIES: ReadonlyArray<readonly [MetricFamily, (s: MessageStats) => number]> = [
  [F.globalMessagesDeliveredTotal, (s) => s.deliver + s.deliverNoAck + s.get + s.getNoAck],
  [F.globalMessagesDeliveredConsumeAutoAckTotal, (s) => s.deliverNoAck],
  [F.globalMessagesDeliveredConsumeManualAckTotal, (s) => s.deliver],
  [F.globalMessagesDeliveredGetAutoAckTotal, (s) => s.getNoAck],
  [F.globalMessagesDeliveredGetManualAckTotal, (s) => s.get],
  [F.globalMessagesRedeliveredTotal, (s) => s.redeliver],
  [F.globalMessagesAcknowledgedTotal, (s) => s.ack],
  [F.globalMessagesGetEmptyTotal, (s) => s.getEmpty],
];

/** An object and its labels, encoded once for every family that reads it (empty in aggregated scrapes). */
type Row<T> = [Uint8Array, T];
const NO_LABELS = new Uint8Array(0);

/** Write one scrape of `shape`: the body, UTF-8. */
export function scrape(ctx: PrometheusContext, shape: ScrapeShape): Buffer {
  const w = new TextWriter();
  const detailed = shape.kind === "detailed";
  const perObject = shape.kind !== "aggregated";
  const prefix = detailed ? "rabbitmq_detailed_" : undefined;
  const wants = (group: (typeof DETAILED_GROUPS)[number]): boolean => !detailed || shape.groups.has(group);
  const vhostWanted = (name: string): boolean => !detailed || shape.vhosts === undefined || shape.vhosts.has(name);

  // The objects, with their labels rendered once for every family that reads them.
  const queues: Row<Queue>[] = [];
  for (const [name, vhost] of ctx.broker.vhosts) {
    if (!vhostWanted(name)) continue;
    const vhostLabel = label("vhost", name);
    for (const q of vhost.queues.values()) queues.push([perObject ? encodeLabels(`${vhostLabel},${label("queue", q.name)}`) : NO_LABELS, q]);
  }
  const connections: Row<Connection>[] = [];
  const channels: Row<ChannelRow>[] = [];
  const channelsWithVhost: Row<ChannelRow>[] = [];
  for (const c of ctx.connections) {
    if (c.vhost === undefined) continue; // still in the handshake: not a connection yet for RabbitMQ
    // RabbitMQ 3.10 labels connection metrics "channel" (with the connection's pid): kept, so queries match.
    connections.push([perObject ? encodeLabels(label("channel", ctx.ids.connectionPid(c))) : NO_LABELS, c]);
    const vhostLabel = label("vhost", c.vhost.name);
    for (const ch of c.openChannels) {
      const row: ChannelRow = { stats: ch.stats, info: ch.info() };
      const channelLabel = perObject ? label("channel", ctx.ids.channelPid(c, ch.id)) : "";
      channels.push([encodeLabels(channelLabel), row]);
      channelsWithVhost.push([perObject ? encodeLabels(`${channelLabel},${vhostLabel}`) : NO_LABELS, row]);
    }
  }

  const emit = <T>(rows: Row<T>[], [family, read]: PerObject<T>, labelPrefix?: string): void => {
    w.family(family, prefix);
    if (!perObject) {
      let sum = 0;
      for (const [, o] of rows) sum += read(o);
      w.value(sum);
      return;
    }
    for (const [l, o] of rows) w.labelled(l, read(o), labelPrefix);
  };
  const emitAll = <T>(rows: Row<T>[], list: PerObject<T>[]): void => {
    for (const metric of list) emit(rows, metric);
  };

  // The alarms and process_start_time_seconds are /metrics's only (RabbitMQ's per-object registry has neither).
  if (!perObject) writeAlarms(w, ctx);
  if (wants("connection_churn_metrics")) writeChurn(w, ctx, prefix);
  if (wants("node_coarse_metrics")) writeNodeCoarse(w, ctx, prefix);
  if (wants("node_metrics")) writeNodeLimits(w, ctx, prefix);
  if (wants("auth_attempt_metrics")) writeLogins(w, ctx, prefix);
  if (wants("queue_coarse_metrics")) emitAll(queues, QUEUE_COARSE);
  // queue_consumers is in two groups: written once when both are asked for.
  if (wants("queue_metrics") || wants("queue_consumer_count")) emit(queues, QUEUE_CONSUMERS);
  if (wants("queue_metrics")) emitAll(queues, QUEUE_SIZES);
  if (wants("channel_metrics")) emitAll(channels, CHANNEL_STATE);
  if (wants("channel_exchange_metrics")) emitAll(channelsWithVhost, CHANNEL_PUBLISHES);
  if (wants("channel_queue_metrics")) emitAll(channelsWithVhost, CHANNEL_DELIVERIES);
  if (wants("connection_coarse_metrics")) emitAll(connections, CONNECTION_BYTES);
  if (wants("connection_metrics")) emit(connections, CONNECTION_CHANNELS);
  // Counted per queue, not per channel and exchange: the labels are the queue's (queue_vhost, queue).
  if (wants("channel_queue_exchange_metrics")) emit(queues, QUEUE_PUBLISHED, "queue_");
  if (detailed) {
    if (wants("vhost_status")) writeVhostStatus(w, ctx, vhostWanted);
    if (wants("exchange_names") || wants("exchange_bindings")) writeExchanges(w, ctx, vhostWanted, wants("exchange_names"), wants("exchange_bindings"));
  } else {
    writeTotals(w, queues, connections, channels);
  }
  writeIdentity(w, ctx);
  if (!detailed) {
    writeGlobal(w, ctx, queues, channels);
  }
  if (!perObject) {
    w.family(F.processStartTimeSeconds);
    w.value(Math.round(Date.now() / 1000 - process.uptime()));
  }
  return w.toBuffer();
}

function channelCount(c: Connection): number {
  let n = 0;
  for (const _ of c.openChannels) n++;
  return n;
}

function writeAlarms(w: TextWriter, ctx: PrometheusContext): void {
  const alarms = ctx.broker.alarms;
  // Warren has no file descriptor alarm: it never raises one.
  w.family(F.alarmsFileDescriptorLimit);
  w.value(0);
  w.family(F.alarmsFreeDiskSpaceWatermark);
  w.value(alarms.has("disk") ? 1 : 0);
  w.family(F.alarmsMemoryUsedWatermark);
  w.value(alarms.has("memory") ? 1 : 0);
}

function writeChurn(w: TextWriter, ctx: PrometheusContext, prefix: string | undefined): void {
  const c = ctx.broker.counters;
  const pairs: Array<[MetricFamily, number]> = [
    [F.connectionsOpenedTotal, c.connectionsOpened],
    [F.connectionsClosedTotal, c.connectionsClosed],
    [F.channelsOpenedTotal, c.channelsOpened],
    [F.channelsClosedTotal, c.channelsClosed],
    [F.queuesDeclaredTotal, c.queuesDeclared],
    [F.queuesCreatedTotal, c.queuesCreated],
    [F.queuesDeletedTotal, c.queuesDeleted],
  ];
  for (const [family, value] of pairs) {
    w.family(family, prefix);
    w.value(value);
  }
}

/** A family with one unlabelled value, left out when the value cannot be known here. */
function single(w: TextWriter, family: MetricFamily, value: number | undefined, prefix: string | undefined): void {
  if (value === undefined) return;
  w.family(family, prefix);
  w.value(value);
}

function writeNodeCoarse(w: TextWriter, ctx: PrometheusContext, prefix: string | undefined): void {
  single(w, F.processOpenFds, openFds(), prefix);
  single(w, F.processOpenTcpSockets, ctx.connections.size, prefix);
  single(w, F.processResidentMemoryBytes, process.memoryUsage.rss(), prefix);
  single(w, F.diskSpaceAvailableBytes, diskFree(ctx.options.dataDir), prefix);
}

function writeNodeLimits(w: TextWriter, ctx: PrometheusContext, prefix: string | undefined): void {
  const fds = maxFds();
  single(w, F.processMaxFds, fds, prefix);
  // Every descriptor can be a socket; connection_max, when set, is the lower bound.
  single(w, F.processMaxTcpSockets, Math.min(fds ?? Infinity, ctx.options.connectionMax), prefix);
  single(w, F.residentMemoryLimitBytes, ctx.memoryLimit(), prefix);
  single(w, F.diskSpaceAvailableLimitBytes, ctx.diskFreeLimit(), prefix);
  single(w, F.erlangUptimeSeconds, (Date.now() - ctx.startedAt) / 1000, prefix);
}

/** AMQP logins (the management API's HTTP logins, protocol "http" in RabbitMQ, are not counted). */
function writeLogins(w: TextWriter, ctx: PrometheusContext, prefix: string | undefined): void {
  const { loginsSucceeded, loginsFailed } = ctx.broker.counters;
  const pairs: Array<[MetricFamily, number]> = [
    [F.authAttemptsTotal, loginsSucceeded + loginsFailed],
    [F.authAttemptsSucceededTotal, loginsSucceeded],
    [F.authAttemptsFailedTotal, loginsFailed],
  ];
  for (const [family, value] of pairs) {
    w.family(family, prefix);
    w.labelled(PROTOCOL, value);
  }
}

function writeTotals(w: TextWriter, queues: Row<Queue>[], connections: Row<Connection>[], channels: Row<ChannelRow>[]): void {
  let consumers = 0;
  for (const [, q] of queues) consumers += q.consumerCount;
  single(w, F.connections, connections.length, undefined);
  single(w, F.channels, channels.length, undefined);
  single(w, F.consumers, consumers, undefined);
  single(w, F.queues, queues.length, undefined);
}

function writeIdentity(w: TextWriter, ctx: PrometheusContext): void {
  w.family(F.buildInfo);
  w.labelled(
    labels([
      ["rabbitmq_version", RABBITMQ_COMPAT_VERSION],
      ["prometheus_plugin_version", RABBITMQ_COMPAT_VERSION],
      ["prometheus_client_version", ctx.version],
      // The runtime in Erlang/OTP's place: Node.js's version, so a dashboard's version table says what runs.
      ["erlang_version", process.versions.node],
      ["product_name", "Warren"],
      ["product_version", ctx.version],
    ]),
    1,
  );
  w.family(F.identityInfo);
  w.labelled(
    labels([
      ["rabbitmq_node", ctx.ids.node],
      ["rabbitmq_cluster", ctx.ids.node],
      ["rabbitmq_cluster_permanent_id", clusterPermanentId(ctx.ids.node, ctx.options.dataDir)],
    ]),
    1,
  );
}

/**
 * rabbitmq_global_*: totals over the node's life, so they never go down: the live channels and
 * queues plus what closed channels and deleted queues had counted (src/broker/node-counters.ts).
 */
function writeGlobal(w: TextWriter, ctx: PrometheusContext, queues: Row<Queue>[], channels: Row<ChannelRow>[]): void {
  const counters = ctx.broker.counters;
  let consumers = 0;
  for (const [, q] of queues) consumers += q.consumerCount;
  let publishers = 0;
  const closed = counters.closedChannels;
  let received = closed.publish;
  let receivedConfirm = closed.confirm;
  let confirmed = closed.confirm;
  let dropped = closed.dropUnroutable;
  let returned = closed.returnUnroutable;
  for (const [, { stats, info }] of channels) {
    if (stats.publish > 0) publishers++;
    received += stats.publish;
    receivedConfirm += stats.confirm;
    confirmed += stats.confirm - info.messagesUnconfirmed;
    dropped += stats.dropUnroutable;
    returned += stats.returnUnroutable;
  }
  const byProtocol: Array<[MetricFamily, number]> = [
    [F.globalConsumers, consumers],
    [F.globalMessagesConfirmedTotal, confirmed],
    [F.globalMessagesReceivedConfirmTotal, receivedConfirm],
    [F.globalMessagesReceivedTotal, received],
    [F.globalMessagesRoutedTotal, received - dropped - returned],
    [F.globalMessagesUnroutableDroppedTotal, dropped],
    [F.globalMessagesUnroutableReturnedTotal, returned],
    [F.globalPublishers, publishers],
  ];
  for (const [family, value] of byProtocol) {
    w.family(family);
    w.labelled(PROTOCOL, value);
  }
  // Per queue type: the live queues' counters plus the deleted queues'.
  const live: Record<QueueType, MessageStats[]> = { classic: [], quorum: [], stream: [] };
  for (const [, q] of queues) live[q.type].push(q.stats);
  for (const [family, read] of GLOBAL_DELIVERIES) {
    w.family(family);
    for (const type of QUEUE_TYPES) {
      let value = read(counters.deletedQueues[type]);
      for (const s of live[type]) value += read(s);
      w.labelled(`${PROTOCOL},${label("queue_type", QUEUE_TYPE_MODULE[type])}`, value);
    }
  }
}

function writeVhostStatus(w: TextWriter, ctx: PrometheusContext, wanted: (vhost: string) => boolean): void {
  w.family(F.clusterVhostStatus);
  for (const name of ctx.broker.vhosts.keys()) if (wanted(name)) w.labelled(label("vhost", name), 1);
}

/** Every exchange but the default one and internal ones (amq.rabbitmq.trace), as the plugin lists them. */
function writeExchanges(w: TextWriter, ctx: PrometheusContext, wanted: (vhost: string) => boolean, names: boolean, bindings: boolean): void {
  const rows: Array<[string, number]> = [];
  for (const [vhostName, vhost] of ctx.broker.vhosts) {
    if (!wanted(vhostName)) continue;
    for (const x of vhost.exchanges.values()) {
      if (x.name === "" || x.options.internal) continue;
      rows.push([
        labels([
          ["vhost", vhostName],
          ["exchange", x.name],
          ["type", x.type],
        ]),
        x.bindings.size,
      ]);
    }
  }
  if (names) {
    w.family(F.clusterExchangeName);
    for (const [l] of rows) w.labelled(l, 1);
  }
  if (bindings) {
    w.family(F.clusterExchangeBindings);
    for (const [l, n] of rows) w.labelled(l, n);
  }
}
