import type { MessageStats } from "../broker/message-stats.js";
import type { ChannelAccess } from "../access/channel-access.js";
import { AmqpError, fail } from "../amqp/errors.js";
import { expirationAt, expirationRefusal, hasExpiration } from "../amqp/expiration.js";
import * as amqp from "../amqp/generated.js";
import { refuse } from "../amqp/refusals.js";
import type { FastPublish } from "../amqp/publish-decoder.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import { Message } from "../broker/message.js";
import { USER_ID } from "../amqp/raw-properties.js";
import type { Queue } from "../broker/queue.js";
import { RouteList } from "../broker/route-list.js";
import { withSenderSelectedRoutes } from "../broker/sender-selected.js";
import { checkDelayReadable } from "../broker/x-delay.js";
import type { VHost } from "../broker/vhost.js";
import type { ChannelHost } from "./channel-host.js";
import { ConfirmTracker, REFUSED_EPOCH } from "./confirm-tracker.js";
import { ContentAssembler } from "./content-assembler.js";
import { DirectReplyTo } from "./direct-reply-to.js";
import { FLOW_HOLD_AT } from "./flow-control.js";
import { writeUnroutableReturn } from "./message-frames.js";
import { type ReplyConsumer, withReplyAddress } from "./reply-consumer.js";
import type { Transaction } from "./transaction.js";

/** 406 when a publish's expiration property is not a TTL RabbitMQ takes (as it checks, after user-id). */
function checkExpiration(message: Message): void {
  const raw = message.propertiesBuf;
  const at = expirationAt(raw, message.propertiesStart, message.propertiesEnd);
  if (at < 0) return;
  const refusal = expirationRefusal(raw.subarray(at, at + raw[at - 1]!));
  if (refusal !== undefined) throw refuse.invalidExpiration(refusal);
}

/** What the publishing side needs of its channel. */
export interface PublishingChannel {
  readonly id: number;
  readonly host: ChannelHost;
  /** The channel's message counters (publish, confirm, unroutable). */
  readonly stats: MessageStats;
  /** False once the channel is closing: confirms are then no longer sent. */
  readonly isOpen: boolean;
  /** Set by tx.select: publishes are held until tx.commit. */
  readonly transaction: Transaction | undefined;
  /** The channel's direct reply-to consumer: requests asking for a reply get its address. */
  readonly replyConsumer: ReplyConsumer | undefined;
}

/** What a channel's publisher works with. */
export interface PublisherOptions {
  channel: PublishingChannel;
  vhost: VHost;
  /** The channel's permission checks. */
  access: ChannelAccess;
}

/**
 * The publishing side of one channel: basic.publish and its content frames, the checks RabbitMQ
 * makes when a publish arrives, routing and enqueueing (or holding for a transaction), mandatory
 * returns, and publisher confirms.
 */
export class ChannelPublisher {
  private readonly channel: PublishingChannel;
  private readonly vhost: VHost;
  private readonly access: ChannelAccess;
  private readonly content = new ContentAssembler();
  /**
   * The publish being received, reused for every publish of the channel (see Message): its
   * basic.publish fields are copied here when it arrives, since the connection's decoder reuses
   * its own object for the next publish, of any channel.
   */
  private readonly message = new Message();
  private mandatory = false;
  /** The queues a publish reaches, reused (vhost.route fills it; emptied after each publish). */
  private readonly routed = new RouteList<Queue>();
  /** Set by confirm.select. */
  private confirms: ConfirmTracker | undefined;

  constructor(options: PublisherOptions) {
    this.channel = options.channel;
    this.vhost = options.vhost;
    this.access = options.access;
  }

  private get host(): ChannelHost {
    return this.channel.host;
  }

  /** A publish's content is being received: only its content frames may come now. */
  get receivingContent(): boolean {
    return this.content.active;
  }

  /** The 505 for a frame that is not the content frame expected now. */
  unexpectedFrame(): AmqpError {
    return this.content.unexpected();
  }

  /** confirm.select was received. */
  get confirming(): boolean {
    return this.confirms !== undefined;
  }

  /** Publishes not yet confirmed (warrenctl list_channels messages_unconfirmed). */
  get unconfirmed(): number {
    return this.confirms?.unconfirmed ?? 0;
  }

  onPublish(m: FastPublish): void {
    if (m.immediate) throw fail.notImplemented("immediate=true");
    this.message.setAddress(m.exchange, m.routingKey, m.addressBuf, m.addressStart, m.addressEnd);
    this.mandatory = m.mandatory;
    this.content.start();
  }

  onContentHeader(buf: Buffer, start: number, end: number): void {
    const complete = this.content.header(buf, start, end, this.host.ctx.options.maxMessageSize);
    if (complete) this.completePublish();
  }

  onContentBody(buf: Buffer, start: number, end: number): void {
    if (this.content.bodyFrame(buf, start, end)) this.completePublish();
  }

