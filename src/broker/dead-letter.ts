import { AmqpReader } from "../amqp/field-reader.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import { fieldTypeName, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from "../amqp/generated.js";
import { decodeName } from "../amqp/name-bytes.js";
import { refuse } from "../amqp/refusals.js";
import type { Exchange } from "./exchange/exchange.js";
import { Message } from "./message.js";
import { StoredMessage } from "./message-log.js";
import type { DropReason, Queue } from "./queue.js";
import { RouteList } from "./route-list.js";
import { headerRoutes, isAutomaticCycle, recordDeath } from "./x-death.js";

const DLX = "x-dead-letter-exchange";

/**
 * 406 for x-dead-letter-exchange of a type other than longstr. RabbitMQ's channel checks this
 * before the permissions on the exchange and before the other arguments, in its own words.
 */
export function checkDeadLetterExchangeType(args: FieldTable, resource: string): void {
  if (args[DLX] === undefined) return;
  const type = fieldTypeName(args, DLX);
  if (type !== "longstr") throw refuse.invalidArgType(type, DLX, resource);
}

/** What dead-lettering needs of its vhost. */
export interface DeadLetterRouting {
  readonly exchanges: ReadonlyMap<string, Exchange>;
  /** Fill `queues` with the queues a message published to `exchange` reaches. */
  route(exchange: Exchange, message: Message, queues: RouteList<Queue>): void;
}

/** A dead-lettered message on its way to its exchange's queues. */
interface DeadLetter {
  exchange: Exchange;
  message: Message;
  /** Every routing key it is routed with (the first is the one deliveries show). */
  routingKeys: string[];
  /** Its x-death, when cycles are to be looked for: not for a rejected message (a client decided, not a loop). */
  deaths: FieldValue | undefined;
}

const reader = new AmqpReader();

/**
 * Dead-lettering for the queues of one vhost (their `dropHandler`), as RabbitMQ 3.10's
 * rabbit_dead_letter does it: a dropped message is republished to the queue's
 * x-dead-letter-exchange with x-death recorded (x-death.ts), its expiration removed, and routed
 * with x-dead-letter-routing-key (the CC header then removed) or else its own routing keys
 * (routing key, CC, BCC). A dead-letter exchange that does not exist drops the message; no
 * permission is checked at this point (RabbitMQ checks them when the queue is declared). A message
 * that would go round a cycle with no rejection in it is not delivered to the queue that closes it.
 *
 * At most once, as RabbitMQ's classic queues: the message is settled in its queue as soon as it
 * is enqueued in the others (a persistent one into a durable queue is written there, not waited
 * for), and nothing confirms it.
 *
 * Only dead-lettered messages are decoded and re-encoded (a new Message, its body copied out of
 * the segment): the normal path keeps the raw bytes. A dead-lettering that causes another (a
 * drop-head into a full queue) is queued and published after the current one, never nested, so a
 * chain of queues costs a loop, not the stack.
 */
export class DeadLetterer {
  private readonly pending: DeadLetter[] = [];
  private publishing = false;
  private readonly routed = new RouteList<Queue>();
  /** The queue's DropHandler. */
  readonly handler = (queue: Queue, message: StoredMessage | Message, reason: DropReason): void => this.deadLetter(queue, message, reason);

  constructor(private readonly vhost: DeadLetterRouting) {}

  private deadLetter(queue: Queue, dropped: StoredMessage | Message, reason: DropReason): void {
    // The queue's effective settings: its arguments, or its policy's (effective-settings.ts).
    const dlxName = queue.deadLetterExchange;
    if (dlxName === undefined) return;
    const exchange = this.vhost.exchanges.get(dlxName);
    if (exchange === undefined) return; // the dead-letter exchange need not exist: dropped
    const letter = this.letter(queue, dropped, reason, exchange, queue.deadLetterRoutingKey);
    if (letter === undefined) return;
    this.pending.push(letter);
    if (this.publishing) return; // a dead-lettering caused by one being published: after it
    this.publishing = true;
    try {
      for (let i = 0; i < this.pending.length; i++) this.publish(this.pending[i]!);
    } finally {
      this.pending.length = 0;
      this.publishing = false;
    }
  }

  /** The dead-lettered copy of a message; undefined when its properties do not decode (dropped). */
  private letter(queue: Queue, dropped: StoredMessage | Message, reason: DropReason, exchange: Exchange, dlrk: string | undefined): DeadLetter | undefined {
    let from: { exchange: string; routingKey: string; raw: Buffer; body: Buffer };
    if (dropped instanceof StoredMessage) {
      const buf = dropped.buf;
      const exchangeEnd = dropped.addressStart + 1 + buf[dropped.addressStart]!;
      from = {
        exchange: decodeName(buf, dropped.addressStart + 1, exchangeEnd),
        routingKey: decodeName(buf, exchangeEnd + 1, exchangeEnd + 1 + buf[exchangeEnd]!),
        raw: dropped.properties(),
        // Copied: the segment's bytes are the dropped message's, settled after this call.
        body: Buffer.from(dropped.body()),
      };
    } else {
      from = { exchange: dropped.exchange, routingKey: dropped.routingKey, raw: dropped.rawProperties, body: dropped.body };
    }
    let properties: BasicProperties;
    try {
      properties = decodeBasicProperties(reader.reset(from.raw, 0, from.raw.length));
    } catch {
      return undefined; // headers that do not decode: RabbitMQ would have refused the publish
    }
    const ownKeys = [from.routingKey, ...headerRoutes(properties.headers)];
    const headers = recordDeath(properties.headers, {
      reason,
      queue: queue.name,
      exchange: from.exchange,
      routingKeys: ownKeys,
      originalExpiration: properties.expiration,
      time: new Date(),
    });
    // With its own routing key the message no longer goes to its CC keys. BCC never reaches a
    // queue in RabbitMQ (it is removed at publish), so it is not carried on either.
    if (dlrk !== undefined) delete headers.CC;
    delete headers.BCC;
    const { expiration: _removed, ...kept } = properties;
    const w = new AmqpWriter(from.raw.length + 256);
    encodeBasicProperties(w, { ...kept, headers });
    const routingKeys = dlrk !== undefined ? [dlrk] : ownKeys;
    const message = new Message(exchange.name, routingKeys[0]!, Buffer.from(w.buf.subarray(0, w.pos)), from.body);
    return { exchange, message, routingKeys, deaths: reason === "rejected" ? undefined : headers["x-death"] };
  }

  /**
   * Route a dead-lettered message with all its keys in one pass (its CC and BCC keys as extra
   * keys, as a publish routes them: an alternate exchange only when no key routed) and enqueue it
   * once in each queue reached.
   */
  private publish(letter: DeadLetter): void {
    const { exchange, message, routingKeys } = letter;
    if (exchange.deleted) return;
    if (routingKeys.length > 1) message.extraRoutingKeys = routingKeys.slice(1);
    this.vhost.route(exchange, message, this.routed);
    const targets = new Set<Queue>();
    for (let i = 0; i < this.routed.length; i++) targets.add(this.routed.at(i));
    this.routed.clear();
    const deaths = letter.deaths;
    for (const target of targets) {
      if (deaths !== undefined && isAutomaticCycle(deaths, target.name)) continue; // dropped: RabbitMQ logs the cycle
      if (!target.deleted) target.enqueue(message);
    }
  }
}
