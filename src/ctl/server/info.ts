/**
 * The rows of warrenctl's list commands, computed in the broker: one InfoValue per requested
 * column, with RabbitMQ's meaning for each column. Columns that describe machinery Warren does
 * not have (mirrors, quorum members, TLS on a plain listener) are empty, as RabbitMQ shows them
 * for a classic queue or a plain connection.
 */
import type { Broker } from "../../broker/broker.js";
import { isQueue, type Binding } from "../../broker/binding.js";
import type { Consumer } from "../../broker/consumer.js";
import type { Queue } from "../../broker/queue.js";
import { queueTypeOf } from "../../broker/queue-arguments.js";
import { StreamQueue } from "../../broker/stream-queue.js";
import type { VHost } from "../../broker/vhost.js";
import type { Exchange } from "../../broker/exchange/exchange.js";
import { effectiveDefinition } from "../../broker/effective-settings.js";
import { formatDefinition } from "../../broker/policy-definition.js";
import { Channel } from "../../server/channel.js";
import type { Connection } from "../../server/connection.js";
import { tlsInfo } from "../../server/tls-peer.js";
import type { InfoValue } from "../info-values.js";
import { tableInfo } from "./table-info.js";
import type { NodeIdentity } from "./node-identity.js";

/** What the list commands read. */
export interface InfoSource {
  broker: Broker;
  connections: Iterable<Connection>;
  ids: NodeIdentity;
}

type Row<T> = (item: T, key: string) => InfoValue;

function rows<T>(items: Iterable<T>, keys: readonly string[], row: Row<T>): InfoValue[][] {
  const out: InfoValue[][] = [];
  for (const item of items) out.push(keys.map((k) => row(item, k)));
  return out;
}

// ---- queues ----

/** What a queue's index costs per ready message (message-log.ts: a position and its flag bits). */
const INDEX_BYTES_PER_MESSAGE = 9;

export function queueRows(src: InfoSource, vhost: VHost | undefined, keys: readonly string[]): InfoValue[][] {
  if (vhost === undefined) return [];
  const connectionOf = ownerConnections(src);
  return rows(vhost.queues.values(), keys, (q, key) => {
    if (q instanceof StreamQueue) {
      const value = streamInfo(q, key);
      if (value !== undefined) return value;
    }
    const quorum = q.type === "quorum" ? quorumColumn(key, src.ids.node) : undefined;
    if (quorum !== undefined) return quorum;
    switch (key) {
      case "name":
        return q.name;
      case "durable":
        return q.isDurable; // an exclusive queue is never durable (RabbitMQ)
      case "auto_delete":
        return q.options.autoDelete;
      case "arguments":
        return tableInfo(q.options.arguments);
      case "exclusive":
        return q.options.exclusive;
      case "owner_pid": {
        const owner = q.exclusiveOwner;
        return owner !== undefined && connectionOf.has(owner) ? { pid: src.ids.connectionPid(owner) } : "";
      }
      case "pid":
        return { pid: src.ids.queuePid(q) };
      case "exclusive_consumer_pid": {
        const c = q.consumers.find((x) => x.options.exclusive);
        return c !== undefined && c.owner instanceof Channel ? { pid: src.ids.channelPid(c.owner.host, c.owner.id) } : "";
      }
      case "exclusive_consumer_tag":
        return q.consumers.find((x) => x.options.exclusive)?.tag ?? "";
      case "messages_ready":
        return q.messageCount;
      case "messages_unacknowledged":
        return q.unacked;
      case "messages":
        // With the dead letters an at-least-once quorum queue holds, as RabbitMQ counts them.
        return q.messageCount + q.unacked + q.deadLettersHeld;
      case "messages_ready_ram":
        return q.messageCount; // its position is in memory; its bytes are in the segment cache or on disk
      case "messages_unacknowledged_ram":
        return q.unacked;
      case "messages_ram":
        return q.messageCount + q.unacked;
      case "messages_persistent":
        return q.readyPersistent;
      case "message_bytes":
        return q.readyBytes + q.unackedBytes;
      case "message_bytes_ready":
      case "message_bytes_ram":
        return q.readyBytes;
      case "message_bytes_unacknowledged":
        return q.unackedBytes;
      case "message_bytes_persistent":
        return 0;
      case "consumers":
        return q.consumerCount;
      case "consumer_utilisation":
      case "consumer_capacity":
        return q.consumerCount > 0 ? { float: 1 } : 0;
      case "memory":
        return 1024 + q.messageCount * INDEX_BYTES_PER_MESSAGE;
      case "disk_reads":
      case "disk_writes":
        return 0;
      case "state":
        return "running";
      case "type":
        return q.type;
      case "policy":
        return q.policy?.name ?? "";
      case "operator_policy":
        return q.operatorPolicy?.name ?? "";
      case "effective_policy_definition": {
        const definition = effectiveDefinition(q.policy, q.operatorPolicy);
        return definition === undefined ? "" : formatDefinition(definition);
      }
      default:
        return ""; // head_message_timestamp, slave_pids, leader, members, online...
    }
  });
}

