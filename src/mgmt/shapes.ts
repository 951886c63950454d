/**
 * The JSON objects the API answers with, in RabbitMQ 3.10's shapes: the keys its management
 * plugin gives for a classic queue, an exchange, a binding, a connection, a channel, a consumer.
 * Keys that describe Erlang machinery (garbage_collection, reductions) are left out; keys that
 * name things Warren does not have (mirrors) are null or empty, as RabbitMQ shows them for an
 * object that has none.
 */
import type { FieldTable } from "../amqp/field-types.js";
import { isQueue, type Binding } from "../broker/binding.js";
import type { Consumer } from "../broker/consumer.js";
import { effectiveDefinition } from "../broker/effective-settings.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import type { Queue } from "../broker/queue.js";
import { tableToJson } from "../definitions/field-table-json.js";
import type { NodeIdentity } from "../ctl/server/node-identity.js";
import { Channel } from "../server/channel.js";
import { Connection } from "../server/connection.js";
import { tlsInfo } from "../server/tls-peer.js";
import { propertiesKey } from "./binding-key.js";
import type { Item, Query } from "./listing.js";
import type { Rates } from "./rates.js";
import { type SampleRanges, sampleRanges } from "./sample-range.js";

/** What the shapes need besides the object itself. */
export interface ShapeContext {
  ids: NodeIdentity;
  rates: Rates;
  /** Open connections, to tell whether an exclusive queue's owner is one. */
  connections: Iterable<Connection>;
  /** The sample ranges the request asked for (`msg_rates_age`, ...): `*_details` get samples. */
  ranges?: SampleRanges;
}

/** The shape context of one request: the sample ranges its query asks for. */
export function forRequest<T extends ShapeContext>(sc: T, query: Query): T {
  return { ...sc, ranges: sampleRanges(query) };
}

export function argumentsJson(table: FieldTable): Item {
  return tableToJson(table);
}

/** A figure and its details, as RabbitMQ pairs them: `messages` with `messages_details`. */
function withDetails(out: Item, key: string, value: number, details: Item): void {
  out[key] = value;
  out[`${key}_details`] = details;
}

export function queueJson(q: Queue, sc: ShapeContext): Item {
  const exclusiveConsumer = q.consumers.find((c) => c.options.exclusive);
  const out: Item = {
    arguments: argumentsJson(q.options.arguments),
    auto_delete: q.options.autoDelete,
  };
  if (q.type === "classic") out.backing_queue_status = backingQueueStatus(q);
  Object.assign(out, {
    consumer_capacity: q.consumerCount > 0 ? 1.0 : 0,
    consumer_utilisation: q.consumerCount > 0 ? 1.0 : 0,
    consumers: q.consumerCount,
    durable: q.isDurable,
    effective_policy_definition: effectiveDefinition(q.policy, q.operatorPolicy) ?? {},
    exclusive: q.options.exclusive,
    exclusive_consumer_tag: exclusiveConsumer?.tag ?? null,
    head_message_timestamp: null,
    memory: 1024 + q.messageCount * 9,
    message_bytes: q.readyBytes + q.unackedBytes + q.deadLetterBytesHeld,
    message_bytes_paged_out: 0,
    message_bytes_persistent: 0,
    message_bytes_ram: q.readyBytes,
    message_bytes_ready: q.readyBytes,
    message_bytes_unacknowledged: q.unackedBytes,
  });
  const stats = sc.rates.queueStats(q, sc.ranges?.msgRates);
  if (stats !== undefined) out.message_stats = stats;
  const r = sc.rates.queueDepthDetails(q, sc.ranges?.lengths);
  // A quorum queue's dead letters held until their targets have them (at-least-once) count too, and apart.
  withDetails(out, "messages", q.messageCount + q.unacked + q.deadLettersHeld, r.messages);
  if (q.type === "quorum") {
    out.messages_dlx = q.deadLettersHeld;
    out.message_bytes_dlx = q.deadLetterBytesHeld;
  }
  out.messages_paged_out = 0;
  out.messages_persistent = q.readyPersistent;
  out.messages_ram = q.messageCount + q.unacked;
  withDetails(out, "messages_ready", q.messageCount, r.ready);
  out.messages_ready_ram = q.messageCount;
  withDetails(out, "messages_unacknowledged", q.unacked, r.unacked);
  out.messages_unacknowledged_ram = q.unacked;
  out.name = q.name;
  out.node = sc.ids.node;
  out.operator_policy = q.operatorPolicy?.name ?? null;
  out.policy = q.policy?.name ?? null;
  out.recoverable_slaves = null;
  out.single_active_consumer_tag = q.singleActiveConsumer ? (q.activeConsumer?.tag ?? null) : null;
  out.state = "running";
  out.type = q.type;
  out.vhost = q.vhost;
  if (q.consumerCount === 0) out.idle_since = new Date().toISOString().replace("T", " ").slice(0, 19);
  return out;
}

