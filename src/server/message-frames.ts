import type { FrameWriter } from "../amqp/frame-writer.js";
import { BASIC_DELIVER, BASIC_GET_OK, CLASS_BASIC, encodeBasicReturn, FRAME_METHOD } from "../amqp/generated.js";
import { shortStrBytes } from "../amqp/name-bytes.js";
import { propertiesWithDeliveryCount } from "../amqp/delivery-count-header.js";
import type { Message } from "../broker/message.js";
import type { StoredMessage } from "../broker/message-log.js";

/**
 * A consumer tag as basic.deliver carries it (a shortstr). Encoded once per consumer, when
 * basic.consume arrives, for queue consumers and the direct reply-to consumer alike.
 */
export function consumerTagBytes(tag: string): Buffer {
  return shortStrBytes(tag);
}

/**
 * The basic.deliver method frame: the one encoder of deliveries (queue consumers and direct
 * reply-to), its exchange and routing key taken as stored, bytes [addressStart, addressEnd) of
 * `address`. Positional arguments, not an options object: it runs once per delivered message.
 */
function writeDeliverMethod(
  w: FrameWriter,
  channel: number,
  tagBytes: Buffer,
  deliveryTag: number,
  redelivered: boolean,
  address: Buffer,
  addressStart: number,
  addressEnd: number,
): void {
  w.begin(FRAME_METHOD, channel);
  w.u32(BASIC_DELIVER);
  w.raw(tagBytes);
  w.u64(deliveryTag);
  w.u8(redelivered ? 1 : 0);
  w.rawRange(address, addressStart, addressEnd);
  w.end();
}

/** basic.deliver and its content for a message from a queue, copied straight from its segment. */
export function writeBasicDeliver(w: FrameWriter, channel: number, tagBytes: Buffer, deliveryTag: number, message: StoredMessage): void {
  const buf = message.buf;
  writeDeliverMethod(w, channel, tagBytes, deliveryTag, message.redelivered, buf, message.addressStart, message.addressEnd);
  // A quorum queue's redelivery carries x-delivery-count (RabbitMQ 3.10 leaves first deliveries as published).
  if (message.deliveryCount > 0) return writeCountedContent(w, channel, message);
  w.contentFrom(channel, CLASS_BASIC, buf, message.propertiesStart, message.propertiesEnd, message.bodyStart, message.bodyEnd);
}

/** basic.deliver for a stream's message: never redelivered, its property section given (src/amqp/stream-offset-header.ts), its body from the segment. */
export function writeStreamDeliver(w: FrameWriter, channel: number, tagBytes: Buffer, deliveryTag: number, message: StoredMessage, properties: Buffer): void {
  writeDeliverMethod(w, channel, tagBytes, deliveryTag, false, message.buf, message.addressStart, message.addressEnd);
  w.content(channel, CLASS_BASIC, properties, message.body());
}

/** basic.get-ok (exchange and routing key as stored, the queue's remaining count) and its content, copied from the segment. */
export function writeBasicGetOk(w: FrameWriter, channel: number, deliveryTag: number, message: StoredMessage, messageCount: number): void {
  const buf = message.buf;
  w.begin(FRAME_METHOD, channel);
  w.u32(BASIC_GET_OK);
  w.u64(deliveryTag);
  w.u8(message.redelivered ? 1 : 0);
  w.rawRange(buf, message.addressStart, message.addressEnd);
  w.u32(messageCount);
  w.end();
  // A quorum queue's basic.get-ok carries x-delivery-count always, 0 included (RabbitMQ 3.10).
  if (message.deliveryCount >= 0) return writeCountedContent(w, channel, message);
  w.contentFrom(channel, CLASS_BASIC, buf, message.propertiesStart, message.propertiesEnd, message.bodyStart, message.bodyEnd);
}

/** A quorum queue's message with its x-delivery-count header: new property bytes for this delivery only. */
function writeCountedContent(w: FrameWriter, channel: number, message: StoredMessage): void {
  const properties = propertiesWithDeliveryCount(message.buf, message.propertiesStart, message.propertiesEnd, message.deliveryCount);
  w.content(channel, CLASS_BASIC, properties, message.body());
}

/** basic.deliver and its content for a direct reply-to message (never queued, never redelivered). */
export function writeReplyDeliver(w: FrameWriter, channel: number, tagBytes: Buffer, deliveryTag: number, message: Message): void {
  const address = message.address;
  writeDeliverMethod(w, channel, tagBytes, deliveryTag, false, address, 0, address.length);
  w.content(channel, CLASS_BASIC, message.rawProperties, message.body);
}

/** basic.return 312 NO_ROUTE and its content: a mandatory message that reached nothing, back to its publisher. */
export function writeUnroutableReturn(w: FrameWriter, channel: number, message: Message): void {
  w.method(channel, encodeBasicReturn, {
    replyCode: 312,
    replyText: "NO_ROUTE",
    exchange: message.exchange,
    routingKey: message.routingKey,
  });
  w.content(channel, CLASS_BASIC, message.rawProperties, message.body);
}
