import type { Consumer } from "../broker/consumer.js";
import type { QueuedMessage } from "../broker/message.js";
import type { Queue } from "../broker/queue.js";

/** A delivery the client has not acked yet. */
export class Delivery {
  constructor(
    readonly tag: number,
    readonly entry: QueuedMessage,
    readonly queue: Queue,
    /** The consumer it went to; undefined for basic.get. */
    readonly consumer: Consumer | undefined,
  ) {}
}

/**
 * A channel's unacked deliveries in delivery-tag order.
 *
 * Tags only grow, so the list stays sorted by appending; an ack finds its tag by binary search and
 * leaves a hole, and holes at the front are skipped. Acks in order (the common case) cost O(1).
 */
export class UnackedList {
  private items: Array<Delivery | undefined> = [];
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(delivery: Delivery): void {
    this.items.push(delivery);
    this.live++;
  }

  /** Remove and return one delivery, or undefined when the tag is not outstanding. */
  take(tag: number): Delivery | undefined {
    const i = this.indexOf(tag);
    if (i < 0) return undefined;
    const d = this.items[i]!;
    this.items[i] = undefined;
    this.live--;
    this.trim();
    return d;
  }

  /** Remove and return every delivery with a tag up to and including `tag` (all when tag is 0). */
  takeUpTo(tag: number): Delivery[] {
    const out: Delivery[] = [];
    const items = this.items;
    let i = this.head;
    for (; i < items.length; i++) {
      const d = items[i];
      if (d === undefined) continue;
      if (tag !== 0 && d.tag > tag) break;
      out.push(d);
      items[i] = undefined;
    }
    this.live -= out.length;
    this.trim();
    return out;
  }

  /** Is this tag outstanding? */
  has(tag: number): boolean {
    return this.indexOf(tag) >= 0;
  }

  takeAll(): Delivery[] {
    return this.takeUpTo(0);
  }

  private indexOf(tag: number): number {
    const items = this.items;
    let lo = this.head;
    let hi = items.length - 1;
    // Skip holes while bisecting: probe the nearest live item at or after mid.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      let probe = mid;
      while (probe <= hi && items[probe] === undefined) probe++;
      if (probe > hi) {
        hi = mid - 1;
        continue;
      }
      const t = items[probe]!.tag;
      if (t === tag) return probe;
      if (t < tag) lo = probe + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Drop holes at the front; compact the array once most of it is holes. */
  private trim(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head] === undefined) this.head++;
    if (this.head === items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}
