import type { FieldTable } from "../amqp/field-types.js";
import { MESSAGE_OVERHEAD } from "../store/memory-budget.js";
import { NOT_STORED, type QueueStore } from "../store/queue-store.js";
import { FLAG_PERSISTENT } from "../store/segment-format.js";
import type { Binding } from "./binding.js";
import type { Consumer } from "./consumer.js";
import { Message, QueuedMessage } from "./message.js";
import type { QueueStorage } from "./queue-storage.js";
import { ReadyList } from "./ready-list.js";

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (opaque to the broker model). */
  owner?: object;
}

/** What enqueue did with a message: kept (in memory, maybe paged), written durably, or refused by the store. */
export type Enqueued = "memory" | "durable" | "refused";

/** How many paged messages are read back at a time. */
const PAGE_IN_BATCH = 1024;

/**
 * A queue: ready messages in order, and the consumers they go to, round robin.
 *
 * Dispatch is synchronous: an enqueue, an ack that frees prefetch, or a consumer that drains calls
 * `dispatch`, which hands ready messages to consumers with room until one side runs out.
 *
 * Ready messages live in memory up to the broker's memory budget. Past it the queue pages: new
 * messages go only to its store and `pagedCount` counts them; they are read back, in order, when
 * the in-memory part runs dry. Persistent messages of a durable queue are written to the store
 * whether or not the queue pages, so they survive a restart until acked.
 */
export class Queue {
  readonly kind = "queue";
  private readonly ready = new ReadyList();
  /** Messages after `ready`, held only by the store. */
  private pagedCount = 0;
  readonly consumers: Consumer[] = [];
  /** Bindings that route into this queue, so deleting it can remove them. */
  readonly bindings = new Set<Binding>();
  private nextSeq = 1;
  private roundRobin = 0;
  /** Delivered to a consumer or basic.get and not yet acked. */
  unacked = 0;
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
  private store: QueueStore | undefined;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (queue: Queue) => void,
    private readonly storage?: QueueStorage,
  ) {
    if (this.isDurable && storage !== undefined) this.store = storage.open(this);
  }

  /** Survives a restart: durable and not exclusive (exclusive queues never outlive their connection). */
  get isDurable(): boolean {
    return this.options.durable && !this.options.exclusive;
  }

  get messageCount(): number {
    return this.ready.length + this.pagedCount;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  /** The ready messages held in memory (warrenctl list_queues walks them). */
  get readyInMemory(): Iterable<QueuedMessage> {
    return this.ready;
  }

  get exclusiveOwner(): object | undefined {
    return this.options.exclusive ? this.options.owner : undefined;
  }

  /** Messages found in the store at startup become the queue's (paged) backlog. */
  recover(): number {
    if (this.store === undefined) return 0;
    this.pagedCount = this.store.recover();
    return this.pagedCount;
  }

  /**
   * Add a published message. Returns "durable" when it was written durably (a persistent message
   * in a durable queue), so a confirm must wait for the store's sync; "refused" when the store
   * could not take it (the queue drops it and its publisher is nacked).
   */
  enqueue(message: Message): Enqueued {
    const durable = this.isDurable && this.storage !== undefined && message.persistent;
    const page = this.storage !== undefined && (this.pagedCount > 0 || this.storage.budget.exceeded);
    let position = NOT_STORED;
    if (durable || page) {
      try {
        const store = (this.store ??= this.storage!.open(this));
        position = store.append(
          {
            flags: durable ? FLAG_PERSISTENT : 0,
            publishedAt: Date.now(),
            address: message.address,
            properties: message.rawProperties,
            body: message.body,
          },
          page,
        );
      } catch (err) {
        this.storage!.refused(this, err as Error);
        return "refused";
      }
    }
    if (page) {
      this.pagedCount++;
    } else {
      const entry = new QueuedMessage(message, this.nextSeq++);
      entry.position = position;
      this.pushReady(entry);
    }
    if (this.consumers.length > 0) this.dispatch();
    return durable ? "durable" : "memory";
  }

  private pushReady(entry: QueuedMessage): void {
    this.ready.push(entry);
    if (this.storage) this.storage.budget.used += cost(entry);
  }

  /** The next ready message, paging in from the store when memory has run dry. */
  private takeReady(): QueuedMessage | undefined {
    if (this.ready.length === 0 && this.pagedCount > 0) this.pageIn();
    const entry = this.ready.shift();
    if (entry !== undefined && this.storage) this.storage.budget.used -= cost(entry);
    if (this.onDrained !== undefined && this.messageCount <= this.flowResumeAt) this.onDrained();
    return entry;
  }

  private pageIn(): void {
    const batch = this.store!.pageIn(Math.min(PAGE_IN_BATCH, this.pagedCount));
    if (batch.length === 0) {
      this.pagedCount = 0; // the store has nothing more: trust it
      return;
    }
    this.pagedCount -= batch.length;
    for (const stored of batch) {
      const r = stored.record;
      const entry = new QueuedMessage(new Message(r.exchange, r.routingKey, r.properties, r.body, r.address), this.nextSeq++);
      entry.position = stored.position;
      entry.redelivered = stored.redelivered;
      this.pushReady(entry);
    }
  }

  /** Put delivered messages back at their original places, marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    if (this.deleted) return;
    for (const entry of entries) {
      entry.redelivered = true;
      this.ready.requeue(entry);
      if (this.storage) this.storage.budget.used += cost(entry);
    }
    this.dispatch();
  }

  /** A delivered message is finished with (acked, or rejected without requeue). */
  settle(entry: QueuedMessage): void {
    if (entry.position !== NOT_STORED && !this.deleted) this.store?.settle(entry.position);
  }

  /** basic.get: the next ready message, or undefined. Counted as unacked unless noAck. */
  get(noAck: boolean): QueuedMessage | undefined {
    const entry = this.takeReady();
    if (entry !== undefined) this.handOut(entry, noAck);
    return entry;
  }

  purge(): number {
    let count = 0;
    for (;;) {
      const entry = this.ready.shift();
      if (entry === undefined) break;
      if (this.storage) this.storage.budget.used -= cost(entry);
      this.settle(entry);
      count++;
    }
    if (this.pagedCount > 0) {
      count += this.store!.dropPaged();
      this.pagedCount = 0;
    }
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
      while (this.messageCount > 0 && consumers.length > 0) {
        const consumer = this.nextConsumer();
        if (consumer === undefined) return;
        const entry = this.takeReady();
        if (entry === undefined) return;
        this.handOut(entry, consumer.options.noAck);
        if (!consumer.options.noAck) consumer.unacked++;
        consumer.owner.deliver(consumer, entry);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Bookkeeping for a message leaving the ready list towards a client. */
  private handOut(entry: QueuedMessage, noAck: boolean): void {
    this.deliveries++;
    if (noAck) {
      this.settle(entry);
    } else {
      this.unacked++;
      if (entry.position !== NOT_STORED) this.store!.delivered(entry.position);
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

  /** Forget messages and consumers (the vhost has already unbound the queue); delete its store. */
  markDeleted(): number {
    this.deleted = true;
    const count = this.messageCount;
    if (this.storage) for (const entry of this.ready) this.storage.budget.used -= cost(entry);
    this.ready.clear();
    this.pagedCount = 0;
    this.store?.destroy();
    this.store = undefined;
    return count;
  }
}

function cost(entry: QueuedMessage): number {
  return entry.message.body.length + entry.message.rawProperties.length + MESSAGE_OVERHEAD;
}