/**
 * The columns rabbitmqctl 3.10 shows differently for a stream: messages (and ready) are the log's
 * length, none is ever unacknowledged, and the columns about RAM, persistence and bytes are blank.
 * Undefined for the columns a stream shows as any queue does.
 */
function streamInfo(q: StreamQueue, key: string): InfoValue | undefined {
  switch (key) {
    case "messages":
    case "messages_ready":
      return q.messageCount;
    case "messages_unacknowledged":
      return 0;
    case "messages_ram":
    case "messages_ready_ram":
    case "messages_unacknowledged_ram":
    case "messages_persistent":
    case "message_bytes":
    case "message_bytes_ready":
    case "message_bytes_unacknowledged":
    case "message_bytes_ram":
    case "message_bytes_persistent":
    case "consumer_utilisation":
    case "consumer_capacity":
      return "";
    case "consumers":
      return q.consumers.length;
    default:
      return undefined;
  }
}

/**
 * A column rabbitmqctl 3.10 shows otherwise for a quorum queue: blank where a quorum queue keeps
 * no such figure, 0 in memory, and the node as its leader and only member. Undefined for the
 * columns shown as for any queue.
 */
function quorumColumn(key: string, node: string): InfoValue | undefined {
  switch (key) {
    case "exclusive":
    case "exclusive_consumer_pid":
    case "exclusive_consumer_tag":
    case "messages_ready_ram":
    case "messages_unacknowledged_ram":
    case "messages_persistent":
    case "message_bytes":
    case "message_bytes_ready":
    case "message_bytes_unacknowledged":
    case "message_bytes_persistent":
    case "disk_reads":
    case "disk_writes":
    case "consumer_utilisation":
    case "consumer_capacity":
      return "";
    case "messages_ram":
    case "message_bytes_ram":
      return 0;
    case "leader":
      return node;
    case "members":
    case "online":
      return { atoms: [node] };
    default:
      return undefined;
  }
}

/** Connections by identity, to tell an exclusive queue's owner (opaque to the broker). */
function ownerConnections(src: InfoSource): Set<object> {
  return new Set<object>(src.connections);
}

// ---- exchanges and bindings ----

export function exchangeRows(vhost: VHost | undefined, keys: readonly string[]): InfoValue[][] {
  if (vhost === undefined) return [];
  return rows(vhost.exchanges.values(), keys, (x: Exchange, key) => {
    switch (key) {
      case "name":
        return x.name;
      case "type":
        return x.type;
      case "durable":
        return x.options.durable;
      case "auto_delete":
        return x.options.autoDelete;
      case "internal":
        return x.options.internal;
      case "arguments":
        return tableInfo(x.options.arguments);
      case "policy":
        return x.policy?.name ?? "";
      default:
        return "";
    }
  });
}

interface BindingRow {
  source: string;
  destination: string;
  destinationKind: "queue" | "exchange";
  routingKey: string;
  binding?: Binding;
}

/**
 * Bindings in RabbitMQ's order: the default exchange's implicit binding of every queue first, then
 * the others sorted by source, routing key and destination (its binding table's order).
 */
