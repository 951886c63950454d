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
export interface DeadLetter {
  exchange: Exchange;
  message: Message;
  /** Every routing key it is routed with (the first is the one deliveries show). */
  routingKeys: string[];
  /** Its x-death, when cycles are to be looked for: not for a rejected message (a client decided, not a loop). */
  deaths: FieldValue | undefined;
}

/**
 * A dropped message once dead-lettering has recorded its death: x-death added, expiration and BCC
 * removed, still addressed as it was published (its CC header kept). A quorum queue that
 * dead-letters at least once holds it in this form (held-dead-letters.ts) until its targets have it.
 */
export interface DeadCopy {
  exchange: string;
  routingKey: string;
  properties: BasicProperties;
  body: Buffer;
}

const reader = new AmqpReader();

/** The dead copy of a message; undefined when its properties do not decode (dropped). */
export function deadCopy(queue: Queue, dropped: StoredMessage | Message, reason: DropReason): DeadCopy | undefined {
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
  const properties = decodeProperties(from.raw);
  if (properties === undefined) return undefined; // headers that do not decode: RabbitMQ would have refused the publish
  const headers = recordDeath(properties.headers, {
    reason,
    queue: queue.name,
    exchange: from.exchange,
    routingKeys: [from.routingKey, ...headerRoutes(properties.headers)],
    originalExpiration: properties.expiration,
    time: new Date(),
  });
  // BCC never reaches a queue in RabbitMQ (it is removed at publish), so it is not carried on.
  delete headers.BCC;
  const { expiration: _removed, ...kept } = properties;
  return { exchange: from.exchange, routingKey: from.routingKey, properties: { ...kept, headers }, body: from.body };
}

/** A content header's property section for `properties`. */
export function encodeProperties(properties: BasicProperties): Buffer {
  const w = new AmqpWriter(256);
  encodeBasicProperties(w, properties);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** A property section decoded; undefined when it does not decode. */
export function decodeProperties(raw: Buffer): BasicProperties | undefined {
  try {
    return decodeBasicProperties(reader.reset(raw, 0, raw.length));
  } catch {
    return undefined;
  }
}

/**
 * The dead copy addressed to the dead-letter exchange: routed with x-dead-letter-routing-key (the
 * CC header then removed: with its own routing key the message no longer goes to its CC keys), or
 * else with its own routing keys (routing key, CC).
 */
export function addressed(copy: DeadCopy, exchange: Exchange, dlrk: string | undefined): DeadLetter {
  const headers: FieldTable = { ...copy.properties.headers };
  if (dlrk !== undefined) delete headers.CC;
  const routingKeys = dlrk !== undefined ? [dlrk] : [copy.routingKey, ...headerRoutes(headers)];
  const message = new Message(exchange.name, routingKeys[0]!, encodeProperties({ ...copy.properties, headers }), copy.body);
  // The front x-death entry is this dead-lettering's (x-death.ts).
  const deaths = headers["x-death"];
  const front = Array.isArray(deaths) ? deaths[0] : undefined;
  const rejected = isPlainTable(front) && front.reason === "rejected";
  return { exchange, message, routingKeys, deaths: rejected ? undefined : deaths };
}

function isPlainTable(v: FieldValue | undefined): v is FieldTable {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

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
 * for), and nothing confirms it. A quorum queue that dead-letters at least once hands its dropped
 * messages to its `heldDeadLetters` instead, which forwards them through `run` and `targets`.
 *
 * Only dead-lettered messages are decoded and re-encoded (a new Message, its body copied out of
 * the segment): the normal path keeps the raw bytes. A dead-lettering that causes another (a
 * drop-head into a full queue) is queued and published after the current one, never nested, so a
 * chain of queues costs a loop, not the stack.
 */
export class DeadLetterer {
  private readonly pending: Array<DeadLetter | (() => void)> = [];
  private publishing = false;
  private readonly routed = new RouteList<Queue>();
  /** The queue's DropHandler. */
  readonly handler = (queue: Queue, message: StoredMessage | Message, reason: DropReason): void => this.deadLetter(queue, message, reason);

  constructor(private readonly vhost: DeadLetterRouting) {}

  /** The exchange a queue's dead letters go to now; undefined when it has none or it does not exist. */
  exchangeOf(queue: Queue): Exchange | undefined {
    const name = queue.deadLetterExchange;
    return name === undefined ? undefined : this.vhost.exchanges.get(name);
  }

  private deadLetter(queue: Queue, dropped: StoredMessage | Message, reason: DropReason): void {
    // The queue's effective settings: its arguments, or its policy's (effective-settings.ts).
    if (queue.deadLetterExchange === undefined) return;
    const held = queue.heldDeadLetters;
    // At least once: kept, whether or not the exchange exists now, until its targets have it.
    if (held !== undefined && dropped instanceof StoredMessage) {
      held.hold(dropped, reason);
      return;
    }
    const exchange = this.exchangeOf(queue);
    if (exchange === undefined) return; // the dead-letter exchange need not exist: dropped
    const copy = deadCopy(queue, dropped, reason);
    if (copy !== undefined) this.run(addressed(copy, exchange, queue.deadLetterRoutingKey));
  }

  /** Publish a letter, or run a job (a held dead letter's forwarding): now, or, inside another, right after it. */
  run(work: DeadLetter | (() => void)): void {
    this.pending.push(work);
    if (this.publishing) return; // a dead-lettering caused by one being published: after it
    this.publishing = true;
    try {
      for (let i = 0; i < this.pending.length; i++) {
        const next = this.pending[i]!;
        if (typeof next === "function") next();
        else this.publish(next);
      }
    } finally {
      this.pending.length = 0;
      this.publishing = false;
    }
  }

  /**
   * The queues a letter reaches now, each once: routed with all its keys in one pass (its CC and
   * BCC keys as extra keys, as a publish routes them: an alternate exchange only when no key
   * routed), without deleted queues and (`withoutCycles`) those that would close a cycle with no
   * rejection in it (RabbitMQ logs the cycle).
   */
  targets(letter: DeadLetter, withoutCycles: boolean): Set<Queue> {
    const { exchange, message, routingKeys } = letter;
    const targets = new Set<Queue>();
    if (exchange.deleted) return targets;
    if (routingKeys.length > 1) message.extraRoutingKeys = routingKeys.slice(1);
    this.vhost.route(exchange, message, this.routed);
    for (let i = 0; i < this.routed.length; i++) targets.add(this.routed.at(i));
    this.routed.clear();
    const deaths = letter.deaths;
    for (const target of targets) {
      if (target.deleted || (withoutCycles && deaths !== undefined && isAutomaticCycle(deaths, target.name))) targets.delete(target);
    }
    return targets;
  }

  /** Enqueue a letter once in each queue it reaches. */
  private publish(letter: DeadLetter): void {
    for (const target of this.targets(letter, true)) target.enqueue(letter.message);
  }
}
