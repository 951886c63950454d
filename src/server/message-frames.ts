import type { FrameWriter } from "../amqp/frame-writer.js";
import { BASIC_DELIVER, type BasicPublish, CLASS_BASIC, encodeBasicReturn, FRAME_METHOD } from "../amqp/generated.js";
import { shortStrBytes } from "../amqp/name-bytes.js";
import type { Message } from "../broker/message.js";

/**
 * A consumer tag as basic.deliver carries it (a shortstr). Encoded once per consumer, when
 * basic.consume arrives, for queue consumers and the direct reply-to consumer alike.
 */
export function consumerTagBytes(tag: string): Buffer {
  return shortStrBytes(tag);
}

/**
 * basic.deliver and its content: the one encoder of deliveries (queue consumers and direct
 * reply-to). Positional arguments, not an options object: it runs once per delivered message.
 */
export function writeBasicDeliver(w: FrameWriter, channel: number, tagBytes: Buffer, deliveryTag: number, redelivered: boolean, message: Message): void {
  w.begin(FRAME_METHOD, channel);
  w.u32(BASIC_DELIVER);
  w.raw(tagBytes);
  w.u64(deliveryTag);
  w.u8(redelivered ? 1 : 0);
  w.raw(message.address);
  w.end();
  w.content(channel, CLASS_BASIC, message.rawProperties, message.body);
}

/** basic.return 312 NO_ROUTE and its content: a mandatory message that reached nothing, back to its publisher. */
export function writeUnroutableReturn(w: FrameWriter, channel: number, publish: BasicPublish, message: Message): void {
  w.method(channel, encodeBasicReturn, {
    replyCode: 312,
    replyText: "NO_ROUTE",
    exchange: publish.exchange,
    routingKey: publish.routingKey,
  });
  w.content(channel, CLASS_BASIC, message.rawProperties, message.body);
}