/**
 * A classic queue's backing_queue_status in RabbitMQ's shape (its variable_queue's figures), for
 * tools that read `mode` or `len`: Warren's queue has no RAM/disk phases (q1..q4, delta), so every
 * ready message counts as q4 and the rest is empty.
 */
function backingQueueStatus(q: Queue): Item {
  return {
    avg_ack_egress_rate: 0,
    avg_ack_ingress_rate: 0,
    avg_egress_rate: 0,
    avg_ingress_rate: 0,
    delta: ["delta", "undefined", 0, 0, "undefined"],
    len: q.messageCount,
    mode: "default",
    next_deliver_seq_id: q.stats.deliver + q.stats.deliverNoAck + q.stats.get + q.stats.getNoAck,
    next_seq_id: q.stats.publish,
    q1: 0,
    q2: 0,
    q3: 0,
    q4: q.messageCount,
    target_ram_count: "infinity",
    version: 1,
  };
}

export function exchangeJson(x: Exchange, sc: ShapeContext): Item {
  const out: Item = {
    arguments: argumentsJson(x.options.arguments),
    auto_delete: x.options.autoDelete,
    durable: x.options.durable,
    internal: x.options.internal,
  };
  const stats = sc.rates.exchangeStats(x, sc.ranges?.msgRates);
  if (stats !== undefined) out.message_stats = stats;
  out.name = x.name;
  // As RabbitMQ: the key only when a policy applies.
  if (x.policy !== undefined) out.policy = x.policy.name;
  out.type = x.type;
  out.user_who_performed_action = x.name === "" || x.name.startsWith("amq.") ? "rmq-internal" : "";
  out.vhost = x.vhost;
  return out;
}

export interface BindingView {
  vhost: string;
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
  args: FieldTable;
}

export function bindingView(b: Binding): BindingView {
  return {
    vhost: b.source.vhost,
    source: b.source.name,
    destination: b.destination.name,
    destinationType: isQueue(b.destination) ? "queue" : "exchange",
    routingKey: b.routingKey,
    args: b.args,
  };
}

/** The default exchange's implicit binding of a queue, which RabbitMQ lists first. */
export function implicitBinding(q: Queue): BindingView {
  return { vhost: q.vhost, source: "", destination: q.name, destinationType: "queue", routingKey: q.name, args: {} };
}

export function bindingJson(b: BindingView): Item {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationType,
    routing_key: b.routingKey,
    arguments: argumentsJson(b.args),
    properties_key: propertiesKey(b.routingKey, b.args),
  };
}

