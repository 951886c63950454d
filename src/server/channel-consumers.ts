import type { ChannelAccess } from "../access/channel-access.js";
import { fail } from "../amqp/errors.js";
import * as amqp from "../amqp/generated.js";
import { Consumer, type ConsumerOwner } from "../broker/consumer.js";
import type { Queue } from "../broker/queue.js";
import { QUEUE_TYPE_MODULE, queueTypeOf } from "../broker/queue-arguments.js";
import { StreamQueue } from "../broker/stream-queue.js";
import { refuse, resourceName } from "../amqp/refusals.js";
import type { VHost } from "../broker/vhost.js";
import { REPLY_QUEUE } from "./direct-reply-to.js";
import { consumerTagBytes } from "./message-frames.js";
import { type ReplyChannel, ReplyConsumer } from "./reply-consumer.js";
import type { TopologyMethods } from "./topology-methods.js";
import { randomName } from "./random-names.js";

/** What a channel's consumers work with. */
export interface ChannelConsumersOptions {
  /** The channel: the owner of its queue consumers, and the channel of its reply consumer. */
  channel: ConsumerOwner & ReplyChannel;
  vhost: VHost;
  /** The channel's permission checks. */
  access: ChannelAccess;
  /** Finds the queue to consume from (404, 405 for another connection's exclusive queue). */
  topology: TopologyMethods;
}

/**
 * The consumers of one channel, by tag: basic.consume and basic.cancel with RabbitMQ's checks,
 * for queue consumers and the direct reply-to consumer (amq.rabbitmq.reply-to).
 */
export class ChannelConsumers {
  private readonly byTag = new Map<string, Consumer>();
  private reply: ReplyConsumer | undefined;
  private readonly channel: ConsumerOwner & ReplyChannel;
  private readonly vhost: VHost;
  private readonly access: ChannelAccess;
  private readonly topology: TopologyMethods;

  constructor(options: ChannelConsumersOptions) {
    this.channel = options.channel;
    this.vhost = options.vhost;
    this.access = options.access;
    this.topology = options.topology;
  }

  /** Queue consumers (warrenctl list_channels consumer_count). */
  get size(): number {
    return this.byTag.size;
  }

  /** The direct reply-to consumer, if the channel has one. */
  get replyConsumer(): ReplyConsumer | undefined {
    return this.reply;
  }

  /**
   * basic.consume; `prefetch` is the basic.qos prefetch_count (global=false) in force,
   * `globalPrefetch` the channel-wide one (global=true), which quorum queues do not support.
   */
  consume(m: amqp.BasicConsume, prefetch: number, globalPrefetch: number): void {
    // RabbitMQ's order: a reused tag (530), then read permission (403), then the queue (404).
    const tag = m.consumerTag === "" ? `amq.ctag-${randomName()}` : m.consumerTag;
    if (this.byTag.has(tag)) throw fail.notAllowed(`attempt to reuse consumer tag '${tag}'`);
    const tagBytes = consumerTagBytes(tag);
    if (m.queue === REPLY_QUEUE) {
      this.reply = ReplyConsumer.start({ channel: this.channel, method: m, existing: this.reply, tag, tagBytes });
      return;
    }
    this.access.read("queue", m.queue);
    const queue = this.topology.queueFor(m.queue);
    this.checkTypeRules(queue, m, prefetch);
    // RabbitMQ 3.10 closes the connection (540), no-ack consumers included.
    if (globalPrefetch !== 0 && queue.type === "quorum")
      throw fail.notImplemented(`${resourceName("queue", queue.name, this.vhost.name)} does not support global qos`);
    // A single-active-consumer queue takes no exclusive consumer, even with no consumers (RabbitMQ 3.10).
    // A stream ignores the exclusive flag (RabbitMQ 3.10 too): each of its consumers reads on its own.
    const exclusiveUse = queue.consumers.some((c) => c.options.exclusive) || (m.exclusive && (queue.consumerCount > 0 || queue.singleActiveConsumer));
    if (exclusiveUse && !(queue instanceof StreamQueue)) {
      throw fail.accessRefused(`queue '${queue.name}' in vhost '${this.vhost.name}' in exclusive use`);
    }
    const priority = m.arguments["x-priority"];
    const consumer = new Consumer(tag, queue, this.channel, {
      noAck: m.noAck,
      exclusive: m.exclusive,
      prefetch,
      priority: typeof priority === "number" ? priority : 0,
      arguments: m.arguments,
      tagBytes,
    });
    this.byTag.set(tag, consumer);
    // consume-ok must precede the first delivery.
    if (!m.noWait) this.channel.host.writer.method(this.channel.id, amqp.encodeBasicConsumeOk, { consumerTag: tag });
    if (consumer.options.priority !== 0) queue.hasPriorities = true;
    queue.addConsumer(consumer);
  }

  /** What the queue's type asks of a consumer: a stream's offset, prefetch and manual acks; other types take no x-stream-offset (406). */
  private checkTypeRules(queue: Queue, m: amqp.BasicConsume, prefetch: number): void {
    if (queue instanceof StreamQueue) {
      queue.checkConsume({ noAck: m.noAck, prefetch, arguments: m.arguments });
    } else if (m.arguments["x-stream-offset"] !== undefined) {
      const resource = resourceName("queue", queue.name, this.vhost.name);
      throw refuse.consumerArgOfType(resource, "x-stream-offset", QUEUE_TYPE_MODULE[queueTypeOf(queue.options.arguments)]);
    }
  }

  /** basic.cancel: an unknown tag is no error (RabbitMQ). */
  cancel(m: amqp.BasicCancel): void {
    if (this.reply?.tag === m.consumerTag) this.cancelReply();
    const consumer = this.byTag.get(m.consumerTag);
    if (consumer !== undefined) {
      this.byTag.delete(m.consumerTag);
      consumer.queue.removeConsumer(consumer);
      // A single active consumer's successor starts on the backlog (its unacked stay with this channel).
      consumer.queue.dispatch();
    }
    if (!m.noWait) this.channel.host.writer.method(this.channel.id, amqp.encodeBasicCancelOk, { consumerTag: m.consumerTag });
  }

  /** The queue cancelled a consumer (it was deleted): forget it. */
  forget(consumer: Consumer): void {
    this.byTag.delete(consumer.tag);
  }

  /** Let the queues of the channel's consumers deliver again. */
  dispatchAll(): void {
    for (const consumer of this.byTag.values()) consumer.queue.dispatch();
  }

  /**
   * The channel is closing: every consumer leaves its queue. Returns the queues they left, to
   * dispatch once the channel's unacked messages are back in them (a single-active-consumer
   * queue's next consumer gets those first, as in RabbitMQ).
   */
  cancelAll(): Set<Queue> {
    this.cancelReply();
    const left = new Set<Queue>();
    for (const consumer of this.byTag.values()) {
      consumer.queue.removeConsumer(consumer);
      left.add(consumer.queue);
    }
    this.byTag.clear();
    return left;
  }

  private cancelReply(): void {
    this.reply?.cancel();
    this.reply = undefined;
  }
}
