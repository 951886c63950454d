import type { FieldTable } from "../amqp/field-types.js";
import type { Binding } from "./binding.js";
import type { Consumer } from "./consumer.js";
import { lengthLimitOf, type LengthLimit } from "./length-limit.js";
import type { Message } from "./message.js";
import { PERSISTENT, PRIORITY_SHIFT, REDELIVERED, StoredMessage, type LogPosition, type MessageLog, type QueueStorage } from "./message-log.js";
import { PriorityReadyIndex } from "./priority-ready-index.js";
import { isSingleActiveConsumer, maxPriorityOf } from "./queue-arguments.js";
import { ReadyIndex, type ReadyMessages } from "./ready-index.js";

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (opaque to the broker model). */
  owner?: object;
}

/** Why a message left its queue without an ack: the reasons RabbitMQ writes in x-death. */
export type DropReason = "rejected" | "expired" | "maxlen" | "delivery_limit";

/**
 * Where a queue's dropped messages go (dead-lettering). Called before the message is settled;
 * `message` is valid only during the call. A Message is one the queue refused
 * (x-overflow reject-publish-dlx), never stored.
 */
export type DropHandler = (queue: Queue, message: StoredMessage | Message, reason: DropReason) => void;

/** Queue.out before the queue's first message: never written (takeReady replaces it first). */
const NO_MESSAGE_YET = new StoredMessage();

const NO_BINDINGS: ReadonlySet<Binding> = new Set();

/**
 * What enqueue did with a message: kept, written durably (a confirm waits for the sync), refused
 * by the log, or rejected by the queue's length limit (x-overflow reject-publish); the publisher
 * of a message refused or rejected is nacked.
 */
export type Enqueued = "memory" | "durable" | "refused" | "rejected";

/**
 * A queue: ready messages in order, and the consumers they go to, round robin.
 *
 * Every message is in the queue's log (message-log.ts) as bytes; the queue keeps only its
 * position and two flag bits (ready-index.ts), so a backlog costs bytes, not objects. Handing a
 * message out fills one reused StoredMessage with where its bytes are.
 *
 * Dispatch is synchronous: an enqueue, an ack that frees prefetch, or a consumer that drains calls
 * `dispatch`, which hands ready messages to consumers with room until one side runs out.
 *
 * A priority queue (x-max-priority) holds its ready messages by level (priority-ready-index.ts);
 * a single-active-consumer queue (x-single-active-consumer) delivers to one consumer at a time.
 */
