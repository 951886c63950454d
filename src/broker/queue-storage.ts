import type { MemoryBudget } from "../store/memory-budget.js";
import type { QueueStore } from "../store/queue-store.js";
import type { Queue } from "./queue.js";

/** What a queue needs from the storage layer: the shared memory budget, and its own store. */
export interface QueueStorage {
  readonly budget: MemoryBudget;
  /** Open (creating if needed) the queue's store. */
  open(queue: Queue): QueueStore;
  /** A persistent message was written to a durable queue: the epoch its confirm waits for. */
  readonly currentEpoch: number;
  /** The queue's store refused a message (it was not enqueued): logged, counted. */
  refused(queue: Queue, err: Error): void;
}
