import { AmqpReader } from "../amqp/field-reader.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import { type BasicProperties, decodeBasicProperties, encodeBasicProperties } from "../amqp/generated.js";
import { expirationRefusal } from "../amqp/expiration.js";
import { fail } from "../amqp/errors.js";
import { refuse } from "../amqp/refusals.js";
import type { Broker } from "../broker/broker.js";
import { Message } from "../broker/message.js";
import { publishOutsideChannel } from "../broker/publish-outside-channel.js";
import type { VHost } from "../broker/vhost.js";
import { checkDelayReadable } from "../broker/x-delay.js";

/** A message's properties, as basic.publish carries them (amqplib's names, camelCased). */
export type MessageProperties = Omit<BasicProperties, "reserved">;

/** A message taken from a queue by `get`. */
export interface GotMessage {
  body: Buffer;
  exchange: string;
  routingKey: string;
  /** Delivered before (and returned, or recovered after a restart). */
  redelivered: boolean;
  properties: MessageProperties;
  /** Ready messages left in the queue after this one (basic.get-ok's message-count). */
  messageCount: number;
}

/**
 * Route a message through `exchange` of `vhost` into its queues, as basic.publish on a channel
 * does (without a publisher's permissions: the test's own code is trusted). Returns whether a
 * queue took it (or a delayed-message exchange holds it). Throws, with RabbitMQ's reply text, for
 * a vhost or exchange that does not exist, an internal exchange, or an expiration RabbitMQ refuses.
 */
export function publishDirect(
  broker: Broker,
  vhostName: string,
  exchangeName: string,
  routingKey: string,
  body: Buffer,
  properties: MessageProperties,
): boolean {
  const vhost = vhostNamed(broker, vhostName);
  const exchange = vhost.getExchange(exchangeName);
  if (exchange.options.internal) throw fail.accessRefused(`cannot publish to internal exchange '${exchangeName}' in vhost '${vhostName}'`);
  if (properties.expiration !== undefined) {
    const refusal = expirationRefusal(Buffer.from(properties.expiration, "latin1"));
    if (refusal !== undefined) throw refuse.invalidExpiration(refusal);
  }
  const w = new AmqpWriter(256);
  encodeBasicProperties(w, properties);
  const message = new Message(exchangeName, routingKey, Buffer.from(w.buf.subarray(0, w.pos)), body);
  if (exchange.type === "x-delayed-message") checkDelayReadable(message);
  const { routed, held } = publishOutsideChannel(vhost, exchange, message);
  return routed || held;
}

/**
 * basic.get on a queue: the next ready message, or undefined when there is none. With `ack` it
 * is taken (acknowledged at once); without, it is put back where it was, marked redelivered, as
 * the management API's "Nack message requeue true" does.
 */
export function getDirect(broker: Broker, vhostName: string, queueName: string, ack: boolean): GotMessage | undefined {
  const queue = vhostNamed(broker, vhostName).getQueue(queueName);
  const m = queue.get(ack);
  if (m === undefined) {
    queue.stats.getEmpty++;
    return undefined;
  }
  if (ack) queue.stats.getNoAck++;
  else queue.stats.get++;
  const address = m.address();
  const exchangeLength = address[0]!;
  const raw = m.properties();
  const got: GotMessage = {
    // A copy: the stored bytes belong to the queue's log, which may reuse them once settled.
    body: Buffer.from(m.body()),
    exchange: address.toString("utf8", 1, 1 + exchangeLength),
    routingKey: address.toString("utf8", 2 + exchangeLength, 2 + exchangeLength + address[1 + exchangeLength]!),
    redelivered: m.redelivered,
    properties: raw.length < 2 ? {} : withoutReserved(decodeBasicProperties(new AmqpReader().reset(raw, 0, raw.length))),
    messageCount: queue.messageCount,
  };
  if (!ack) {
    queue.unacked--;
    queue.unackedBytes -= m.bodySize;
    queue.requeue(m.position, m.flags, m.bodySize);
    queue.dispatch();
  }
  return got;
}

function vhostNamed(broker: Broker, name: string): VHost {
  const vhost = broker.vhosts.get(name);
  if (vhost === undefined) throw fail.notFound(`no vhost '${name}'`);
  return vhost;
}

function withoutReserved(p: BasicProperties): MessageProperties {
  const { reserved: _reserved, ...rest } = p;
  return rest;
}
