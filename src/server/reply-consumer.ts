import { fail } from "../amqp/errors.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import * as amqp from "../amqp/generated.js";
import { Message } from "../broker/message.js";
import { REPLY_TO } from "../amqp/raw-properties.js";
import type { ChannelHost } from "./channel-host.js";
import { DirectReplyTo, REPLY_QUEUE, type ReplyTarget } from "./direct-reply-to.js";
import { writeReplyDeliver } from "./message-frames.js";

/**
 * A direct reply-to requester's backlog above which replies to it are dropped (returned when
 * mandatory): they come from other connections, which its own backpressure does not slow down.
 */
const REPLY_BACKLOG_LIMIT = 16 * 1024 * 1024;

/** What a reply consumer needs of its channel. */
export interface ReplyChannel {
  readonly id: number;
  readonly host: ChannelHost;
  /** False once the channel is closing: replies are then dropped. */
  readonly isOpen: boolean;
  /** A delivery tag of the channel: replies are numbered with its other deliveries. */
  takeDeliveryTag(): number;
}

/** basic.consume on amq.rabbitmq.reply-to, as the channel's consumers see it. */
export interface ReplyConsumeOptions {
  channel: ReplyChannel;
  method: amqp.BasicConsume;
  /** The channel's reply consumer so far: a second one is refused. */
  existing: ReplyConsumer | undefined;
  tag: string;
  /** The tag as deliveries carry it (message-frames.ts consumerTagBytes). */
  tagBytes: Buffer;
}

/**
 * A channel's consumer on amq.rabbitmq.reply-to (RabbitMQ's direct reply-to): registered under a
 * key in the broker-wide DirectReplyTo, it gets replies published to that key straight from the
 * publisher's channel, through no queue. No-ack only, one per channel.
 */
export class ReplyConsumer implements ReplyTarget {
  /** The key replies are addressed to (amq.rabbitmq.reply-to.<key>). */
  readonly key: string;
  /** Replies are being dropped for a backlog (logged once per episode). */
  private dropping = false;

  private constructor(
    private readonly channel: ReplyChannel,
    readonly tag: string,
    private readonly tagBytes: Buffer,
  ) {
    this.key = channel.host.ctx.directReplies.register(this);
  }

  /** basic.consume on amq.rabbitmq.reply-to, with RabbitMQ's checks; sends consume-ok unless no-wait. */
  static start(options: ReplyConsumeOptions): ReplyConsumer {
    const { channel, method: m, existing, tag, tagBytes } = options;
    if (!m.noAck) throw fail.preconditionFailed("reply consumer cannot acknowledge");
    if (existing !== undefined) throw fail.preconditionFailed("reply consumer already set");
    const consumer = new ReplyConsumer(channel, tag, tagBytes);
    if (!m.noWait) channel.host.writer.method(channel.id, amqp.encodeBasicConsumeOk, { consumerTag: tag });
    return consumer;
  }

  /** A reply for this consumer (ReplyTarget): false when dropped for the requester's backlog. */
  deliverReply(message: Message): boolean {
    if (!this.channel.isOpen) return true; // gone: dropped, as RabbitMQ does
    const host = this.channel.host;
    const w = host.writer;
    if (w.backlog > REPLY_BACKLOG_LIMIT) {
      if (!this.dropping) {
        this.dropping = true;
        host.log.warn(
          { event: "direct_reply_to.dropped", connection: host.name, backlog: w.backlog },
          "dropping replies: the requester does not read its socket",
        );
      }
      return false;
    }
    this.dropping = false;
    writeReplyDeliver(w, this.channel.id, this.tagBytes, this.channel.takeDeliveryTag(), message);
    return true;
  }

  /** basic.cancel, or the channel closing: no more replies. */
  cancel(): void {
    this.channel.host.ctx.directReplies.unregister(this.key);
  }
}

/**
 * A request whose reply_to is amq.rabbitmq.reply-to gets its channel's reply address instead
 * (412 when the channel has no reply consumer). Only messages with the reply-to flag set are
 * looked into.
 */
export function withReplyAddress(message: Message, consumer: ReplyConsumer | undefined): Message {
  if ((message.propertyFlags & REPLY_TO) === 0 || message.properties.replyTo !== REPLY_QUEUE) return message;
  if (consumer === undefined) throw fail.preconditionFailed("fast reply consumer does not exist");
  const w = new AmqpWriter(message.propertiesEnd - message.propertiesStart + 64);
  amqp.encodeBasicProperties(w, { ...message.properties, replyTo: DirectReplyTo.replyTo(consumer.key) });
  return new Message(message.exchange, message.routingKey, Buffer.from(w.buf.subarray(0, w.pos)), message.body, message.address);
}
