import type { FieldTable } from "../amqp/field-types.js";
import type { Binding } from "./binding.js";
import type { Consumer } from "./consumer.js";
import type { Message } from "./message.js";
import { PERSISTENT, REDELIVERED, StoredMessage, type LogPosition, type MessageLog, type QueueStorage } from "./message-log.js";
import { ReadyIndex } from "./ready-index.js";

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
 * `message` is valid only during the call.
 */
export type DropHandler = (queue: Queue, message: StoredMessage, reason: DropReason) => void;

/** What enqueue did with a message: kept, written durably (a confirm waits for the sync), or refused by the log. */
export type Enqueued = "memory" | "durable" | "refused";

/**
 * A queue: ready messages in order, and the consumers they go to, round robin.
 *
 * Every message is in the queue's log (message-log.ts) as bytes; the queue keeps only its
 * position and two flag bits (ready-index.ts), so a backlog costs bytes, not objects. Handing a
 * message out fills one reused StoredMessage with where its bytes are.
 *
 * Dispatch is synchronous: an enqueue, an ack that frees prefetch, or a consumer that drains calls
 * `dispatch`, which hands ready messages to consumers with room until one side runs out.
 */
export class Queue {
  readonly kind = "queue";
  private readonly ready = new ReadyIndex();
  readonly consumers: Consumer[] = [];
  /** Bindings that route into this queue, so deleting it can remove them. */
  readonly bindings = new Set<Binding>();
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
  /** The message being handed out (reused: see StoredMessage). */
  private readonly out = new StoredMessage();
  /** Set when the queue dead-letters what it drops; undefined drops silently. */
  dropHandler: DropHandler | undefined = undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (queue: Queue) => void,
    private readonly storage: QueueStorage,
  ) {}

  /** Survives a restart: durable and not exclusive (exclusive queues never outlive their connection). */
  get isDurable(): boolean {
    return this.options.durable && !this.options.exclusive;
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
    this.openLog().recover((position, bodySize, redelivered) => {
      this.ready.push(position, redelivered ? PERSISTENT | REDELIVERED : PERSISTENT);
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
    const persistent = this.isDurable && message.persistent;
    let position: LogPosition;
    try {
      position = this.openLog().append(message, persistent);
    } catch (err) {
      this.storage.refused(this, err as Error);
      return "refused";
    }
    this.ready.push(position, persistent ? PERSISTENT : 0);
    this.readyBytes += message.bodySize;
    if (persistent) this.readyPersistent++;
    if (this.consumers.length > 0) this.dispatch();
    return persistent ? "durable" : "memory";
  }

  /** Take the next ready message into `this.out`; false when there is none. */
  private takeReady(): boolean {
    const out = this.out;
    for (;;) {
      if (!this.ready.take()) return false;
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
  }

  /**
   * Discard the message just taken into `out` (expired, over the length limit): hand it to the
   * drop handler, then settle it. Not counted as a delivery.
   */
  private dropTaken(reason: DropReason): void {
    this.dropHandler?.(this, this.out, reason);
    this.settle(this.out.position, this.out.flags);
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
    this.dispatch();
  }

  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.roundRobin > i) this.roundRobin--;
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
