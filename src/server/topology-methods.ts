import type { ChannelAccess } from "../access/channel-access.js";
import { fail } from "../amqp/errors.js";
import { refuse, resourceName } from "../amqp/refusals.js";
import { fieldTypeName, type FieldTable } from "../amqp/field-types.js";
import * as amqp from "../amqp/generated.js";
import { checkDeadLetterExchangeType } from "../broker/dead-letter.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import { exchangeTypes } from "../broker/exchange/registry.js";
import { checkQueueArguments, QUEUE_TYPE_MODULE, queueTypeOf } from "../broker/queue-arguments.js";
import type { Queue } from "../broker/queue.js";
import type { VHost } from "../broker/vhost.js";
import type { ChannelHost } from "./channel-host.js";
import { REPLY_QUEUE } from "./direct-reply-to.js";
import { randomName } from "./random-names.js";

/** The methods of the exchange and queue classes a client sends. */
export type TopologyMethod =
  | amqp.QueueDeclare
  | amqp.QueueBind
  | amqp.QueueUnbind
  | amqp.QueuePurge
  | amqp.QueueDelete
  | amqp.ExchangeDeclare
  | amqp.ExchangeDelete
  | amqp.ExchangeBind
  | amqp.ExchangeUnbind;

/** What the topology methods of a channel work with. */
export interface TopologyOptions {
  /** The channel number replies go out on. */
  id: number;
  /** The channel's connection: its writer, and the owner of the exclusive queues it declares. */
  host: ChannelHost;
  vhost: VHost;
  /** The channel's permission checks. */
  access: ChannelAccess;
}

/**
 * The exchange and queue classes of one channel: declare, bind, unbind, purge and delete, with
 * RabbitMQ's checks (permissions, reserved names, exclusive queues of other connections) in
 * RabbitMQ's order. Each method sends its -ok unless no-wait; a failed check throws the AMQP
 * error, which closes the channel (or the connection).
 */
export class TopologyMethods {
  private readonly id: number;
  private readonly host: ChannelHost;
  private readonly vhost: VHost;
  private readonly access: ChannelAccess;
  /** The last queue declared on the channel, passive declares included (RabbitMQ's most_recently_declared_queue). */
  private lastDeclaredQueue = "";

  constructor(options: TopologyOptions) {
    this.id = options.id;
    this.host = options.host;
    this.vhost = options.vhost;
    this.access = options.access;
  }

  private get writer() {
    return this.host.writer;
  }

  /** Handle one method of the exchange and queue classes. */
  onMethod(m: TopologyMethod): void {
    switch (m.id) {
      case amqp.QUEUE_DECLARE:
        return this.onQueueDeclare(m);
      case amqp.QUEUE_BIND:
        return this.onQueueBind(this.withBindingShortcuts(m));
      case amqp.QUEUE_UNBIND:
        return this.onQueueUnbind(this.withBindingShortcuts(m));
      case amqp.QUEUE_PURGE:
        return this.onQueuePurge(this.withQueueShortcut(m));
      case amqp.QUEUE_DELETE:
        return this.onQueueDelete(this.withQueueShortcut(m));
      case amqp.EXCHANGE_DECLARE:
        return this.onExchangeDeclare(m);
      case amqp.EXCHANGE_DELETE:
        return this.onExchangeDelete(m);
      case amqp.EXCHANGE_BIND:
        return this.onExchangeBind(m, true);
      case amqp.EXCHANGE_UNBIND:
        return this.onExchangeBind(m, false);
    }
  }

  /**
   * The queue an empty queue name stands for in queue.bind, unbind, purge, delete, basic.consume
   * and basic.get: the last queue declared on the channel (404 when none was). RabbitMQ expands
   * the name before any other check, so the 404 comes first, and a passive declare of
   * amq.rabbitmq.reply-to makes basic.consume with "" a direct reply-to consumer.
   */
  withQueueShortcut<T extends { queue: string }>(m: T): T {
    if (m.queue !== "") return m;
    if (this.lastDeclaredQueue === "") throw refuse.noPreviousQueue();
    return { ...m, queue: this.lastDeclaredQueue };
  }

  /** queue.bind and unbind: an empty queue name with an empty routing key binds with the queue's name as the key too (RabbitMQ). */
  private withBindingShortcuts<T extends { queue: string; routingKey: string }>(m: T): T {
    if (m.queue !== "") return m;
    const expanded = this.withQueueShortcut(m);
    return m.routingKey === "" ? { ...expanded, routingKey: expanded.queue } : expanded;
  }

  /** A queue of this vhost that this connection may use: 404 if missing, 405 if another's exclusive queue. */
  queueFor(name: string): Queue {
    const queue = this.vhost.getQueue(name);
    this.checkExclusive(queue);
    return queue;
  }

