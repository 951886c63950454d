import type { MessageStats } from "../broker/message-stats.js";
import type { ChannelAccess } from "../access/channel-access.js";
import { type AmqpError, fail } from "../amqp/errors.js";
import * as amqp from "../amqp/generated.js";
import type { Consumer } from "../broker/consumer.js";
import type { StoredMessage } from "../broker/message-log.js";
import type { Queue } from "../broker/queue.js";
import type { ChannelHost, DrainWaiter } from "./channel-host.js";
import type { ConsumerTimeoutClock, ConsumerTimeoutTarget } from "./consumer-timeout.js";
import { refuse } from "../amqp/refusals.js";
import { StreamQueue } from "../broker/stream-queue.js";
import { writeBasicDeliver, writeBasicGetOk, writeStreamDeliver } from "./message-frames.js";
import type { TopologyMethods } from "./topology-methods.js";
import { Delivery, UnackedList } from "./unacked.js";

/** A consumer's socket backlog above which it gets no more deliveries until the socket drains. */
const DELIVERY_HIGH_WATER = 1024 * 1024;
/** Settled deliveries a channel keeps for reuse: enough for a usual prefetch window. */
const SPARE_DELIVERIES = 256;

/** What becomes of settled deliveries: acked, put back in their queues, or rejected (dead-lettered where the queue does that). */
type Outcome = typeof ACK | typeof REQUEUE | typeof REJECT;
const ACK = 0;
const REQUEUE = 1;
const REJECT = 2;

/** Where a channel is in its life: open, closing (channel.close sent, waiting for close-ok), closed. */
export type ChannelState = "open" | "closing" | "closed";

/** What the delivery side needs of its channel. */
export interface DeliveringChannel {
  readonly id: number;
  readonly host: ChannelHost;
  readonly state: ChannelState;
  /** The channel's message counters (deliver, get, ack, redeliver). */
  readonly stats: MessageStats;
  /** Let the queues of the channel's consumers deliver again (prefetch room, a drained socket). */
  resumeDeliveries(): void;
  /** A channel exception (the consumer timeout): close the channel with it. */
  closeWithError(err: AmqpError): void;
}

/** What a channel's deliveries work with. */
export interface ChannelDeliveriesOptions {
  channel: DeliveringChannel;
  /** The channel's permission checks (basic.get). */
  access: ChannelAccess;
  /** Finds the queue of a basic.get. */
  topology: TopologyMethods;
}

/**
 * The delivering side of one channel: delivery tags, basic.deliver and basic.get, the unacked
 * deliveries and their acks, nacks, rejects and recovers, prefetch (basic.qos), and the
 * consumer timeout's check of the oldest unacked delivery.
 */
export class ChannelDeliveries implements ConsumerTimeoutTarget, DrainWaiter {
  private readonly channel: DeliveringChannel;
  private readonly access: ChannelAccess;
  private readonly topology: TopologyMethods;
  private readonly stats: MessageStats;
  private readonly unacked = new UnackedList();
  /** Settled deliveries, reused by track() (a Delivery keeps its last queue until reused). */
  private readonly spare: Delivery[] = [];
  private nextDeliveryTag = 1;
  /** basic.qos global=false: the prefetch given to consumers started after it. */
  private consumerPrefetch = 0;
  /** basic.qos global=true: a limit shared by all consumers of the channel (RabbitMQ 3.x). */
  private channelPrefetch = 0;
  /** consumer_timeout (undefined: off), and whether it is watching this channel. */
  private readonly timeoutClock: ConsumerTimeoutClock | undefined;
  private timeoutWatched = false;

  constructor(options: ChannelDeliveriesOptions) {
    this.channel = options.channel;
    this.access = options.access;
    this.topology = options.topology;
    this.stats = options.channel.stats;
    this.timeoutClock = options.channel.host.ctx.consumerTimeouts;
  }

  private get id(): number {
    return this.channel.id;
  }

  private get host(): ChannelHost {
    return this.channel.host;
  }

  private get writer() {
    return this.channel.host.writer;
  }

  private get state(): ChannelState {
    return this.channel.state;
  }

  /** Deliveries not yet acked (warrenctl list_channels messages_unacknowledged). */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** basic.qos prefetch_count with global=false: what new consumers get. */
  get prefetchCount(): number {
    return this.consumerPrefetch;
  }

  /** basic.qos prefetch_count with global=true: the channel-wide limit. */
  get globalPrefetchCount(): number {
    return this.channelPrefetch;
  }

