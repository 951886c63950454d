import { ChannelAccess } from "../access/channel-access.js";
import { AmqpError, fail } from "../amqp/errors.js";
import * as amqp from "../amqp/generated.js";
import type { FastPublish } from "../amqp/publish-decoder.js";
import type { Consumer, ConsumerOwner } from "../broker/consumer.js";
import type { QueuedMessage } from "../broker/message.js";
import type { Queue } from "../broker/queue.js";
import type { VHost } from "../broker/vhost.js";
import type { ChannelHost } from "./channel-host.js";
import { ChannelConsumers } from "./channel-consumers.js";
import { ChannelPublisher, type PublishingChannel } from "./channel-publisher.js";
import type { ConsumerTimeoutClock, ConsumerTimeoutTarget } from "./consumer-timeout.js";
import { writeBasicDeliver } from "./message-frames.js";
import type { ReplyChannel, ReplyConsumer } from "./reply-consumer.js";
import { TopologyMethods } from "./topology-methods.js";
import { Transaction } from "./transaction.js";
import { Delivery, UnackedList } from "./unacked.js";

/** A consumer's socket backlog above which it gets no more deliveries until the socket drains. */
const DELIVERY_HIGH_WATER = 1024 * 1024;

/**
 * One AMQP channel: applies the basic, queue, exchange, confirm and tx classes to the broker model,
 * tracks delivery tags and unacked messages, and enforces prefetch.
 */
export class Channel implements ConsumerOwner, ConsumerTimeoutTarget, PublishingChannel, ReplyChannel {
  private readonly vhost: VHost;
  private state: "open" | "closing" | "closed" = "open";
  private readonly consumers: ChannelConsumers;
  private readonly unacked = new UnackedList();
  private nextDeliveryTag = 1;
  /** basic.qos global=false: the prefetch given to consumers started after it. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a limit shared by all consumers of the channel (RabbitMQ 3.x). */
  private channelPrefetch = 0;
  private readonly publisher: ChannelPublisher;
  /** Set by tx.select. */
  private tx: Transaction | undefined;
  /** Permission checks (403 ACCESS_REFUSED), with the per-channel cache RabbitMQ has too. */
  private readonly access: ChannelAccess;
  private readonly topology: TopologyMethods;
  /** consumer_timeout (undefined: off), and whether it is watching this channel. */
  private readonly timeoutClock: ConsumerTimeoutClock | undefined;
  private timeoutWatched = false;

  constructor(
    readonly id: number,
    /** The connection, as far as a channel may see it. */
    readonly host: ChannelHost,
  ) {
    this.vhost = host.vhost!;
    const { permissions, topicPermissions } = host.ctx.broker;
    this.access = new ChannelAccess(permissions, host.username, this.vhost.name, topicPermissions);
    this.topology = new TopologyMethods({ id, host, vhost: this.vhost, access: this.access });
    this.consumers = new ChannelConsumers({ channel: this, vhost: this.vhost, access: this.access, topology: this.topology });
    this.publisher = new ChannelPublisher({ channel: this, vhost: this.vhost, access: this.access });
    this.timeoutClock = host.ctx.consumerTimeouts;
  }

  /** A snapshot of the channel's state, for warrenctl list_channels. */
  info(): ChannelInfo {
    return {
      transactional: this.tx !== undefined,
      confirm: this.publisher.confirming,
      consumerCount: this.consumers.size,
      messagesUnacknowledged: this.unacked.size,
      messagesUncommitted: this.tx?.messagesUncommitted ?? 0,
      acksUncommitted: this.tx?.acksUncommitted ?? 0,
      messagesUnconfirmed: this.publisher.unconfirmed,
      prefetchCount: this.consumerPrefetch,
      globalPrefetchCount: this.channelPrefetch,
    };
  }

