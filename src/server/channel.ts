import { MessageStats } from "../broker/message-stats.js";
import { ChannelAccess } from "../access/channel-access.js";
import { AmqpError, fail } from "../amqp/errors.js";
import * as amqp from "../amqp/generated.js";
import type { FastPublish } from "../amqp/publish-decoder.js";
import type { Consumer, ConsumerOwner } from "../broker/consumer.js";
import type { StoredMessage } from "../broker/message-log.js";
import type { VHost } from "../broker/vhost.js";
import type { ChannelHost } from "./channel-host.js";
import { ChannelConsumers } from "./channel-consumers.js";
import { ChannelDeliveries, type ChannelState, type DeliveringChannel } from "./channel-deliveries.js";
import { ChannelPublisher, type PublishingChannel } from "./channel-publisher.js";
import type { ReplyChannel, ReplyConsumer } from "./reply-consumer.js";
import { TopologyMethods } from "./topology-methods.js";
import { Transaction } from "./transaction.js";

/**
 * One AMQP channel: its life (open, closing, closed) and the dispatch of its methods to the parts
 * that apply them to the broker model: publishing and confirms (channel-publisher.ts), consumers
 * (channel-consumers.ts), deliveries, acks and prefetch (channel-deliveries.ts), exchanges and
 * queues (topology-methods.ts), transactions (transaction.ts). It sees its connection only as a
 * ChannelHost, so it runs against a fake one in unit tests.
 */
export class Channel implements ConsumerOwner, DeliveringChannel, PublishingChannel, ReplyChannel {
  private readonly vhost: VHost;
  private lifecycle: ChannelState = "open";
  private readonly consumers: ChannelConsumers;
  private readonly deliveries: ChannelDeliveries;
  private readonly publisher: ChannelPublisher;
  /** Set by tx.select. */
  private tx: Transaction | undefined;
  /** Permission checks (403 ACCESS_REFUSED), with the per-channel cache RabbitMQ has too. */
  private readonly access: ChannelAccess;
  private readonly topology: TopologyMethods;
  /** Counters for the management API's message_stats. */
  readonly stats = new MessageStats();

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
    this.deliveries = new ChannelDeliveries({ channel: this, access: this.access, topology: this.topology });
  }

  /** A snapshot of the channel's state, for warrenctl list_channels. */
  info(): ChannelInfo {
    return {
      transactional: this.tx !== undefined,
      confirm: this.publisher.confirming,
      consumerCount: this.consumers.size,
      messagesUnacknowledged: this.deliveries.unackedCount,
      messagesUncommitted: this.tx?.messagesUncommitted ?? 0,
      acksUncommitted: this.tx?.acksUncommitted ?? 0,
      messagesUnconfirmed: this.publisher.unconfirmed,
      prefetchCount: this.deliveries.prefetchCount,
      globalPrefetchCount: this.deliveries.globalPrefetchCount,
    };
  }

  private get writer() {
    return this.host.writer;
  }

  get state(): ChannelState {
    return this.lifecycle;
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
      if (err instanceof AmqpError) err.attachMethod(method.id);
      throw err;
    }
  }

  /**
   * basic.ack without a method object (under manual acks one arrives per delivered message): the
   * same checks and outcome as onMethod with a decoded basic.ack. Returns false when the general
   * path must take it (a closing channel, a transaction).
   */
  onAck(deliveryTag: number, multiple: boolean): boolean {
    if (this.state !== "open" || this.tx !== undefined) return false;
    if (this.publisher.receivingContent) throw this.publisher.unexpectedFrame();
    try {
      this.deliveries.ack(deliveryTag, multiple);
    } catch (err) {
      if (err instanceof AmqpError) err.attachMethod(amqp.BASIC_ACK);
      throw err;
    }
    return true;
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
        return this.tx ? this.tx.holdAck(m) : this.deliveries.ack(m.deliveryTag, m.multiple);
      case amqp.BASIC_NACK:
        return this.tx ? this.tx.holdAck(m) : this.deliveries.nack(m.deliveryTag, m.multiple, m.requeue);
      case amqp.BASIC_REJECT:
        return this.tx ? this.tx.holdAck(m) : this.deliveries.nack(m.deliveryTag, false, m.requeue);
      case amqp.BASIC_CONSUME:
        return this.consumers.consume(this.topology.withQueueShortcut(m), this.deliveries.prefetchCount, this.deliveries.globalPrefetchCount);
      case amqp.BASIC_CANCEL:
        return this.consumers.cancel(m);
      case amqp.BASIC_GET:
        return this.deliveries.onGet(this.topology.withQueueShortcut(m));
      case amqp.BASIC_QOS:
        return this.deliveries.onQos(m);
      case amqp.BASIC_RECOVER:
        return this.deliveries.onRecover(m.requeue, true);
      case amqp.BASIC_RECOVER_ASYNC:
        return this.deliveries.onRecover(m.requeue, false);
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
        throw fail.commandInvalid("unimplemented method");
    }
  }

  /** A delivery tag of the channel, for a direct reply-to delivery (ReplyChannel). */
  takeDeliveryTag(): number {
    return this.deliveries.takeDeliveryTag();
  }

  // ---- delivery (ConsumerOwner) ----

  canDeliver(consumer: Consumer): boolean {
    return this.deliveries.canDeliver(consumer);
  }

  deliver(consumer: Consumer, message: StoredMessage): void {
    this.deliveries.deliver(consumer, message);
  }

  deliverWithProperties(consumer: Consumer, message: StoredMessage, properties: Buffer): void {
    this.deliveries.deliverWithProperties(consumer, message, properties);
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
      publish: (message, mandatory) => this.publisher.publish(message, mandatory),
      settle: (m) => {
        if (m.id === amqp.BASIC_ACK) this.deliveries.ack(m.deliveryTag, m.multiple);
        else if (m.id === amqp.BASIC_NACK) this.deliveries.nack(m.deliveryTag, m.multiple, m.requeue);
        else this.deliveries.nack(m.deliveryTag, false, m.requeue);
      },
      checkTag: (tag) => this.deliveries.checkTag(tag),
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
    this.lifecycle = "closing";
    this.writer.method(this.id, amqp.encodeChannelClose, {
      replyCode: err.code,
      replyText: err.message,
      classId: err.classId,
      methodId: err.methodId,
    });
  }

  private finishClose(): void {
    this.lifecycle = "closed";
    this.host.removeChannel(this.id);
  }

  /** Cancel consumers and requeue every unacked delivery (channel or connection closing). */
  release(): void {
    if (this.state === "closed") return;
    this.lifecycle = this.state === "open" ? "closed" : this.state;
    this.publisher.close();
    this.tx?.discard();
    const left = this.consumers.cancelAll();
    this.deliveries.release();
    for (const queue of left) queue.dispatch();
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