  /** A delivery tag, for a direct reply-to delivery: replies are numbered with the other deliveries. */
  takeDeliveryTag(): number {
    return this.nextDeliveryTag++;
  }

  /** Throw 406 "unknown delivery tag" unless the tag is outstanding (an ack held by a transaction). */
  checkTag(tag: number): void {
    if (!this.unacked.has(tag)) throw unknownTag(tag);
  }

  /** The socket drained (DrainWaiter). */
  resumeDeliveries(): void {
    this.channel.resumeDeliveries();
  }

  private queueFor(name: string): Queue {
    return this.topology.queueFor(name);
  }

  private closeWithError(err: AmqpError): void {
    this.channel.closeWithError(err);
  }

  /** The channel closed: requeue every unacked delivery, stop waiting for a drain and for the clock. */
  release(): void {
    // The channel no longer takes deliveries, so requeued messages go to other consumers.
    this.finish(this.unacked.takeAll(), REQUEUE);
    this.host.stopWaitingForDrain(this);
    if (this.timeoutWatched) this.timeoutClock!.unwatch(this);
    this.timeoutWatched = false;
  }

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

  deliver(consumer: Consumer, message: StoredMessage): void {
    const tag = this.nextDeliveryTag++;
    const queueStats = consumer.queue.stats;
    if (!consumer.options.noAck) {
      this.track(tag, message, consumer.queue, consumer);
      this.stats.deliver++;
      queueStats.deliver++;
    } else {
      this.stats.deliverNoAck++;
      queueStats.deliverNoAck++;
    }
    if (message.redelivered) {
      this.stats.redeliver++;
      queueStats.redeliver++;
    }
    writeBasicDeliver(this.writer, this.id, consumer.tagBytes, tag, message);
  }

  /** A stream's delivery (always acked manually: streams refuse no-ack consumers). */
  deliverWithProperties(consumer: Consumer, message: StoredMessage, properties: Buffer): void {
    const tag = this.nextDeliveryTag++;
    this.track(tag, message, consumer.queue, consumer);
    writeStreamDeliver(this.writer, this.id, consumer.tagBytes, tag, message, properties);
  }

