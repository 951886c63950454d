import { AmqpReader } from "../amqp/field-reader.js";
import { arrayTypes, tableTypes, type FieldTable } from "../amqp/field-types.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import { decodeBasicProperties, encodeBasicProperties } from "../amqp/generated.js";
import { decodeName } from "../amqp/name-bytes.js";
import { coarseNow } from "./clock.js";
import { DeadlineTimer } from "./deadline-timer.js";
import { DueHeap } from "./due-heap.js";
import type { Exchange } from "./exchange/exchange.js";
import { Message } from "./message.js";
import { StoredMessage, type LogOwner, type LogPosition, type MessageLog, type QueueStorage } from "./message-log.js";
import type { Queue } from "./queue.js";
import { RouteList } from "./route-list.js";
import { withSenderSelectedRoutes } from "./sender-selected.js";
import { delayIn, delayOf, isHeldDelay, releasedHeaders } from "./x-delay.js";

/**
 * Delayed messages routed in one pass at most: a million falling due at once (after a restart, or
 * published with one delay) go in slices, the event loop served between them, as queue expiry does.
 */
const RELEASED_PER_PASS = 2_000;

/** What a delayed-message exchange needs of its vhost to route a message that has fallen due. */
export interface DelayedRouting {
  /** Fill `queues` with the queues a message published to `exchange` reaches now. */
  route(exchange: Exchange, message: Message, queues: RouteList<Queue>): void;
}

/** What the exchange's store of delayed messages works with. */
export interface DelayedMessagesOptions {
  exchange: Exchange;
  storage: QueueStorage;
  router: DelayedRouting;
}

const reader = new AmqpReader();

/**
 * The messages a delayed-message exchange holds (rabbitmq-delayed-message-exchange): each one's
 * bytes in a log of the exchange's own, opened through the broker's storage like a queue's (a
 * durable exchange's persistent messages survive a restart), and in memory only its due time and
 * position in a heap (due-heap.ts). One timer waits for the earliest; when it fires, what is due is
 * routed through the exchange's bindings as they are then, in due order (publish order among
 * equals), with `x-delay` made negative, and leaves the log.
 *
 * As the plugin, a held message is routed once, when due: to no queue if nothing matches then (or
 * the exchange's alternate, if it has one), with no return and no confirm at that point; its
 * publisher was confirmed when it was stored.
 */
export class DelayedMessages implements LogOwner {
  readonly name: string;
  readonly vhost: string;
  readonly isDurable: boolean;
  readonly logKind = "delayed-exchange";
  private readonly exchange: Exchange;
  private readonly storage: QueueStorage;
  private readonly router: DelayedRouting;
  /** Opened with the first held message (or at recovery). */
  private log: MessageLog | undefined;
  /** Due times and positions; a position is stored doubled, plus 1 for a persistent message. */
  private readonly due = new DueHeap();
  private readonly timer = new DeadlineTimer(() => this.release());
  private readonly stored = new StoredMessage();
  private readonly routed = new RouteList<Queue>();
  private stopped = false;

  constructor(options: DelayedMessagesOptions) {
    this.exchange = options.exchange;
    this.storage = options.storage;
    this.router = options.router;
    this.name = options.exchange.name;
    this.vhost = options.exchange.vhost;
    this.isDurable = options.exchange.options.durable;
  }

  /** Messages held now (the plugin's messages_delayed). */
  get count(): number {
    return this.due.length;
  }

  private openLog(): MessageLog {
    return (this.log ??= this.storage.open(this));
  }

  /**
   * Hold the message if its `x-delay` asks for it; false when it is to be routed now. A held
   * message's `held` says what its publisher's confirm waits for.
   */
  hold(message: Message): boolean {
    const delay = delayOf(message);
    if (!isHeldDelay(delay) || this.stopped) return false;
    const persistent = this.isDurable && message.persistent;
    let position: LogPosition;
    try {
      position = this.openLog().append(message.extraRoutingKeys === undefined ? message : withBccKept(message), persistent);
    } catch (err) {
      this.storage.refused(this, err as Error);
      message.held = "refused";
      return true;
    }
    // The log stamped the record with this same time: recovery finds the due time again from it.
    const now = coarseNow();
    this.due.push(now + delay, position * 2 + (persistent ? 1 : 0));
    this.timer.schedule(now + delay, now);
    message.held = persistent ? "durable" : "memory";
    return true;
  }

  /** Hold again what a previous run left (a durable exchange's persistent messages). Returns how many. */
  recover(): number {
    const log = this.openLog();
    const positions: LogPosition[] = [];
    log.recover((position) => positions.push(position));
    const stored = this.stored;
    let count = 0;
    for (const position of positions) {
      // Read back for the delay: the due time is the record's time plus the delay it was held for.
      const delay = log.read(position, stored) ? delayIn(decodeHeaders(stored)) : Number.NaN;
      const due = isHeldDelay(delay) ? stored.enqueuedAt + delay : 0; // unreadable: out at once (and dropped)
      this.due.push(due, position * 2 + 1);
      count++;
    }
    // What fell due while the broker was down goes once startup is done.
    if (count > 0) this.timer.schedule(this.due.firstDue, coarseNow());
    return count;
  }