export class Queue {
  readonly kind = "queue";
  /** The highest priority level (x-max-priority); 0 for a queue without priorities. */
  readonly maxPriority: number;
  private readonly ready: ReadyMessages;
  readonly consumers: Consumer[] = [];
  /** Bindings that route into this queue, so deleting it can remove them (created with the first). */
  private bindingSet: Set<Binding> | undefined = undefined;
  private roundRobin = 0;
  /** Delivered to a consumer or basic.get and not yet acked. */
  unacked = 0;
  /** Body bytes and persistent messages among the ready ones (warrenctl list_queues). */
  readyBytes = 0;
  readyPersistent = 0;
  /** Set once a consumer has subscribed: auto-delete only applies after that. */
  private hadConsumer = false;
  /** Marks the routing pass that last reached this queue, so one publish enqueues once. */
  routeEpoch = 0;
  deleted = false;
  /** Messages handed to consumers or basic.get so far (flow control watches it for progress). */
  deliveries = 0;
  /**
   * Set while flow control holds publishers for this queue: called when the backlog is down to
   * `flowResumeAt` (src/server/flow-control.ts).
   */
  onDrained: (() => void) | undefined = undefined;
  flowResumeAt = 0;
  private dispatching = false;
  /** True once any consumer has a non-zero x-priority; until then the first free consumer wins. */
  hasPriorities = false;
  /** Opened on first use: a queue that never holds a message costs its log nothing. */
  private log: MessageLog | undefined;
  /** The message being handed out (reused: see StoredMessage); a queue's own from its first message on. */
  private out = NO_MESSAGE_YET;
  /** Set when the queue dead-letters what it drops; undefined drops silently. */
  dropHandler: DropHandler | undefined = undefined;
  /** x-max-length / x-max-length-bytes; undefined (the usual case) costs enqueue one check. */
  readonly lengthLimit: LengthLimit | undefined;
  /** x-single-active-consumer: only `activeConsumer` receives. */
  readonly singleActiveConsumer: boolean;
  /**
   * The one consumer that receives, in a single-active-consumer queue that has consumers: the
   * first to subscribe, then, when it leaves, the highest-priority one of those waiting (the
   * earliest among equals), as RabbitMQ 3.10. Always undefined in other queues.
   */
  activeConsumer: Consumer | undefined = undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (queue: Queue) => void,
    private readonly storage: QueueStorage,
  ) {
    this.lengthLimit = lengthLimitOf(options.arguments);
    this.maxPriority = maxPriorityOf(options.arguments);
    this.ready = this.maxPriority === 0 ? new ReadyIndex() : new PriorityReadyIndex(this.maxPriority);
    this.singleActiveConsumer = isSingleActiveConsumer(options.arguments);
  }

  /** Survives a restart: durable and not exclusive (exclusive queues never outlive their connection). */
  get isDurable(): boolean {
    return this.options.durable && !this.options.exclusive;
  }

  /** Bindings that route into this queue (the default exchange's implicit one is not among them). */
  get bindings(): ReadonlySet<Binding> {
    return this.bindingSet ?? NO_BINDINGS;
  }

  addBinding(binding: Binding): void {
    (this.bindingSet ??= new Set()).add(binding);
  }

  removeBinding(binding: Binding): void {
    const set = this.bindingSet;
    if (set !== undefined && set.delete(binding) && set.size === 0) this.bindingSet = undefined;
  }

  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get exclusiveOwner(): object | undefined {
    return this.options.exclusive ? this.options.owner : undefined;
  }

  private openLog(): MessageLog {
    return (this.log ??= this.storage.open(this));
  }

  /** Messages a previous run left in the log become the queue's backlog. Returns how many. */
  recover(): number {
    let count = 0;
    this.openLog().recover((position, bodySize, redelivered, priority) => {
      const level = Math.min(priority, this.maxPriority) << PRIORITY_SHIFT;
      this.ready.push(position, level | (redelivered ? PERSISTENT | REDELIVERED : PERSISTENT));
      this.readyBytes += bodySize;
      this.readyPersistent++;
      count++;
    });
    return count;
  }

  /**
   * Add a published message. Returns "durable" when it was written durably (a persistent message
   * in a durable queue), so a confirm must wait for the log's sync; "refused" when the log could
   * not take it (the queue drops it and its publisher is nacked).
   */
  enqueue(message: Message): Enqueued {
    const limit = this.lengthLimit;
    if (limit !== undefined && limit.overflow !== "drop-head" && this.wouldOverflow(limit, message)) {
      if (limit.overflow === "reject-publish-dlx") this.dropHandler?.(this, message, "maxlen");
      return "rejected";
    }
    const persistent = this.isDurable && message.persistent;
    let position: LogPosition;
    try {
      position = this.openLog().append(message, persistent);
    } catch (err) {
      this.storage.refused(this, err as Error);
      return "refused";
    }
    let flags = persistent ? PERSISTENT : 0;
    if (this.maxPriority !== 0) flags |= Math.min(message.priority, this.maxPriority) << PRIORITY_SHIFT;
    this.ready.push(position, flags);
    this.readyBytes += message.bodySize;
    if (persistent) this.readyPersistent++;
    if (this.consumers.length > 0) this.dispatch();
    // What consumers took at once never counted (RabbitMQ delivers before it enqueues).
    if (limit !== undefined) this.dropOverLimit(limit);
    return persistent ? "durable" : "memory";
  }

  /** reject-publish: one more message would take the ready ones past the limit (consumers or not, as RabbitMQ). */
  private wouldOverflow(limit: LengthLimit, message: Message): boolean {
    return this.ready.length + 1 > limit.maxLength || this.readyBytes + message.bodySize > limit.maxBytes;
  }

  /** drop-head: drop (and dead-letter, reason maxlen) the oldest ready messages while past the limit. */
  private dropOverLimit(limit: LengthLimit): void {
    while (this.ready.length > limit.maxLength || this.readyBytes > limit.maxBytes) {
      if (!this.takeReady()) return;
      this.dropTaken("maxlen");
    }
  }

  /** Take the next ready message into `this.out`; false when there is none. */
  private takeReady(): boolean {
    let out = this.out;
    for (;;) {
      if (!this.ready.take()) return false;
      if (out === NO_MESSAGE_YET) this.out = out = new StoredMessage();
      out.position = this.ready.shiftedPosition;
      out.flags = this.ready.shiftedFlags;
      if (this.log!.read(out.position, out)) break;
      // Damaged on disk (the log has said so): lost, and nothing to wait for.
      if ((out.flags & PERSISTENT) !== 0) this.readyPersistent--;
      this.log!.settle(out.position, (out.flags & PERSISTENT) !== 0);
    }
    this.readyBytes -= out.bodySize;
    if ((out.flags & PERSISTENT) !== 0) this.readyPersistent--;
    if (this.onDrained !== undefined && this.ready.length <= this.flowResumeAt) this.onDrained();
    return true;
  }

  /**
   * Put a handed-out message back at its original place, marked redelivered (call dispatch after
   * a batch). `flags` and `bodySize` as the message had when handed out.
   */
  requeue(position: LogPosition, flags: number, bodySize: number): void {
    if (this.deleted) return;
    this.ready.requeue(position, flags | REDELIVERED);
    this.readyBytes += bodySize;
    if ((flags & PERSISTENT) !== 0) this.readyPersistent++;
    // Back at the head, it can be what takes the queue past its limit (RabbitMQ drops on requeue too).
    if (this.lengthLimit !== undefined && this.lengthLimit.overflow === "drop-head") this.dropOverLimit(this.lengthLimit);
  }

  /**
   * Discard the message just taken into `out` (expired, over the length limit): hand it to the
   * drop handler, then settle it. Not counted as a delivery.
   */
  private dropTaken(reason: DropReason): void {
    // Read first: the handler may enqueue into this queue, which reuses `out`.
    const { position, flags } = this.out;
    this.dropHandler?.(this, this.out, reason);
    this.settle(position, flags);
  }

  /**
   * A handed-out message is rejected (basic.reject or basic.nack without requeue): dead-lettered
   * (reason rejected) when the queue does that, then settled. `flags` as it had when handed out.
   */
  reject(position: LogPosition, flags: number): void {
    const handler = this.dropHandler;
    if (handler !== undefined && !this.deleted) {
      const out = this.out;
      out.position = position;
      out.flags = flags;
      // A message damaged on disk is lost (the log has said so): nothing to dead-letter.
      if (this.log!.read(position, out)) handler(this, out, "rejected");
    }
    this.settle(position, flags);
  }

  /** A handed-out message is finished with (acked, or rejected without requeue). */
  settle(position: LogPosition, flags: number): void {
    if (!this.deleted) this.log!.settle(position, (flags & PERSISTENT) !== 0);
  }

  /** basic.get: the next ready message, or undefined. Counted as unacked unless noAck. */
  get(noAck: boolean): StoredMessage | undefined {
    if (!this.takeReady()) return undefined;
    this.handOut(noAck);
    return this.out;
  }

  purge(): number {
    const count = this.ready.length;
    const log = this.log;
    if (log !== undefined) this.ready.drain((position, flags) => log.settle(position, (flags & PERSISTENT) !== 0));
    this.readyBytes = 0;
    this.readyPersistent = 0;
    return count;
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.hadConsumer = true;
    if (this.singleActiveConsumer && this.activeConsumer === undefined) this.activeConsumer = consumer;
    this.dispatch();
  }

  /**
   * A consumer leaves. In a single-active-consumer queue the next one takes over; the caller
   * dispatches once the leaving consumer's unacked messages are back (they go first, as in RabbitMQ).
   */
  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.roundRobin > i) this.roundRobin--;
    if (consumer === this.activeConsumer) this.activeConsumer = this.nextActiveConsumer();
    if (this.consumers.length === 0 && this.options.autoDelete && this.hadConsumer && !this.deleted) {
      this.onUnused(this);
    }
  }

  /** Hand ready messages to consumers that have room, round robin, highest priority first. */
  dispatch(): void {
    // A delivery can free room elsewhere (no-ack) and call back in; the outer loop carries on.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      const consumers = this.consumers;
      while (this.ready.length > 0 && consumers.length > 0) {
        const consumer = this.nextConsumer();
        if (consumer === undefined) return;
        if (!this.takeReady()) return;
        const noAck = consumer.options.noAck;
        this.handOut(noAck);
        if (!noAck) consumer.unacked++;
        consumer.owner.deliver(consumer, this.out);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Bookkeeping for the message in `out` leaving the ready list towards a client. */
  private handOut(noAck: boolean): void {
    this.deliveries++;
    const out = this.out;
    if (noAck) {
      // Settled before it is written out: the bytes stay valid (the view keeps its buffer).
      this.settle(out.position, out.flags);
    } else {
      this.unacked++;
      if ((out.flags & PERSISTENT) !== 0) this.log!.delivered(out.position);
    }
  }

  /** The next consumer in turn that can take a message, among those of the highest priority that can. */
  private nextConsumer(): Consumer | undefined {
    const active = this.activeConsumer;
    if (active !== undefined) return active.owner.canDeliver(active) ? active : undefined;
    const consumers = this.consumers;
    const n = consumers.length;
    let best: Consumer | undefined;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.roundRobin + k) % n;
      const c = consumers[i]!;
      if (!c.owner.canDeliver(c)) continue;
      if (best === undefined || c.options.priority > best.options.priority) {
        best = c;
        bestIndex = i;
        if (!this.hasPriorities) break;
      }
    }
    if (best !== undefined) this.roundRobin = (bestIndex + 1) % n;
    return best;
  }

  /** The waiting consumer of the highest priority, the earliest subscribed among equals. */
  private nextActiveConsumer(): Consumer | undefined {
    let next: Consumer | undefined;
    for (const c of this.consumers) if (next === undefined || c.options.priority > next.options.priority) next = c;
    return next;
  }

  /** Forget messages and consumers (the vhost has already unbound the queue); delete its log. */
  markDeleted(): number {
    this.deleted = true;
    const count = this.ready.length;
    this.ready.clear();
    this.readyBytes = 0;
    this.readyPersistent = 0;
    this.log?.destroy();
    this.log = undefined;
    return count;
  }
}