  private completePublish(): void {
    // RabbitMQ takes the publish in hand and then stops reading the connection.
    this.host.blockIfAlarmed();
    const content = this.content;
    if (!this.channel.isOpen) {
      // Published after the channel failed: dropped.
      content.release();
      this.message.release();
      return;
    }
    let message = this.message;
    message.setProperties(content.propertiesBuf, content.propertiesStart, content.propertiesEnd);
    message.setBody(content.bodyBuf, content.bodyStart, content.bodyEnd);
    content.release();
    try {
      try {
        this.validatePublish(message);
        message = withReplyAddress(message, this.channel.replyConsumer);
        message = withSenderSelectedRoutes(message);
      } catch (err) {
        // The error belongs to basic.publish even though it surfaced at the last content frame.
        if (err instanceof AmqpError) err.attachMethod(amqp.BASIC_PUBLISH);
        throw err;
      }
      const tx = this.channel.transaction;
      // A transaction keeps the message until its commit: a copy that owns its bytes.
      if (tx) tx.holdPublish(message.copy(), this.mandatory);
      else this.publish(message, this.mandatory);
    } finally {
      this.message.release();
    }
  }

  /** Checks made when a publish arrives (inside a transaction too), as RabbitMQ makes them. */
  private validatePublish(message: Message): Exchange {
    const { exchange: name, routingKey } = message;
    this.access.publish(name);
    const exchange = this.vhost.getExchange(name);
    if (exchange.options.internal) {
      throw fail.accessRefused(`cannot publish to internal exchange '${name}' in vhost '${this.vhost.name}'`);
    }
    if (exchange.type === "topic") this.access.publishTopic(name, routingKey);
    // user-id is the 12th property: checked only when present.
    if ((message.propertyFlags & USER_ID) !== 0) {
      const userId = message.properties.userId;
      if (userId !== undefined && userId !== this.host.username) {
        throw fail.preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${this.host.username}'`);
      }
    }
    if (hasExpiration(message.propertiesBuf, message.propertiesStart, message.propertiesEnd)) checkExpiration(message);
    if (exchange.type === "x-delayed-message") checkDelayReadable(message);
    return exchange;
  }

  /**
   * Route and enqueue; returns the epoch the publish's durability waits for: 0 when nothing was
   * written durably, REFUSED_EPOCH when a queue's store refused it (the publisher gets a nack).
   */
  publish(message: Message, mandatory: boolean): number {
    if (DirectReplyTo.isReplyAddress(message.exchange, message.routingKey)) return this.publishReply(message, mandatory);
    const exchange = this.vhost.exchanges.get(message.exchange);
    const queues = this.routed;
    const stats = this.channel.stats;
    stats.publish++;
    if (exchange === undefined) queues.clear();
    else {
      this.vhost.route(exchange, message, queues);
      exchange.stats.publish++;
      if (queues.length !== 0) exchange.stats.publishOut++;
    }
    let durable = false;
    let refused = false;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues.at(i);
      const outcome = queue.enqueue(message);
      if (outcome === "durable") durable = true;
      // Refused by a store, or by a queue over its limit (x-overflow reject-publish): the publisher
      // is nacked, a transaction fails (RabbitMQ: "partial tx completion"); other queues keep it.
      else if (outcome === "refused" || outcome === "rejected") refused = true;
      // A queue that is not keeping up holds this connection (src/server/flow-control.ts).
      if (queue.messageCount >= FLOW_HOLD_AT && queue.consumerCount !== 0) this.host.holdForQueue(queue);
    }
    // Held by a delayed-message exchange: stored, not routed (a mandatory publish still comes back, as with the plugin).
    const held = message.held;
    if (held !== undefined) {
      if (held === "durable") durable = true;
      else if (held === "refused") refused = true;
      message.held = undefined;
    }
    const unroutable = queues.length === 0;
    queues.clear(); // keeps no queue alive past the publish
    if (unroutable) {
      if (mandatory) {
        stats.returnUnroutable++;
        writeUnroutableReturn(this.host.writer, this.channel.id, message);
      } else stats.dropUnroutable++;
    }
    const epoch = refused ? REFUSED_EPOCH : durable ? (this.host.ctx.persister?.currentEpoch ?? 0) : 0;
    if (this.confirms) {
      stats.confirm++;
      this.confirms.add(epoch);
    }
    return epoch;
  }

  /** A reply to a direct reply-to consumer: straight to its channel, through no queue. */
  private publishReply(message: Message, mandatory: boolean): number {
    const delivered = this.host.ctx.directReplies.deliver(message.routingKey, message);
    if (!delivered && mandatory) writeUnroutableReturn(this.host.writer, this.channel.id, message);
    if (this.confirms) this.confirms.add(0);
    return 0;
  }

  /** confirm.select (the channel has checked it is not transactional). */
  onConfirmSelect(m: amqp.ConfirmSelect): void {
    const { id, host } = this.channel;
    this.confirms ??= new ConfirmTracker(host.ctx.persister, (tag, multiple, ack) => {
      if (!this.channel.isOpen) return;
      if (ack) host.writer.method(id, amqp.encodeBasicAck, { deliveryTag: tag, multiple });
      else host.writer.method(id, amqp.encodeBasicNack, { deliveryTag: tag, multiple, requeue: false });
    });
    if (!m.nowait) host.writer.method(id, amqp.encodeConfirmSelectOk, {});
  }

  /** The channel closed: drop a publish in progress, stop confirming. */
  close(): void {
    this.content.reset();
    this.confirms?.close();
  }
}