  /** Route what is due, a slice at a time, then wait for the next. */
  private release(): void {
    if (this.stopped || this.log === undefined) return;
    const now = coarseNow();
    for (let released = 0; this.due.length > 0; released++) {
      const due = this.due.firstDue;
      if (due > now || released === RELEASED_PER_PASS) {
        this.timer.schedule(due, now);
        return;
      }
      const entry = this.due.firstPosition;
      this.due.pop();
      this.routeDue(Math.floor(entry / 2), entry % 2 === 1);
    }
  }

  /** Route one message that has fallen due, and let its record go. */
  private routeDue(position: LogPosition, persistent: boolean): void {
    const log = this.log!;
    const stored = this.stored;
    if (log.read(position, stored)) {
      const message = releasedMessage(stored);
      if (message !== undefined && !this.exchange.deleted) this.routeNow(message);
    }
    log.settle(position, persistent);
  }

  private routeNow(released: Message): void {
    let message: Message;
    try {
      message = withSenderSelectedRoutes(released);
    } catch {
      message = released; // a CC or BCC RabbitMQ would have refused at publish
    }
    const queues = this.routed;
    this.router.route(this.exchange, message, queues);
    for (let i = 0; i < queues.length; i++) {
      const queue = queues.at(i);
      if (!queue.deleted) queue.enqueue(message);
    }
    queues.clear();
  }

  /** Stop the timer (the broker is stopping); the log keeps what is held. */
  stopTimers(): void {
    this.stopped = true;
    this.timer.cancel();
  }

  /** The exchange is deleted: its delayed messages go with it. */
  destroy(): void {
    this.stopTimers();
    this.due.clear();
    this.log?.destroy();
    this.log = undefined;
  }
}

/**
 * The message as it is held when it has CC or BCC keys: publishing cut its BCC header out, but the
 * plugin routes the held message with all its keys when due (the basic_message it stores keeps
 * them), so the BCC keys are put back into the held copy's headers, to be routed and cut out again
 * then. CC is still in the headers.
 */
function withBccKept(message: Message): Message {
  const properties = message.properties;
  const cc = properties.headers?.CC;
  const ccKeys = Array.isArray(cc) ? cc.filter((key, i) => typeof key === "string" && (arrayTypes.get(cc)?.[i] ?? "S") === "S").length : 0;
  const bcc = message.extraRoutingKeys!.slice(ccKeys);
  if (bcc.length === 0) return message;
  const headers: FieldTable = { ...properties.headers, BCC: bcc };
  const types = properties.headers === undefined ? undefined : tableTypes.get(properties.headers);
  if (types !== undefined) tableTypes.set(headers, types);
  const w = new AmqpWriter(message.propertiesEnd - message.propertiesStart + 64);
  encodeBasicProperties(w, { ...properties, headers });
  return new Message(message.exchange, message.routingKey, Buffer.from(w.buf.subarray(0, w.pos)), message.body, message.address);
}

function decodeHeaders(stored: StoredMessage) {
  try {
    return decodeBasicProperties(reader.reset(stored.buf, stored.propertiesStart, stored.propertiesEnd)).headers;
  } catch {
    return undefined;
  }
}

/**
 * The message a held one is routed as when due: its exchange, routing key and body as published,
 * `x-delay` negated (releasedHeaders); bytes copied out of the log, which settles the record next.
 * Undefined when its properties do not decode.
 */
function releasedMessage(stored: StoredMessage): Message | undefined {
  let properties;
  try {
    properties = decodeBasicProperties(reader.reset(stored.buf, stored.propertiesStart, stored.propertiesEnd));
  } catch {
    return undefined;
  }
  const delay = delayIn(properties.headers);
  let raw: Buffer;
  if (properties.headers !== undefined && !Number.isNaN(delay)) {
    const w = new AmqpWriter(stored.propertiesEnd - stored.propertiesStart + 16);
    encodeBasicProperties(w, { ...properties, headers: releasedHeaders(properties.headers, delay) });
    raw = Buffer.from(w.buf.subarray(0, w.pos));
  } else {
    raw = Buffer.from(stored.properties());
  }
  const buf = stored.buf;
  const exchangeEnd = stored.addressStart + 1 + buf[stored.addressStart]!;
  const exchange = decodeName(buf, stored.addressStart + 1, exchangeEnd);
  const routingKey = decodeName(buf, exchangeEnd + 1, exchangeEnd + 1 + buf[exchangeEnd]!);
  return new Message(exchange, routingKey, raw, Buffer.from(stored.body()), Buffer.from(stored.address()));
}
