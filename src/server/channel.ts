import { randomBytes } from "node:crypto";
import { ChannelAccess } from "../access/channel-access.js";
import { AmqpError, fail } from "../amqp/errors.js";
import type { FieldTable } from "../amqp/field-types.js";
import * as amqp from "../amqp/generated.js";
import { shortStrBytes } from "../amqp/name-bytes.js";
import { Consumer, type ConsumerOwner } from "../broker/consumer.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import { exchangeTypes } from "../broker/exchange/registry.js";
import { Message, type QueuedMessage } from "../broker/message.js";
import type { Queue } from "../broker/queue.js";
import type { VHost } from "../broker/vhost.js";
import type { Connection } from "./connection.js";
import { ConfirmTracker, REFUSED_EPOCH } from "./confirm-tracker.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import { DirectReplyTo, REPLY_QUEUE, type ReplyTarget } from "./direct-reply-to.js";
import { FLOW_HOLD_AT } from "./flow-control.js";
import { ContentAssembler } from "./content-assembler.js";
import type { FastPublish } from "../amqp/publish-decoder.js";
import { Delivery, UnackedList } from "./unacked.js";
import type { ConsumerTimeoutClock, ConsumerTimeoutTarget } from "./consumer-timeout.js";

/** A consumer's socket backlog above which it gets no more deliveries until the socket drains. */
const DELIVERY_HIGH_WATER = 1024 * 1024;
/**
 * A direct reply-to requester's backlog above which replies to it are dropped (returned when
 * mandatory): they come from other connections, which its own backpressure does not slow down.
 */
const REPLY_BACKLOG_LIMIT = 16 * 1024 * 1024;

/** A publish or an ack held by a transaction until tx.commit. */
type TxAction = { kind: "publish"; method: amqp.BasicPublish; message: Message } | { kind: "ack"; method: amqp.BasicAck | amqp.BasicNack | amqp.BasicReject };

/**
 * One AMQP channel: applies the basic, queue, exchange, confirm and tx classes to the broker model,
 * tracks delivery tags and unacked messages, and enforces prefetch.
 */
export class Channel implements ConsumerOwner, ReplyTarget, ConsumerTimeoutTarget {
  private readonly vhost: VHost;
  private state: "open" | "closing" | "closed" = "open";
  private readonly consumers = new Map<string, Consumer>();
  private readonly unacked = new UnackedList();
  private nextDeliveryTag = 1;
  /** basic.qos global=false: the prefetch given to consumers started after it. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a limit shared by all consumers of the channel (RabbitMQ 3.x). */
  private channelPrefetch = 0;
  private readonly content = new ContentAssembler();
  private pendingPublish: FastPublish | undefined;
  /** Set by confirm.select. */
  private confirms: ConfirmTracker | undefined;
  private txMode = false;
  private txActions: TxAction[] = [];
  /** The channel's amq.rabbitmq.reply-to consumer, if it has one. */
  private replyConsumer: { tag: string; key: string; tagBytes: Buffer } | undefined;
  /** Replies are being dropped for a backlog (logged once per episode). */
  private droppingReplies = false;
  /** Permission checks (403 ACCESS_REFUSED), with the per-channel cache RabbitMQ has too. */
  private readonly access: ChannelAccess;
  /** consumer_timeout (undefined: off), and whether it is watching this channel. */
  private readonly timeoutClock: ConsumerTimeoutClock | undefined;
  private timeoutWatched = false;

  constructor(
    readonly id: number,
    readonly connection: Connection,
  ) {
    this.vhost = connection.vhost!;
    const { permissions, topicPermissions } = connection.ctx.broker;
    this.access = new ChannelAccess(permissions, connection.username, this.vhost.name, topicPermissions);
    this.timeoutClock = connection.ctx.consumerTimeouts;
  }