export function bindingRows(vhost: VHost | undefined, keys: readonly string[]): InfoValue[][] {
  if (vhost === undefined) return [];
  const implicit: BindingRow[] = [...vhost.queues.values()].map((q) => ({ source: "", destination: q.name, destinationKind: "queue", routingKey: q.name }));
  const explicit: BindingRow[] = [];
  for (const x of vhost.exchanges.values()) {
    for (const b of x.bindings.values()) {
      explicit.push({
        source: x.name,
        destination: b.destination.name,
        destinationKind: isQueue(b.destination) ? "queue" : "exchange",
        routingKey: b.routingKey,
        binding: b,
      });
    }
  }
  explicit.sort(
    (a, b) => cmp(a.source, b.source) || cmp(a.routingKey, b.routingKey) || cmp(a.destinationKind, b.destinationKind) || cmp(a.destination, b.destination),
  );
  return rows([...implicit, ...explicit], keys, (b, key) => {
    switch (key) {
      case "source_name":
        return b.source;
      case "source_kind":
        return "exchange";
      case "destination_name":
        return b.destination;
      case "destination_kind":
        return b.destinationKind;
      case "routing_key":
        return b.routingKey;
      case "arguments":
        return tableInfo(b.binding?.args ?? {});
      default:
        return "";
    }
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- connections, channels, consumers ----

/** "127.0.0.1" for an IPv4-mapped IPv6 address, as RabbitMQ shows it. */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

function connectionState(c: Connection): string {
  if (c.isRunning) return c.readState;
  return c.user === undefined ? "starting" : "closing";
}

export function connectionRows(src: InfoSource, keys: readonly string[]): InfoValue[][] {
  return rows(src.connections, keys, (c, key) => {
    const s = c.socket;
    switch (key) {
      case "pid":
        return { pid: src.ids.connectionPid(c) };
      case "name":
        return c.name;
      case "port":
        return s.localPort ?? 0;
      case "host":
        return { ip: plainAddress(s.localAddress) };
      case "peer_port":
        return s.remotePort ?? 0;
      case "peer_host":
        return { ip: plainAddress(s.remoteAddress) };
      case "ssl":
        return tlsInfo(s) !== undefined;
      case "ssl_protocol":
        return tlsInfo(s)?.protocol ?? "";
      case "peer_cert_subject":
        return tlsInfo(s)?.peerCertSubject ?? "";
      case "peer_cert_issuer":
        return tlsInfo(s)?.peerCertIssuer ?? "";
      case "state":
        return connectionState(c);
      case "channels":
        return [...c.openChannels].length;
      case "protocol":
        return { tuple: [0, 9, 1] };
      case "auth_mechanism":
        return c.authMechanism;
      case "user":
        return c.username;
      case "vhost":
        return c.vhost?.name ?? "";
      case "timeout":
        return c.heartbeat;
      case "frame_max":
        return c.frameMax;
      case "channel_max":
        return c.channelMax;
      case "client_properties":
        return tableInfo(c.clientProperties);
      case "recv_oct":
        return s.bytesRead;
      case "send_oct":
        return s.bytesWritten;
      case "recv_cnt":
      case "send_cnt":
        return 0;
      case "send_pend":
        return s.writableLength;
      case "connected_at":
        return c.connectedAt;
      default:
        return ""; // ssl_protocol, ssl_cipher, peer_cert_*, ...
    }
  });
}

export function channelRows(src: InfoSource, keys: readonly string[]): InfoValue[][] {
  const channels: Channel[] = [];
  for (const c of src.connections) for (const ch of c.openChannels) channels.push(ch);
  return rows(channels, keys, (ch, key) => {
    const c = ch.host;
    const info = ch.info();
    switch (key) {
      case "pid":
        return { pid: src.ids.channelPid(c, ch.id) };
      case "connection":
        return { pid: src.ids.connectionPid(c) };
      case "name":
        return `${c.name} (${ch.id})`;
      case "number":
        return ch.id;
      case "user":
        return c.username;
      case "vhost":
        return c.vhost?.name ?? "";
      case "transactional":
        return info.transactional;
      case "confirm":
        return info.confirm;
      case "consumer_count":
        return info.consumerCount;
      case "messages_unacknowledged":
        return info.messagesUnacknowledged;
      case "messages_uncommitted":
        return info.messagesUncommitted;
      case "acks_uncommitted":
        return info.acksUncommitted;
      case "messages_unconfirmed":
        return info.messagesUnconfirmed;
      case "prefetch_count":
        return info.prefetchCount;
      case "global_prefetch_count":
        return info.globalPrefetchCount;
      default:
        return "";
    }
  });
}

export function consumerRows(src: InfoSource, vhost: VHost | undefined, keys: readonly string[]): InfoValue[][] {
  if (vhost === undefined) return [];
  const consumers: Consumer[] = [];
  for (const q of vhost.queues.values()) consumers.push(...q.consumers);
  return rows(consumers, keys, (consumer, key) => {
    switch (key) {
      case "queue_name":
        return consumer.queue.name;
      case "channel_pid": {
        const ch = consumer.owner;
        return ch instanceof Channel ? { pid: src.ids.channelPid(ch.host, ch.id) } : "";
      }
      case "consumer_tag":
        return consumer.tag;
      case "ack_required":
        return !consumer.options.noAck;
      case "prefetch_count":
        return consumer.options.prefetch;
      case "active":
        return !consumer.queue.singleActiveConsumer || consumer.queue.activeConsumer === consumer;
      case "activity_status":
        // rabbitmqctl's words: "up" in ordinary queues, "single_active" or "waiting" with x-single-active-consumer.
        if (!consumer.queue.singleActiveConsumer) return "up";
        return consumer.queue.activeConsumer === consumer ? "single_active" : "waiting";
      case "arguments":
        return tableInfo(consumer.options.arguments);
      default:
        return "";
    }
  });
}

// ---- vhosts ----

export function vhostRows(src: InfoSource, keys: readonly string[]): InfoValue[][] {
  return rows(src.broker.vhosts.values(), keys, (v, key) => {
    switch (key) {
      case "name":
        return v.name;
      case "description":
        return v.metadata.description;
      case "tags":
        return { atoms: v.metadata.tags };
      case "default_queue_type":
        return "undefined";
      case "tracing":
        return false;
      case "cluster_state":
        return { nodes: { [src.ids.node]: "running" } };
      default:
        return "";
    }
  });
}
