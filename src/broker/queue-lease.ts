import { coarseNow } from "./clock.js";
import { DeadlineTimer } from "./deadline-timer.js";

/** What the lease watches of its queue. */
export interface LeasedQueue {
  readonly consumerCount: number;
  readonly deleted: boolean;
}

/**
 * x-expires: a queue left unused this long is deleted, durable or not. Used means having a
 * consumer, a basic.get, or a declare of it (passive too); the lease runs only while the queue has
 * no consumer and starts over at each use, when the last consumer goes, and at recovery, as
 * RabbitMQ's expiry timer does. A use costs no timer work: the timer, when it fires, looks at
 * when the queue was last used and waits on if that was too recent.
 */
export class QueueLease {
  private lastUsedAt = coarseNow();
  private readonly timer = new DeadlineTimer(() => this.check());

  constructor(
    /** The x-expires value, ms (at least 1). */
    private readonly ms: number,
    private readonly queue: LeasedQueue,
    /** The lease ran out: delete the queue. */
    private readonly onExpired: () => void,
  ) {
    this.timer.schedule(this.lastUsedAt + ms, this.lastUsedAt);
  }

  /** A basic.get or a declare: the lease starts over. */
  used(): void {
    this.lastUsedAt = coarseNow();
  }

  /** The last consumer went: the lease starts over, and runs again. */
  resume(): void {
    const now = coarseNow();
    this.lastUsedAt = now;
    this.timer.schedule(now + this.ms, now);
  }

  stop(): void {
    this.timer.cancel();
  }

  private check(): void {
    // A queue with consumers is in use; resume() arms the timer again when the last one goes.
    if (this.queue.deleted || this.queue.consumerCount > 0) return;
    const now = Date.now();
    const due = this.lastUsedAt + this.ms;
    if (due > now) this.timer.schedule(due, now);
    else this.onExpired();
  }
}