  /** A snapshot of the channel's state, for warrenctl list_channels. */
  info(): ChannelInfo {
    let messagesUncommitted = 0;
    for (const action of this.txActions) if (action.kind === "publish") messagesUncommitted++;
    return {
      transactional: this.txMode,
      confirm: this.confirms !== undefined,
      consumerCount: this.consumers.size,
      messagesUnacknowledged: this.unacked.size,
      messagesUncommitted,
      acksUncommitted: this.txActions.length - messagesUncommitted,
      messagesUnconfirmed: this.confirms?.unconfirmed ?? 0,
      prefetchCount: this.consumerPrefetch,
      globalPrefetchCount: this.channelPrefetch,
    };
  }

  private get writer() {
    return this.connection.writer;
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
    if (this.content.active) throw this.content.unexpected();
    try {
      this.dispatch(method);
    } catch (err) {
      if (err instanceof AmqpError) err.attachMethod(method.id);
      throw err;
    }
  }

  onContentHeader(buf: Buffer, start: number, end: number): void {
    // A closing channel discards content until close-ok: the body of a publish refused for its
    // size (406) is still on its way, and must not cost the connection.
    if (this.state !== "open") return;
    const complete = this.content.header(buf, start, end, this.connection.ctx.options.maxMessageSize);
    if (complete) this.completePublish();
  }

  onContentBody(buf: Buffer, start: number, end: number): void {
    if (this.state !== "open") return;
    if (this.content.bodyFrame(buf, start, end)) this.completePublish();
  }

  private dispatch(m: amqp.AnyMethod): void {
    switch (m.id) {
      case amqp.BASIC_PUBLISH:
        return this.onPublish(m as FastPublish);
      case amqp.BASIC_ACK:
        return this.txMode ? this.holdAck(m) : this.ack(m.deliveryTag, m.multiple);
      case amqp.BASIC_NACK:
        return this.txMode ? this.holdAck(m) : this.nack(m.deliveryTag, m.multiple, m.requeue);
      case amqp.BASIC_REJECT:
        return this.txMode ? this.holdAck(m) : this.nack(m.deliveryTag, false, m.requeue);
      case amqp.BASIC_CONSUME:
        return this.onConsume(m);
      case amqp.BASIC_CANCEL:
        return this.onCancel(m);
      case amqp.BASIC_GET:
        return this.onGet(m);
      case amqp.BASIC_QOS:
        return this.onQos(m);
      case amqp.BASIC_RECOVER:
        return this.onRecover(m.requeue, true);
      case amqp.BASIC_RECOVER_ASYNC:
        return this.onRecover(m.requeue, false);
      case amqp.QUEUE_DECLARE:
        return this.onQueueDeclare(m);
      case amqp.QUEUE_BIND:
        return this.onQueueBind(m);
      case amqp.QUEUE_UNBIND:
        return this.onQueueUnbind(m);
      case amqp.QUEUE_PURGE:
        return this.onQueuePurge(m);
      case amqp.QUEUE_DELETE:
        return this.onQueueDelete(m);
      case amqp.EXCHANGE_DECLARE:
        return this.onExchangeDeclare(m);
      case amqp.EXCHANGE_DELETE:
        return this.onExchangeDelete(m);
      case amqp.EXCHANGE_BIND:
        return this.onExchangeBind(m, true);
      case amqp.EXCHANGE_UNBIND:
        return this.onExchangeBind(m, false);
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
        throw fail.commandInvalid("unimplemented method");
    }
  }

  // ---- publish ----

  private onPublish(m: FastPublish): void {
    if (m.immediate) throw fail.notImplemented("immediate=true");
    this.pendingPublish = m;
    this.content.start();
  }

