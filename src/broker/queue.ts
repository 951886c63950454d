import type { FieldTable } from "../amqp/field-types.js";
import type { Binding } from "./binding.js";
import type { Consumer } from "./consumer.js";
import { Deque } from "./deque.js";
import { bySeq, QueuedMessage, type Message } from "./message.js";

export interface QueueOptions {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** The connection that owns an exclusive queue (opaque to the broker model). */
  owner?: object;
}

/**
 * A queue: ready messages in order, and the consumers they go to, round robin.
 *
 * Dispatch is synchronous: an enqueue, an ack that frees prefetch, or a consumer that drains calls
 * `dispatch`, which hands ready messages to consumers with room until one side runs out.
 */
export class Queue {
  readonly kind = "queue";
  private readonly ready = new Deque<QueuedMessage>();
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
  private dispatching = false;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (queue: Queue) => void,
  ) {}

  get messageCount(): number {
    return this.ready.length;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get exclusiveOwner(): object | undefined {
    return this.options.exclusive ? this.options.owner : undefined;
  }

  enqueue(message: Message): void {
    this.ready.push(new QueuedMessage(message, this.nextSeq++));
    if (this.consumers.length > 0) this.dispatch();
  }

  /** Put delivered messages back at their original places, marked redelivered. */
  requeue(entries: QueuedMessage[]): void {
    if (this.deleted) return;
    for (const entry of entries) {
      entry.redelivered = true;
      this.ready.insertSorted(entry, bySeq);
    }
    this.dispatch();
  }

  /** basic.get: the next ready message, or undefined. */
  get(): QueuedMessage | undefined {
    return this.ready.shift();
  }

  purge(): number {
    return this.ready.clear();
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
        const entry = this.ready.shift()!;
        if (!consumer.options.noAck) {
          consumer.unacked++;
          this.unacked++;
        }
        consumer.owner.deliver(consumer, entry);
      }
    } finally {
      this.dispatching = false;
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

  /** True once any consumer has a non-zero x-priority; until then the first free consumer wins. */
  hasPriorities = false;

  /** Forget messages and consumers; the vhost has already unbound the queue. */
  markDeleted(): number {
    this.deleted = true;
    const count = this.ready.length;
    this.ready.clear();
    return count;
  }
}