  /** Hold a delivery until it is acked, stamped for the consumer timeout (basic.get ones too, as RabbitMQ). */
  private track(tag: number, message: StoredMessage, queue: Queue, consumer: Consumer | undefined): void {
    const clock = this.timeoutClock;
    let deliveredAt = 0;
    if (clock !== undefined) {
      deliveredAt = clock.ticks;
      if (!this.timeoutWatched) {
        this.timeoutWatched = true;
        clock.watch(this);
      }
    }
    const spare = this.spare.pop();
    this.unacked.push(
      spare !== undefined
        ? spare.reuse(tag, message, queue, consumer, deliveredAt)
        : new Delivery(tag, message.position, message.flags, message.bodySize, queue, consumer, deliveredAt),
    );
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

  onGet(m: amqp.BasicGet): void {
    this.access.read("queue", m.queue);
    const queue = this.queueFor(m.queue);
    const message = queue.get(m.noAck);
    if (message === undefined) {
      this.stats.getEmpty++;
      queue.stats.getEmpty++;
      this.writer.method(this.id, amqp.encodeBasicGetEmpty, {});
      return;
    }
    const tag = this.nextDeliveryTag++;
    if (!m.noAck) {
      this.track(tag, message, queue, undefined);
      this.stats.get++;
      queue.stats.get++;
    } else {
      this.stats.getNoAck++;
      queue.stats.getNoAck++;
    }
    if (message.redelivered) {
      this.stats.redeliver++;
      queue.stats.redeliver++;
    }
    writeBasicGetOk(this.writer, this.id, tag, message, queue.messageCount);
    // A client that pipelines gets and reads nothing stops being read once its output backs up.
    this.writer.checkBacklog();
  }

  onQos(m: amqp.BasicQos): void {
    if (m.prefetchSize !== 0) throw fail.notImplemented(`prefetch_size!=0 (${m.prefetchSize})`);
    if (m.global) this.channelPrefetch = m.prefetchCount;
    else this.consumerPrefetch = m.prefetchCount;
    this.writer.method(this.id, amqp.encodeBasicQosOk, {});
    if (m.global) this.resumeDeliveries();
  }

  ack(tag: number, multiple: boolean): void {
    this.settleTags(tag, multiple, ACK);
  }

  /** basic.nack and basic.reject: requeued, or rejected (dead-lettered where the queue does that). */
  nack(tag: number, multiple: boolean, requeue: boolean): void {
    this.settleTags(tag, multiple, requeue ? REQUEUE : REJECT);
  }

  /** Take deliveries off the unacked list (an unknown tag is 406 and closes the channel) and finish them. */
  private settleTags(tag: number, multiple: boolean, outcome: Outcome): void {
    if (multiple) {
      // RabbitMQ: the tag itself must be outstanding (0 means everything).
      if (tag !== 0 && !this.unacked.has(tag)) throw unknownTag(tag);
      const done = this.unacked.takeUpTo(tag);
      if (outcome !== ACK) this.refuseStreamNack(done);
      this.finish(done, outcome);
      return;
    }
    // One tag, the common case: no array.
    const one = this.unacked.take(tag);
    if (one === undefined) throw unknownTag(tag);
    if (outcome !== ACK && one.queue instanceof StreamQueue) this.refuseStreamNack([one]);
    this.finishOne(one, outcome);
  }

  /** Keep a settled delivery for the next one (up to SPARE_DELIVERIES), its references dropped. */
  private recycle(d: Delivery): void {
    if (this.spare.length >= SPARE_DELIVERIES) return;
    d.consumer = undefined;
    this.spare.push(d);
  }

  /** finish() for a single delivery. */
  private finishOne(d: Delivery, outcome: Outcome): void {
    const queue = d.queue;
    queue.unacked--;
    queue.unackedBytes -= d.bodySize;
    if (d.consumer !== undefined) d.consumer.unacked--;
    if (outcome === ACK) {
      queue.settle(d.position, d.flags);
      this.stats.ack++;
      queue.stats.ack++;
    } else if (outcome === REQUEUE) queue.requeue(d.position, d.flags, d.bodySize);
    else queue.reject(d.position, d.flags);
    this.recycle(d);
    this.host.dispatchAfterAcks(queue);
    if (this.channelPrefetch !== 0 && this.state === "open") this.resumeDeliveries();
  }

  /**
   * Release the prefetch credit of settled deliveries, put them back in their queues when asked
   * (each at its original position), and let the queues dispatch again.
   */
  private finish(done: Delivery[], outcome: Outcome): void {
    if (done.length === 0) return;
    for (let i = 0; i < done.length; i++) {
      const d = done[i]!;
      d.queue.unacked--;
      d.queue.unackedBytes -= d.bodySize;
      if (d.consumer !== undefined) d.consumer.unacked--;
    }
    // Settle (or requeue) all first, then let each queue dispatch once.
    const queues = new Set<Queue>();
    for (let i = 0; i < done.length; i++) {
      const d = done[i]!;
      if (outcome === ACK) {
        d.queue.settle(d.position, d.flags);
        this.stats.ack++;
        d.queue.stats.ack++;
      } else if (outcome === REQUEUE) d.queue.requeue(d.position, d.flags, d.bodySize);
      else d.queue.reject(d.position, d.flags);
      queues.add(d.queue);
      this.recycle(d);
    }
    for (const queue of queues) this.host.dispatchAfterAcks(queue);
    // A channel-wide limit frees room for every consumer of the channel.
    if (this.channelPrefetch !== 0 && this.state === "open") this.resumeDeliveries();
  }

  /**
   * basic.nack and basic.reject of stream deliveries: 540, closing the connection (RabbitMQ 3.10).
   * The deliveries taken are put back first (requeued, or for a stream let go), so that a nack
   * that also covered classic deliveries loses none of them.
   */
  private refuseStreamNack(done: Delivery[]): void {
    const stream = done.find((d) => d.queue instanceof StreamQueue)?.queue as StreamQueue | undefined;
    if (stream === undefined) return;
    this.finish(done, REQUEUE);
    throw refuse.notSupportedByStreams("basic.nack and basic.reject", stream.resource);
  }

  onRecover(requeue: boolean, sendOk: boolean): void {
    if (!requeue) throw fail.notImplemented("requeue=false");
    const all = this.unacked.takeAll();
    this.finish(all, REQUEUE);
    // RabbitMQ's stream queues cannot requeue: its channel fails, closing the connection (541).
    if (all.some((d) => d.queue instanceof StreamQueue)) throw refuse.internalError();
    if (sendOk) this.writer.method(this.id, amqp.encodeBasicRecoverOk, {});
  }
}

function unknownTag(tag: number): AmqpError {
  return fail.preconditionFailed(`unknown delivery tag ${tag}`);
}