/** "127.0.0.1" for an IPv4-mapped IPv6 address, as RabbitMQ shows it. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export function connectionJson(c: Connection, sc: ShapeContext): Item {
  const s = c.socket;
  const tls = tlsInfo(s);
  const out: Item = {
    auth_mechanism: c.authMechanism,
    channel_max: c.channelMax,
    channels: [...c.openChannels].length,
    client_properties: argumentsJson(c.clientProperties),
    connected_at: c.connectedAt,
    frame_max: c.frameMax,
    host: plainAddress(s.localAddress),
    name: c.name,
    node: sc.ids.node,
    peer_cert_issuer: tls?.peerCertIssuer ?? null,
    peer_cert_subject: tls?.peerCertSubject ?? null,
    peer_cert_validity: null,
    peer_host: plainAddress(s.remoteAddress),
    peer_port: s.remotePort ?? 0,
    port: s.localPort ?? 0,
    protocol: "AMQP 0-9-1",
    recv_cnt: 0,
  };
  const r = sc.rates.connectionDetails(c, sc.ranges?.dataRates);
  withDetails(out, "recv_oct", s.bytesRead, r.recv);
  out.send_cnt = 0;
  withDetails(out, "send_oct", s.bytesWritten, r.send);
  out.send_pend = s.writableLength;
  out.ssl = tls !== undefined;
  out.ssl_cipher = null;
  out.ssl_hash = null;
  out.ssl_key_exchange = null;
  out.ssl_protocol = tls?.protocol ?? null;
  out.state = c.isRunning ? c.readState : c.user === undefined ? "starting" : "closing";
  out.timeout = c.heartbeat;
  out.type = "network";
  out.user = c.username;
  // The name the client gave its connection (client property connection_name), when it gave one.
  const given = c.clientProperties.connection_name;
  if (typeof given === "string") out.user_provided_name = given;
  out.user_who_performed_action = c.username;
  out.vhost = c.vhost?.name ?? "";
  return out;
}

/** The channel's connection's address: remote host and port (its host is a Connection when it has a socket). */
function peerOf(ch: Channel): { peer_host: string; peer_port: number } {
  const c = ch.host;
  if (!(c instanceof Connection)) return { peer_host: "", peer_port: 0 };
  return { peer_host: plainAddress(c.socket.remoteAddress), peer_port: c.socket.remotePort ?? 0 };
}

export function channelName(ch: Channel): string {
  return `${ch.host.name} (${ch.id})`;
}

export function channelJson(ch: Channel, sc: ShapeContext): Item {
  const c = ch.host;
  const info = ch.info();
  const out: Item = {
    acks_uncommitted: info.acksUncommitted,
    confirm: info.confirm,
    connection_details: { name: c.name, ...peerOf(ch) },
    consumer_count: info.consumerCount,
    global_prefetch_count: info.globalPrefetchCount,
  };
  const stats = sc.rates.channelStats(ch, sc.ranges?.msgRates);
  if (stats !== undefined) out.message_stats = stats;
  Object.assign(out, {
    messages_unacknowledged: info.messagesUnacknowledged,
    messages_uncommitted: info.messagesUncommitted,
    messages_unconfirmed: info.messagesUnconfirmed,
    name: channelName(ch),
    node: sc.ids.node,
    number: ch.id,
    pending_raft_commands: 0,
    prefetch_count: info.prefetchCount,
    state: ch.isOpen ? "running" : "closing",
    transactional: info.transactional,
    user: c.username,
    user_who_performed_action: c.username,
    vhost: c.vhost?.name ?? "",
  });
  return out;
}

/** The channel_details RabbitMQ puts in a consumer. */
function channelDetails(ch: Channel, sc: ShapeContext): Item {
  const c = ch.host;
  return {
    connection_name: c.name,
    name: channelName(ch),
    node: sc.ids.node,
    number: ch.id,
    ...peerOf(ch),
    user: c.username,
  };
}

export function consumerJson(consumer: Consumer, sc: ShapeContext): Item {
  const q = consumer.queue;
  const ch = consumer.owner;
  const active = !q.singleActiveConsumer || q.activeConsumer === consumer;
  return {
    arguments: argumentsJson(consumer.options.arguments),
    ack_required: !consumer.options.noAck,
    active,
    activity_status: !q.singleActiveConsumer ? "up" : active ? "single_active" : "waiting",
    channel_details: ch instanceof Channel ? channelDetails(ch, sc) : {},
    consumer_tag: consumer.tag,
    exclusive: consumer.options.exclusive,
    prefetch_count: consumer.options.prefetch,
    queue: { name: q.name, vhost: q.vhost },
  };
}