  private completePublish(): void {
    // RabbitMQ takes the publish in hand and then stops reading the connection.
    if (this.connection.ctx.broker.alarms.blocked) this.connection.blockPublisher();
    const m = this.pendingPublish!;
    this.pendingPublish = undefined;
    if (this.state !== "open") {
      this.content.takeBody(); // published after the channel failed: dropped
      return;
    }
    let message = new Message(m.exchange, m.routingKey, this.content.rawProperties, this.content.takeBody(), m.address);
    try {
      this.validatePublish(m, message);
      message = this.withReplyAddress(message);
    } catch (err) {
      // The error belongs to basic.publish even though it surfaced at the last content frame.
      if (err instanceof AmqpError) err.attachMethod(amqp.BASIC_PUBLISH);
      throw err;
    }
    if (this.txMode) {
      this.txActions.push({ kind: "publish", method: m, message });
      return;
    }
    this.publish(m, message);
  }

  /** Checks made when a publish arrives (inside a transaction too), as RabbitMQ makes them. */
  private validatePublish(m: amqp.BasicPublish, message: Message): Exchange {
    this.access.publish(m.exchange);
    const exchange = this.vhost.getExchange(m.exchange);
    if (exchange.options.internal) {
      throw fail.accessRefused(`cannot publish to internal exchange '${m.exchange}' in vhost '${this.vhost.name}'`);
    }
    if (exchange.type === "topic") this.access.publishTopic(m.exchange, m.routingKey);
    // user-id is the 12th property (flag bit 4 of the second flags byte): checked only when present.
    const raw = message.rawProperties;
    if (raw.length > 1 && (raw[1]! & 0x10) !== 0) {
      const userId = message.properties.userId;
      if (userId !== undefined && userId !== this.connection.username) {
        throw fail.preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${this.connection.username}'`);
      }
    }
    return exchange;
  }

