import { randomBytes } from "node:crypto";
import type { Message } from "../broker/message.js";

/** The pseudo-queue RPC clients consume from to get replies without declaring a queue. */
export const REPLY_QUEUE = "amq.rabbitmq.reply-to";
const REPLY_PREFIX = REPLY_QUEUE + ".";

/** A channel consuming from amq.rabbitmq.reply-to. */
export interface ReplyTarget {
  /** False when the reply could not be delivered (the requester does not read its socket). */
  deliverReply(message: Message): boolean;
}

/**
 * RabbitMQ's direct reply-to. A channel consuming from amq.rabbitmq.reply-to (no-ack) gets a key;
 * its requests' reply_to "amq.rabbitmq.reply-to" is rewritten to "amq.rabbitmq.reply-to.<key>",
 * and a reply published to the default exchange with that routing key goes straight to the
 * channel, through no queue.
 */
export class DirectReplyTo {
  private readonly targets = new Map<string, ReplyTarget>();

  register(target: ReplyTarget): string {
    const key = randomBytes(18).toString("base64url");
    this.targets.set(key, target);
    return key;
  }

  unregister(key: string): void {
    this.targets.delete(key);
  }

  /** Is this a reply address (default exchange, routing key amq.rabbitmq.reply-to.<key>)? */
  static isReplyAddress(exchange: string, routingKey: string): boolean {
    return exchange === "" && routingKey.startsWith(REPLY_PREFIX);
  }

  /** The reply_to value that routes back to a key. */
  static replyTo(key: string): string {
    return REPLY_PREFIX + key;
  }

  /** Deliver a reply; false when its consumer is gone (the reply is dropped, or returned). */
  deliver(routingKey: string, message: Message): boolean {
    const target = this.targets.get(routingKey.slice(REPLY_PREFIX.length));
    if (target === undefined) return false;
    return target.deliverReply(message);
  }
}