  private checkExclusive(queue: Queue): void {
    const owner = queue.exclusiveOwner;
    if (owner !== undefined && owner !== this.host) {
      throw refuse.exclusiveLocked(resourceName("queue", queue.name, this.vhost.name));
    }
  }

  private onQueueDeclare(m: amqp.QueueDeclare): void {
    let queue: Queue;
    if (m.passive && m.queue === REPLY_QUEUE) {
      // The pseudo-queue "exists" for clients that check it before consuming (RabbitMQ).
      this.lastDeclaredQueue = REPLY_QUEUE;
      if (!m.noWait) this.writer.method(this.id, amqp.encodeQueueDeclareOk, { queue: REPLY_QUEUE, messageCount: 0, consumerCount: 0 });
      return;
    }
    if (m.passive) {
      queue = this.queueFor(m.queue);
    } else {
      const type = queueTypeOf(m.arguments);
      // RabbitMQ names only classic queues itself (its channel refuses before anything else).
      if (m.queue === "" && type !== "classic") throw refuse.serverNamedQueueType(QUEUE_TYPE_MODULE[type]);
      const name = m.queue === "" ? `amq.gen-${randomName()}` : m.queue;
      if (m.queue.startsWith("amq.")) throw refuse.reservedName("queue", m.queue);
      this.access.configure("queue", name);
      // Counted here as RabbitMQ counts it: after the permission check, before equivalence and limits.
      const counters = this.host.ctx.broker.counters;
      counters.queuesDeclared++;
      const existing = this.vhost.queues.get(name);
      if (existing !== undefined) {
        this.checkExclusive(existing);
      } else {
        this.vhost.checkQueueLimit(name);
        this.checkDeadLetterAccess(name, m.arguments);
        const resource = resourceName("queue", name, this.vhost.name);
        checkQueueArguments(m.arguments, resource);
        if (type !== "classic") checkReplicatedQueueProperties(m, resource);
      }
      const result = this.vhost.declareQueue(name, {
        durable: m.durable,
        exclusive: m.exclusive,
        autoDelete: m.autoDelete,
        arguments: m.arguments,
        owner: m.exclusive ? this.host : undefined,
      });
      queue = result.queue;
      if (result.created) counters.queuesCreated++;
      if (result.created && m.exclusive) this.host.ownExclusiveQueue(queue);
    }
    this.lastDeclaredQueue = queue.name;
    queue.declared();
    if (!m.noWait) {
      this.writer.method(this.id, amqp.encodeQueueDeclareOk, {
        queue: queue.name,
        messageCount: queue.messageCount,
        consumerCount: queue.consumerCount,
      });
    }
  }

  private onQueueBind(m: amqp.QueueBind): void {
    this.access.write("queue", m.queue);
    if (m.exchange !== "") this.access.read("exchange", m.exchange);
    this.checkTopicBind(m.exchange, m.routingKey);
    // The exchange is looked up first: when both are missing, RabbitMQ names the exchange.
    const exchange = this.sourceExchange(m.exchange);
    const queue = this.queueFor(m.queue);
    this.vhost.bind(exchange, queue, m.routingKey, m.arguments);
    if (!m.noWait) this.writer.method(this.id, amqp.encodeQueueBindOk, {});
  }

  /** Unbinding is idempotent: a missing binding, queue or exchange is not an error (RabbitMQ 3.10). */
  private onQueueUnbind(m: amqp.QueueUnbind): void {
    this.access.write("queue", m.queue);
    if (m.exchange === "") throw refuse.defaultExchange();
    this.access.read("exchange", m.exchange);
    this.checkTopicBind(m.exchange, m.routingKey);
    const exchange = this.vhost.exchanges.get(m.exchange);
    const queue = this.vhost.queues.get(m.queue);
    if (exchange !== undefined && queue !== undefined) this.vhost.unbind(exchange, queue, m.routingKey, m.arguments);
    this.writer.method(this.id, amqp.encodeQueueUnbindOk, {});
  }

  private onQueuePurge(m: amqp.QueuePurge): void {
    this.access.read("queue", m.queue);
    const count = this.queueFor(m.queue).purge();
    if (!m.noWait) this.writer.method(this.id, amqp.encodeQueuePurgeOk, { messageCount: count });
  }

  private onQueueDelete(m: amqp.QueueDelete): void {
    this.access.configure("queue", m.queue);
    const queue = this.vhost.queues.get(m.queue);
    let count = 0;
    if (queue !== undefined) {
      this.checkExclusive(queue);
      count = this.vhost.deleteQueue(queue, { ifUnused: m.ifUnused, ifEmpty: m.ifEmpty });
      this.host.disownExclusiveQueue(queue);
    }
    if (!m.noWait) this.writer.method(this.id, amqp.encodeQueueDeleteOk, { messageCount: count });
  }