  private get writer() {
    return this.host.writer;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Set by tx.select. */
  get transaction(): Transaction | undefined {
    return this.tx;
  }

  /** The channel's amq.rabbitmq.reply-to consumer, if it has one. */
  get replyConsumer(): ReplyConsumer | undefined {
    return this.consumers.replyConsumer;
  }

  // ---- frames from the connection ----

  onMethod(method: amqp.AnyMethod): void {
    if (this.state === "closing") {
      // Waiting for close-ok: everything else is dropped, as RabbitMQ does (content frames too,
      // below).
      if (method.id === amqp.CHANNEL_CLOSE_OK) this.finishClose();
      else if (method.id === amqp.CHANNEL_CLOSE) this.writer.method(this.id, amqp.encodeChannelCloseOk, {});
      return;
    }
    if (this.publisher.receivingContent) throw this.publisher.unexpectedFrame();
    try {
      this.dispatch(method);
    } catch (err) {
      if (err instanceof AmqpError && err.classId === 0 && err.code !== amqp.ReplyCode.UNEXPECTED_FRAME) {
        err.classId = method.id >>> 16;
        err.methodId = method.id & 0xffff;
      }
      throw err;
    }
  }

  onContentHeader(buf: Buffer, start: number, end: number): void {
    // A closing channel discards content until close-ok: the body of a publish refused for its
    // size (406) is still on its way, and must not cost the connection.
    if (this.state === "open") this.publisher.onContentHeader(buf, start, end);
  }

  onContentBody(buf: Buffer, start: number, end: number): void {
    if (this.state === "open") this.publisher.onContentBody(buf, start, end);
  }

  private dispatch(m: amqp.AnyMethod): void {
    switch (m.id) {
      case amqp.BASIC_PUBLISH:
        return this.publisher.onPublish(m as FastPublish);
      case amqp.BASIC_ACK:
        return this.tx ? this.tx.holdAck(m) : this.ack(m.deliveryTag, m.multiple);
      case amqp.BASIC_NACK:
        return this.tx ? this.tx.holdAck(m) : this.nack(m.deliveryTag, m.multiple, m.requeue);
      case amqp.BASIC_REJECT:
        return this.tx ? this.tx.holdAck(m) : this.nack(m.deliveryTag, false, m.requeue);
      case amqp.BASIC_CONSUME:
        return this.consumers.consume(m, this.consumerPrefetch);
      case amqp.BASIC_CANCEL:
        return this.consumers.cancel(m);
      case amqp.BASIC_GET:
        return this.onGet(m);
      case amqp.BASIC_QOS:
        return this.onQos(m);
      case amqp.BASIC_RECOVER:
        return this.onRecover(m.requeue, true);
      case amqp.BASIC_RECOVER_ASYNC:
        return this.onRecover(m.requeue, false);
      case amqp.QUEUE_DECLARE:
      case amqp.QUEUE_BIND:
      case amqp.QUEUE_UNBIND:
      case amqp.QUEUE_PURGE:
      case amqp.QUEUE_DELETE:
      case amqp.EXCHANGE_DECLARE:
      case amqp.EXCHANGE_DELETE:
      case amqp.EXCHANGE_BIND:
      case amqp.EXCHANGE_UNBIND:
        return this.topology.onMethod(m);
      case amqp.CHANNEL_CLOSE:
        return this.onClientClose();
      case amqp.CHANNEL_CLOSE_OK:
        return; // close-ok for a close we never sent: ignore
      case amqp.CHANNEL_FLOW:
        return this.onFlow(m);
      case amqp.CONFIRM_SELECT:
        return this.onConfirmSelect(m);
      case amqp.TX_SELECT:
        return this.onTxSelect();
      case amqp.TX_COMMIT:
        return this.onTxCommit();
      case amqp.TX_ROLLBACK:
        return this.onTxRollback();
      default:
        // Methods only a server sends (deliver, consume-ok, flow-ok, ...), and connection methods.
        throw new AmqpError(amqp.ReplyCode.COMMAND_INVALID, "COMMAND_INVALID - unimplemented method", true);
    }
  }

  /** A delivery tag of the channel, for a direct reply-to delivery (ReplyChannel). */
  takeDeliveryTag(): number {
    return this.nextDeliveryTag++;
  }

  // ---- delivery (ConsumerOwner) ----

  canDeliver(consumer: Consumer): boolean {
    if (this.state !== "open") return false;
    if (!consumer.options.noAck) {
      if (!consumer.hasCapacity) return false;
      if (this.channelPrefetch !== 0 && this.unacked.size >= this.channelPrefetch) return false;
    }
    if (this.writer.backlog > DELIVERY_HIGH_WATER) {
      this.host.waitForDrain(this);
      return false;
    }
    return true;
  }

  deliver(consumer: Consumer, entry: QueuedMessage): void {
    const tag = this.nextDeliveryTag++;
    if (!consumer.options.noAck) this.track(tag, entry, consumer.queue, consumer);
    writeBasicDeliver(this.writer, this.id, consumer.tagBytes, tag, entry.redelivered, entry.message);
  }

  /** Hold a delivery until it is acked, stamped for the consumer timeout (basic.get ones too, as RabbitMQ). */
  private track(tag: number, entry: QueuedMessage, queue: Queue, consumer: Consumer | undefined): void {
    const clock = this.timeoutClock;
    let deliveredAt = 0;
    if (clock !== undefined) {
      deliveredAt = clock.ticks;
      if (!this.timeoutWatched) {
        this.timeoutWatched = true;
        clock.watch(this);
      }
    }
    this.unacked.push(new Delivery(tag, entry, queue, consumer, deliveredAt));
  }

  /** A tick of the consumer-timeout clock (ConsumerTimeoutTarget): RabbitMQ's check of the oldest unacked delivery. */
  checkConsumerTimeout(clock: ConsumerTimeoutClock): boolean {
    const oldest = this.unacked.oldest;
    if (this.state !== "open" || oldest === undefined) {
      this.timeoutWatched = false;
      return false;
    }
    if (!clock.expired(oldest.deliveredAt)) return true;
    this.timeoutWatched = false;
    // RabbitMQ's text; the close names no method (class 0, method 0). Unacked messages are requeued.
    this.closeWithError(
      fail.preconditionFailed(
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${clock.timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
    return false;
  }

  consumerCancelled(consumer: Consumer): void {
    this.consumers.forget(consumer);
    if (this.state === "open" && this.host.capabilities.consumerCancelNotify) {
      this.writer.method(this.id, amqp.encodeBasicCancel, { consumerTag: consumer.tag, noWait: true });
    }
  }

  /** The socket drained: let the queues of our consumers deliver again. */
  resumeDeliveries(): void {
    this.consumers.dispatchAll();
  }

  // ---- get, qos (consume and cancel: src/server/channel-consumers.ts) ----

  private onGet(m: amqp.BasicGet): void {
    this.access.read("queue", m.queue);
    const queue = this.queueFor(m.queue);
    const entry = queue.get(m.noAck);
    if (entry === undefined) {
      this.writer.method(this.id, amqp.encodeBasicGetEmpty, {});
      return;
    }
    const tag = this.nextDeliveryTag++;
    if (!m.noAck) this.track(tag, entry, queue, undefined);
    const message = entry.message;
    this.writer.method(this.id, amqp.encodeBasicGetOk, {
      deliveryTag: tag,
      redelivered: entry.redelivered,
      exchange: message.exchange,
      routingKey: message.routingKey,
      messageCount: queue.messageCount,
    });
    this.writer.content(this.id, amqp.CLASS_BASIC, message.rawProperties, message.body);
  }

  private onQos(m: amqp.BasicQos): void {
    if (m.prefetchSize !== 0) throw fail.notImplemented(`prefetch_size!=0 (${m.prefetchSize})`);
    if (m.global) this.channelPrefetch = m.prefetchCount;
    else this.consumerPrefetch = m.prefetchCount;
    this.writer.method(this.id, amqp.encodeBasicQosOk, {});
    if (m.global) this.resumeDeliveries();
  }

  // ---- acks ----

  private ack(tag: number, multiple: boolean): void {
    this.nack(tag, multiple, false);
  }

  /** Take deliveries off the unacked list (an unknown tag is 406 and closes the channel) and finish them. */
  private nack(tag: number, multiple: boolean, requeue: boolean): void {
    if (multiple) {
      // RabbitMQ: the tag itself must be outstanding (0 means everything).
      if (tag !== 0 && !this.unacked.has(tag)) throw unknownTag(tag);
      this.finish(this.unacked.takeUpTo(tag), requeue);
      return;
    }
    // One tag, the common case: no array.
    const one = this.unacked.take(tag);
    if (one === undefined) throw unknownTag(tag);
    this.finishOne(one, requeue);
  }

  /** finish() for a single delivery. */
  private finishOne(d: Delivery, requeue: boolean): void {
    const queue = d.queue;
    queue.unacked--;
    if (d.consumer !== undefined) d.consumer.unacked--;
    if (requeue) {
      queue.requeue([d.entry]);
    } else {
      queue.settle(d.entry);
      queue.dispatch();
    }
    if (this.channelPrefetch !== 0 && this.state === "open") this.resumeDeliveries();
  }

  /**
   * Release the prefetch credit of settled deliveries, put them back in their queues when asked
   * (each at its original position), and let the queues dispatch again.
   */
  private finish(done: Delivery[], requeue: boolean): void {
    if (done.length === 0) return;
    for (let i = 0; i < done.length; i++) {
      const d = done[i]!;
      d.queue.unacked--;
      if (d.consumer !== undefined) d.consumer.unacked--;
    }
    if (requeue) {
      for (const [queue, entries] of groupByQueue(done)) queue.requeue(entries);
    } else {
      let last: Queue | undefined;
      for (let i = 0; i < done.length; i++) {
        const q = done[i]!.queue;
        q.settle(done[i]!.entry);
        if (q !== last) {
          last = q;
          q.dispatch();
        }
      }
    }
    // A channel-wide limit frees room for every consumer of the channel.
    if (this.channelPrefetch !== 0 && this.state === "open") this.resumeDeliveries();
  }

  private onRecover(requeue: boolean, sendOk: boolean): void {
    if (!requeue) throw fail.notImplemented("requeue=false");
    this.finish(this.unacked.takeAll(), true);
    if (sendOk) this.writer.method(this.id, amqp.encodeBasicRecoverOk, {});
  }

  // ---- queues and exchanges (src/server/topology-methods.ts) ----

  /** A queue of this vhost that this connection may use: 404 if missing, 405 if another's exclusive queue. */
  private queueFor(name: string): Queue {
    return this.topology.queueFor(name);
  }

  // ---- flow, confirm, tx ----

  private onFlow(m: amqp.ChannelFlow): void {
    // RabbitMQ 3.x refuses to be told to stop sending; active=true is a no-op.
    if (!m.active) throw fail.notImplemented("active=false");
    this.writer.method(this.id, amqp.encodeChannelFlowOk, { active: true });
  }

  private onConfirmSelect(m: amqp.ConfirmSelect): void {
    if (this.tx) throw fail.preconditionFailed("cannot switch from tx to confirm mode");
    this.publisher.onConfirmSelect(m);
  }

  private onTxSelect(): void {
    if (this.publisher.confirming) throw fail.preconditionFailed("cannot switch from confirm to tx mode");
    this.tx ??= new Transaction({
      persister: this.host.ctx.persister,
      publish: (m, message) => this.publisher.publish(m, message),
      settle: (m) => {
        if (m.id === amqp.BASIC_ACK) this.ack(m.deliveryTag, m.multiple);
        else if (m.id === amqp.BASIC_NACK) this.nack(m.deliveryTag, m.multiple, m.requeue);
        else this.nack(m.deliveryTag, false, m.requeue);
      },
      checkTag: (tag) => {
        if (!this.unacked.has(tag)) throw unknownTag(tag);
      },
      committed: (err) => {
        if (this.state !== "open") return;
        if (err === undefined) this.writer.method(this.id, amqp.encodeTxCommitOk, {});
        else this.closeWithError(err);
      },
    });
    this.writer.method(this.id, amqp.encodeTxSelectOk, {});
  }

  private onTxCommit(): void {
    if (!this.tx) throw fail.preconditionFailed("channel is not transactional");
    this.tx.commit();
  }

  private onTxRollback(): void {
    if (!this.tx) throw fail.preconditionFailed("channel is not transactional");
    this.tx.discard();
    this.writer.method(this.id, amqp.encodeTxRollbackOk, {});
  }

  // ---- closing ----

  private onClientClose(): void {
    this.release();
    this.writer.method(this.id, amqp.encodeChannelCloseOk, {});
    this.host.removeChannel(this.id);
  }

  /** A channel exception: release everything, send channel.close, wait for close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state !== "open") return;
    this.host.log.warn({ event: "channel.error", connection: this.host.name, channel: this.id, code: err.code, text: err.message }, "closing channel on error");
    this.release();
    this.state = "closing";
    this.writer.method(this.id, amqp.encodeChannelClose, {
      replyCode: err.code,
      replyText: err.message,
      classId: err.classId,
      methodId: err.methodId,
    });
  }

  private finishClose(): void {
    this.state = "closed";
    this.host.removeChannel(this.id);
  }

  /** Cancel consumers and requeue every unacked delivery (channel or connection closing). */
  release(): void {
    if (this.state === "closed") return;
    this.state = this.state === "open" ? "closed" : this.state;
    this.publisher.close();
    this.tx?.discard();
    this.consumers.cancelAll();
    // The channel no longer takes deliveries, so requeued messages go to other consumers.
    this.finish(this.unacked.takeAll(), true);
    this.host.stopWaitingForDrain(this);
    if (this.timeoutWatched) this.timeoutClock!.unwatch(this);
    this.timeoutWatched = false;
  }
}

/** What warrenctl list_channels shows of a channel. */
export interface ChannelInfo {
  transactional: boolean;
  confirm: boolean;
  consumerCount: number;
  messagesUnacknowledged: number;
  messagesUncommitted: number;
  acksUncommitted: number;
  messagesUnconfirmed: number;
  prefetchCount: number;
  globalPrefetchCount: number;
}

function unknownTag(tag: number): AmqpError {
  return fail.preconditionFailed(`unknown delivery tag ${tag}`);
}

function groupByQueue(deliveries: Delivery[]): Map<Queue, QueuedMessage[]> {
  const byQueue = new Map<Queue, QueuedMessage[]>();
  for (const d of deliveries) {
    const list = byQueue.get(d.queue);
    if (list) list.push(d.entry);
    else byQueue.set(d.queue, [d.entry]);
  }
  return byQueue;
}
