import { Deque } from "./deque.js";
import type { QueuedMessage } from "./message.js";

/**
 * A queue's ready messages, served in sequence-number order.
 *
 * Fresh messages arrive in order and go to the back of a deque. A requeued message was delivered
 * while it was the oldest ready one, so it is older than every fresh message; requeued messages go
 * to a binary min-heap by sequence number, served before the deque. Requeues in any order (one
 * nack at a time, a whole channel closing) cost O(log n) each, never a shift of the backlog.
 */
export class ReadyList implements Iterable<QueuedMessage> {
  private readonly fresh = new Deque<QueuedMessage>();
  /** Min-heap by seq: requeued[0] is the oldest. */
  private requeued: QueuedMessage[] = [];

  get length(): number {
    return this.fresh.length + this.requeued.length;
  }

  /** A new message, newer than every message in the list. */
  push(entry: QueuedMessage): void {
    this.fresh.push(entry);
  }

  /** A delivered message coming back, to be served in its original place. */
  requeue(entry: QueuedMessage): void {
    const heap = this.requeued;
    let i = heap.length;
    heap.push(entry);
    // Sift up. Requeues in ascending order (the usual) stop at once.
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = heap[parent]!;
      if (p.seq <= entry.seq) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Remove and return the oldest message. */
  shift(): QueuedMessage | undefined {
    return this.requeued.length > 0 ? this.popRequeued() : this.fresh.shift();
  }

  /** Remove everything, returning how many messages there were. */
  clear(): number {
    const n = this.requeued.length;
    this.requeued = [];
    return n + this.fresh.clear();
  }

  /** Every message, requeued ones first (not strictly in order among themselves). */
  *[Symbol.iterator](): IterableIterator<QueuedMessage> {
    yield* this.requeued;
    yield* this.fresh;
  }

  private popRequeued(): QueuedMessage {
    const heap = this.requeued;
    const top = heap[0]!;
    const last = heap.pop()!;
    const n = heap.length;
    if (n === 0) return top;
    // Sift the last element down from the root.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]!.seq < heap[left]!.seq ? right : left;
      if (heap[child]!.seq >= last.seq) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