  /** An exchange to bind from: the default exchange cannot take bindings (403). */
  private sourceExchange(name: string): Exchange {
    if (name === "") throw refuse.defaultExchange();
    return this.vhost.getExchange(name);
  }

  /** Binding from or unbinding from a topic exchange: the topic read permission on the key (RabbitMQ). */
  private checkTopicBind(source: string, routingKey: string): void {
    if (this.vhost.exchanges.get(source)?.type === "topic") this.access.bindTopic(source, routingKey);
  }

  /** A new queue that dead-letters: read on the queue and write on the exchange (RabbitMQ). */
  private checkDeadLetterAccess(queue: string, args: FieldTable): void {
    checkDeadLetterExchangeType(args, resourceName("queue", queue, this.vhost.name));
    const dlx = args["x-dead-letter-exchange"];
    if (typeof dlx !== "string") return;
    this.access.read("queue", queue);
    this.access.write("exchange", dlx);
  }

  /**
   * A new exchange with an alternate exchange: the argument must be a string (406), and the user
   * needs read on the exchange and write on the alternate (RabbitMQ). Publishing later checks
   * nothing on the alternate, and it need not exist.
   */
  private checkAlternateExchangeAccess(exchange: string, args: FieldTable): void {
    const ae = args["alternate-exchange"];
    if (ae === undefined) return;
    if (typeof ae !== "string") throw refuse.alternateExchangeType(fieldTypeName(args, "alternate-exchange"), exchange, this.vhost.name);
    this.access.read("exchange", exchange);
    this.access.write("exchange", ae);
  }

  private onExchangeDeclare(m: amqp.ExchangeDeclare): void {
    if (!m.passive && !exchangeTypes.has(m.type)) throw refuse.unknownExchangeType(m.type);
    if (m.exchange === "") throw refuse.defaultExchange();
    if (m.passive) {
      this.vhost.getExchange(m.exchange);
    } else {
      this.access.configure("exchange", m.exchange);
      // The reserved prefix only stops creating one: an equivalent redeclare of amq.direct is fine.
      if (!this.vhost.exchanges.has(m.exchange) && m.exchange.startsWith("amq.")) {
        throw refuse.reservedName("exchange", m.exchange);
      }
      if (!this.vhost.exchanges.has(m.exchange)) this.checkAlternateExchangeAccess(m.exchange, m.arguments);
      this.vhost.declareExchange(m.exchange, m.type, {
        durable: m.durable,
        autoDelete: m.autoDelete,
        internal: m.internal,
        arguments: m.arguments,
      });
    }
    if (!m.noWait) this.writer.method(this.id, amqp.encodeExchangeDeclareOk, {});
  }

  private onExchangeDelete(m: amqp.ExchangeDelete): void {
    if (m.exchange === "") throw refuse.defaultExchange();
    if (m.exchange.startsWith("amq.")) {
      throw fail.accessRefused(`deletion of system exchange '${m.exchange}' in vhost '${this.vhost.name}' not allowed`);
    }
    this.access.configure("exchange", m.exchange);
    this.vhost.deleteExchange(m.exchange, m.ifUnused);
    if (!m.noWait) this.writer.method(this.id, amqp.encodeExchangeDeleteOk, {});
  }

  private onExchangeBind(m: amqp.ExchangeBind | amqp.ExchangeUnbind, bind: boolean): void {
    this.access.write("exchange", m.destination);
    if (m.destination === "" || m.source === "") throw refuse.defaultExchange();
    this.access.read("exchange", m.source);
    this.checkTopicBind(m.source, m.routingKey);
    if (bind) {
      const destination = this.vhost.getExchange(m.destination);
      const source = this.vhost.getExchange(m.source);
      this.vhost.bind(source, destination, m.routingKey, m.arguments);
      if (!m.noWait) this.writer.method(this.id, amqp.encodeExchangeBindOk, {});
    } else {
      const destination = this.vhost.exchanges.get(m.destination);
      const source = this.vhost.exchanges.get(m.source);
      if (source !== undefined && destination !== undefined) this.vhost.unbind(source, destination, m.routingKey, m.arguments);
      if (!m.noWait) this.writer.method(this.id, amqp.encodeExchangeUnbindOk, {});
    }
  }
}

/**
 * Quorum and stream queues are durable, shared and long-lived: RabbitMQ 3.10 refuses them
 * auto-delete, exclusive or non-durable, in that order, after their arguments.
 */
function checkReplicatedQueueProperties(m: amqp.QueueDeclare, resource: string): void {
  if (m.autoDelete) throw refuse.invalidQueueProperty("auto-delete", resource);
  if (m.exclusive) throw refuse.invalidQueueProperty("exclusive-owner", resource);
  if (!m.durable) throw refuse.invalidQueueProperty("non-durable", resource);
}