  /**
   * Route and enqueue; returns the epoch the publish's durability waits for: 0 when nothing was
   * written durably, REFUSED_EPOCH when a queue's store refused it (the publisher gets a nack).
   */
  private publish(m: amqp.BasicPublish, message: Message): number {
    if (DirectReplyTo.isReplyAddress(m.exchange, m.routingKey)) return this.publishReply(m, message);
    const exchange = this.vhost.exchanges.get(m.exchange);
    const queues = exchange === undefined ? [] : this.vhost.route(exchange, message);
    let durable = false;
    let refused = false;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[i]!;
      const outcome = queue.enqueue(message);
      if (outcome === "durable") durable = true;
      else if (outcome === "refused") refused = true;
      // A queue that is not keeping up holds this connection (src/server/flow-control.ts).
      if (queue.messageCount >= FLOW_HOLD_AT && queue.consumerCount !== 0) this.connection.ctx.flow?.hold(this.connection, queue);
    }
    if (queues.length === 0 && m.mandatory) this.returnUnroutable(m, message);
    const epoch = refused ? REFUSED_EPOCH : durable ? this.persister!.currentEpoch : 0;
    if (this.confirms) this.confirms.add(epoch);
    return epoch;
  }

  /** A reply to a direct reply-to consumer: straight to its channel, through no queue. */
  private publishReply(m: amqp.BasicPublish, message: Message): number {
    const delivered = this.connection.ctx.directReplies.deliver(m.routingKey, message);
    if (!delivered && m.mandatory) this.returnUnroutable(m, message);
    if (this.confirms) this.confirms.add(0);
    return 0;
  }

  /** basic.return 312 NO_ROUTE for a mandatory message that reached nothing. */
  private returnUnroutable(m: amqp.BasicPublish, message: Message): void {
    this.writer.method(this.id, amqp.encodeBasicReturn, {
      replyCode: 312,
      replyText: "NO_ROUTE",
      exchange: m.exchange,
      routingKey: m.routingKey,
    });
    this.writer.content(this.id, amqp.CLASS_BASIC, message.rawProperties, message.body);
  }

  /**
   * A request whose reply_to is amq.rabbitmq.reply-to gets this channel's reply address instead.
   * Only messages with the reply-to flag set are looked into.
   */
  private withReplyAddress(message: Message): Message {
    const raw = message.rawProperties;
    if (raw.length < 2 || (raw[0]! & 0x02) === 0 || message.properties.replyTo !== REPLY_QUEUE) return message;
    if (this.replyConsumer === undefined) throw fail.preconditionFailed("fast reply consumer does not exist");
    const w = new AmqpWriter(raw.length + 64);
    amqp.encodeBasicProperties(w, { ...message.properties, replyTo: DirectReplyTo.replyTo(this.replyConsumer.key) });
    return new Message(message.exchange, message.routingKey, Buffer.from(w.buf.subarray(0, w.pos)), message.body, message.address);
  }

  /** basic.consume on amq.rabbitmq.reply-to: no-ack only, one per channel (RabbitMQ). */
  private onReplyConsume(m: amqp.BasicConsume, tag: string): void {
    if (!m.noAck) throw fail.preconditionFailed("reply consumer cannot acknowledge");
    if (this.replyConsumer !== undefined) throw fail.preconditionFailed("reply consumer already set");
    const key = this.connection.ctx.directReplies.register(this);
    this.replyConsumer = { tag, key, tagBytes: shortStrBytes(tag) };
    if (!m.noWait) this.writer.method(this.id, amqp.encodeBasicConsumeOk, { consumerTag: tag });
  }

  /** A reply for our direct reply-to consumer (ReplyTarget). */
  deliverReply(message: Message): boolean {
    const consumer = this.replyConsumer;
    if (consumer === undefined || this.state !== "open") return true; // gone: dropped, as RabbitMQ does
    const w = this.writer;
    if (w.backlog > REPLY_BACKLOG_LIMIT) {
      if (!this.droppingReplies) {
        this.droppingReplies = true;
        this.connection.log.warn(
          { event: "direct_reply_to.dropped", connection: this.connection.name, backlog: w.backlog },
          "dropping replies: the requester does not read its socket",
        );
      }
      return false;
    }
    this.droppingReplies = false;
    w.begin(amqp.FRAME_METHOD, this.id);
    w.u32(amqp.BASIC_DELIVER);
    w.raw(consumer.tagBytes);
    w.u64(this.nextDeliveryTag++);
    w.u8(0);
    w.raw(message.address);
    w.end();
    w.content(this.id, amqp.CLASS_BASIC, message.rawProperties, message.body);
    return true;
  }

  private cancelReplyConsumer(): void {
    if (this.replyConsumer === undefined) return;
    this.connection.ctx.directReplies.unregister(this.replyConsumer.key);
    this.replyConsumer = undefined;
  }

  private get persister() {
    return this.connection.ctx.persister;
  }

  // ---- delivery (ConsumerOwner) ----

  canDeliver(consumer: Consumer): boolean {
    if (this.state !== "open") return false;
    if (!consumer.options.noAck) {
      if (!consumer.hasCapacity) return false;
      if (this.channelPrefetch !== 0 && this.unacked.size >= this.channelPrefetch) return false;
    }
    if (this.writer.backlog > DELIVERY_HIGH_WATER) {
      this.connection.waitingForDrain.add(this);
      return false;
    }
    return true;
  }

  deliver(consumer: Consumer, entry: QueuedMessage): void {
    const tag = this.nextDeliveryTag++;
    if (!consumer.options.noAck) this.track(tag, entry, consumer.queue, consumer);
    const w = this.writer;
    const message = entry.message;
    w.begin(amqp.FRAME_METHOD, this.id);
    w.u32(amqp.BASIC_DELIVER);
    w.raw(consumer.tagBytes);
    w.u64(tag);
    w.u8(entry.redelivered ? 1 : 0);
    w.raw(message.address);
    w.end();
    w.content(this.id, amqp.CLASS_BASIC, message.rawProperties, message.body);
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
    this.consumers.delete(consumer.tag);
    if (this.state === "open" && this.connection.capabilities.consumerCancelNotify) {
      this.writer.method(this.id, amqp.encodeBasicCancel, { consumerTag: consumer.tag, noWait: true });
    }
  }

  /** The socket drained: let the queues of our consumers deliver again. */
  resumeDeliveries(): void {
    for (const consumer of this.consumers.values()) consumer.queue.dispatch();
  }

  // ---- consume, get, qos ----

  private onConsume(m: amqp.BasicConsume): void {
    // RabbitMQ's order: a reused tag (530), then read permission (403), then the queue (404).
    const tag = m.consumerTag === "" ? `amq.ctag-${randomBytes(16).toString("base64url")}` : m.consumerTag;
    if (this.consumers.has(tag)) throw fail.notAllowed(`attempt to reuse consumer tag '${tag}'`);
    if (m.queue === REPLY_QUEUE) return this.onReplyConsume(m, tag);
    this.access.read("queue", m.queue);
    const queue = this.queueFor(m.queue);
    if (queue.consumers.some((c) => c.options.exclusive) || (m.exclusive && queue.consumerCount > 0)) {
      throw fail.accessRefused(`queue '${queue.name}' in vhost '${this.vhost.name}' in exclusive use`);
    }
    const priority = m.arguments["x-priority"];
    const consumer = new Consumer(tag, queue, this, {
      noAck: m.noAck,
      exclusive: m.exclusive,
      prefetch: this.consumerPrefetch,
      priority: typeof priority === "number" ? priority : 0,
      arguments: m.arguments,
    });
    this.consumers.set(tag, consumer);
    // consume-ok must precede the first delivery.
    if (!m.noWait) this.writer.method(this.id, amqp.encodeBasicConsumeOk, { consumerTag: tag });
    if (consumer.options.priority !== 0) queue.hasPriorities = true;
    queue.addConsumer(consumer);
  }

  private onCancel(m: amqp.BasicCancel): void {
    if (this.replyConsumer?.tag === m.consumerTag) this.cancelReplyConsumer();
    const consumer = this.consumers.get(m.consumerTag);
    if (consumer !== undefined) {
      this.consumers.delete(m.consumerTag);
      consumer.queue.removeConsumer(consumer);
    }
    if (!m.noWait) this.writer.method(this.id, amqp.encodeBasicCancelOk, { consumerTag: m.consumerTag });
  }

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

  // ---- queues ----

  /** A queue of this vhost that this connection may use: 404 if missing, 405 if another's exclusive queue. */
  private queueFor(name: string): Queue {
    const queue = this.vhost.getQueue(name);
    this.checkExclusive(queue);
    return queue;
  }

  private checkExclusive(queue: Queue): void {
    const owner = queue.exclusiveOwner;
    if (owner !== undefined && owner !== this.connection) {
      throw fail.resourceLocked(
        `cannot obtain exclusive access to locked queue '${queue.name}' in vhost '${this.vhost.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      );
    }
  }

  private onQueueDeclare(m: amqp.QueueDeclare): void {
    let queue: Queue;
    if (m.passive && m.queue === REPLY_QUEUE) {
      // The pseudo-queue "exists" for clients that check it before consuming (RabbitMQ).
      if (!m.noWait) this.writer.method(this.id, amqp.encodeQueueDeclareOk, { queue: REPLY_QUEUE, messageCount: 0, consumerCount: 0 });
      return;
    }
    if (m.passive) {
      queue = this.queueFor(m.queue);
    } else {
      const name = m.queue === "" ? `amq.gen-${randomBytes(16).toString("base64url")}` : m.queue;
      if (m.queue.startsWith("amq.")) throw fail.accessRefused(`queue name '${m.queue}' contains reserved prefix 'amq.*'`);
      this.access.configure("queue", name);
      const existing = this.vhost.queues.get(name);
      if (existing !== undefined) {
        this.checkExclusive(existing);
      } else {
        this.vhost.checkQueueLimit(name);
        this.checkDeadLetterAccess(name, m.arguments);
      }
      const result = this.vhost.declareQueue(name, {
        durable: m.durable,
        exclusive: m.exclusive,
        autoDelete: m.autoDelete,
        arguments: m.arguments,
        owner: m.exclusive ? this.connection : undefined,
      });
      queue = result.queue;
      if (result.created && m.exclusive) this.connection.exclusiveQueues.add(queue);
    }
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
    if (m.exchange === "") throw fail.accessRefused("operation not permitted on the default exchange");
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
      this.connection.exclusiveQueues.delete(queue);
    }
    if (!m.noWait) this.writer.method(this.id, amqp.encodeQueueDeleteOk, { messageCount: count });
  }

  // ---- exchanges ----

  /** An exchange to bind from: the default exchange cannot take bindings (403). */
  private sourceExchange(name: string): Exchange {
    if (name === "") throw fail.accessRefused("operation not permitted on the default exchange");
    return this.vhost.getExchange(name);
  }

  /** Binding from or unbinding from a topic exchange: the topic read permission on the key (RabbitMQ). */
  private checkTopicBind(source: string, routingKey: string): void {
    if (this.vhost.exchanges.get(source)?.type === "topic") this.access.bindTopic(source, routingKey);
  }

  /** A new queue that dead-letters: read on the queue and write on the exchange (RabbitMQ). */
  private checkDeadLetterAccess(queue: string, args: FieldTable): void {
    const dlx = args["x-dead-letter-exchange"];
    if (typeof dlx !== "string") return;
    this.access.read("queue", queue);
    this.access.write("exchange", dlx);
  }

  /** A new exchange with an alternate exchange: read on it and write on the alternate (RabbitMQ). */
  private checkAlternateExchangeAccess(exchange: string, args: FieldTable): void {
    const ae = args["alternate-exchange"];
    if (typeof ae !== "string") return;
    this.access.read("exchange", exchange);
    this.access.write("exchange", ae);
  }

  private onExchangeDeclare(m: amqp.ExchangeDeclare): void {
    if (!m.passive && !exchangeTypes.has(m.type)) throw fail.commandInvalid(`unknown exchange type '${m.type}'`);
    if (m.exchange === "") throw fail.accessRefused("operation not permitted on the default exchange");
    if (m.passive) {
      this.vhost.getExchange(m.exchange);
    } else {
      this.access.configure("exchange", m.exchange);
      // The reserved prefix only stops creating one: an equivalent redeclare of amq.direct is fine.
      if (!this.vhost.exchanges.has(m.exchange) && m.exchange.startsWith("amq.")) {
        throw fail.accessRefused(`exchange name '${m.exchange}' contains reserved prefix 'amq.*'`);
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
    if (m.exchange === "") throw fail.accessRefused("operation not permitted on the default exchange");
    if (m.exchange.startsWith("amq.")) {
      throw fail.accessRefused(`deletion of system exchange '${m.exchange}' in vhost '${this.vhost.name}' not allowed`);
    }
    this.access.configure("exchange", m.exchange);
    this.vhost.deleteExchange(m.exchange, m.ifUnused);
    if (!m.noWait) this.writer.method(this.id, amqp.encodeExchangeDeleteOk, {});
  }

  private onExchangeBind(m: amqp.ExchangeBind | amqp.ExchangeUnbind, bind: boolean): void {
    this.access.write("exchange", m.destination);
    if (m.destination === "" || m.source === "") throw fail.accessRefused("operation not permitted on the default exchange");
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

  // ---- flow, confirm, tx ----

  private onFlow(m: amqp.ChannelFlow): void {
    // RabbitMQ 3.x refuses to be told to stop sending; active=true is a no-op.
    if (!m.active) throw fail.notImplemented("active=false");
    this.writer.method(this.id, amqp.encodeChannelFlowOk, { active: true });
  }

  private onConfirmSelect(m: amqp.ConfirmSelect): void {
    if (this.txMode) throw fail.preconditionFailed("cannot switch from tx to confirm mode");
    this.confirms ??= new ConfirmTracker(this.persister, (tag, multiple, ack) => {
      if (this.state !== "open") return;
      if (ack) this.writer.method(this.id, amqp.encodeBasicAck, { deliveryTag: tag, multiple });
      else this.writer.method(this.id, amqp.encodeBasicNack, { deliveryTag: tag, multiple, requeue: false });
    });
    if (!m.nowait) this.writer.method(this.id, amqp.encodeConfirmSelectOk, {});
  }

  private onTxSelect(): void {
    if (this.confirms) throw fail.preconditionFailed("cannot switch from confirm to tx mode");
    this.txMode = true;
    this.writer.method(this.id, amqp.encodeTxSelectOk, {});
  }

  private holdAck(m: amqp.BasicAck | amqp.BasicNack | amqp.BasicReject): void {
    // An unknown tag fails now, not at commit (RabbitMQ checks when the ack arrives).
    if (m.id === amqp.BASIC_REJECT || !m.multiple || m.deliveryTag !== 0) {
      if (!this.unacked.has(m.deliveryTag)) throw unknownTag(m.deliveryTag);
    }
    this.txActions.push({ kind: "ack", method: m });
  }

  private onTxCommit(): void {
    if (!this.txMode) throw fail.preconditionFailed("channel is not transactional");
    const actions = this.txActions;
    this.txActions = [];
    let durable = false;
    let refused = false;
    for (const action of actions) {
      if (action.kind === "publish") {
        const epoch = this.publish(action.method, action.message);
        if (epoch === REFUSED_EPOCH) refused = true;
        else if (epoch !== 0) durable = true;
      } else {
        const m = action.method;
        if (m.id === amqp.BASIC_ACK) this.ack(m.deliveryTag, m.multiple);
        else if (m.id === amqp.BASIC_NACK) this.nack(m.deliveryTag, m.multiple, m.requeue);
        else this.nack(m.deliveryTag, false, m.requeue);
      }
    }
    // commit-ok only once the persistent part of the transaction is on disk. A part that could
    // not be stored fails the commit as RabbitMQ fails it: 406 "partial tx completion".
    if (refused) throw partialTxCompletion();
    if (durable && this.persister) {
      this.persister.whenSynced(this.persister.currentEpoch, (err) => {
        if (this.state !== "open") return;
        if (err === undefined) this.writer.method(this.id, amqp.encodeTxCommitOk, {});
        else this.closeWithError(partialTxCompletion());
      });
    } else {
      this.writer.method(this.id, amqp.encodeTxCommitOk, {});
    }
  }

  private onTxRollback(): void {
    if (!this.txMode) throw fail.preconditionFailed("channel is not transactional");
    this.txActions = [];
    this.writer.method(this.id, amqp.encodeTxRollbackOk, {});
  }

  // ---- closing ----

  private onClientClose(): void {
    this.release();
    this.writer.method(this.id, amqp.encodeChannelCloseOk, {});
    this.connection.removeChannel(this.id);
  }

  /** A channel exception: release everything, send channel.close, wait for close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state !== "open") return;
    this.connection.log.warn(
      { event: "channel.error", connection: this.connection.name, channel: this.id, code: err.code, text: err.message },
      "closing channel on error",
    );
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
    this.connection.removeChannel(this.id);
  }

  /** Cancel consumers and requeue every unacked delivery (channel or connection closing). */
  release(): void {
    if (this.state === "closed") return;
    this.state = this.state === "open" ? "closed" : this.state;
    this.content.reset();
    this.txActions = [];
    this.confirms?.close();
    this.cancelReplyConsumer();
    for (const consumer of this.consumers.values()) consumer.queue.removeConsumer(consumer);
    this.consumers.clear();
    // The channel no longer takes deliveries, so requeued messages go to other consumers.
    this.finish(this.unacked.takeAll(), true);
    this.connection.waitingForDrain.delete(this);
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

/** RabbitMQ's answer to a tx.commit whose messages could not all be stored. */
function partialTxCompletion(): AmqpError {
  return fail.preconditionFailed("partial tx completion").attachMethod(amqp.TX_COMMIT);
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
