import type { Consumer } from "../broker/consumer.js";
import type { Queue } from "../broker/queue.js";

/**
 * A delivery the client has not acked yet. A channel recycles these once settled (reuse), so
 * manual acks allocate nothing per message; nothing may keep one past its settlement.
 */
export class Delivery {
  /** Neighbours while this delivery is a straggler (see UnackedList); unused otherwise. */
  prev: Delivery | undefined = undefined;
  next: Delivery | undefined = undefined;

  constructor(
    public tag: number,
    /** Where the message is in its queue's log, its flag bits and body size (message-log.ts). */
    public position: number,
    public flags: number,
    public bodySize: number,
    public queue: Queue,
    /** The consumer it went to; undefined for basic.get. */
    public consumer: Consumer | undefined,
    /** When it was delivered, in the coarse ticks of the consumer-timeout clock. */
    public deliveredAt: number,
  ) {}

  /** Make a settled delivery a new one (the same fields as the constructor). */
  reuse(tag: number, position: number, flags: number, bodySize: number, queue: Queue, consumer: Consumer | undefined, deliveredAt: number): this {
    this.tag = tag;
    this.position = position;
    this.flags = flags;
    this.bodySize = bodySize;
    this.queue = queue;
    this.consumer = consumer;
    this.deliveredAt = deliveredAt;
    this.prev = this.next = undefined;
    return this;
  }
}

/** A window this much larger than its live deliveries (plus a constant) moves its oldest out. */
const SPARSE_FACTOR = 3;
const SPARSE_SLACK = 64;

/**
 * A channel's unacked deliveries, in delivery-tag order. Every operation costs O(1), amortised
 * per delivery tag, whatever order the client acks in and however long it holds some deliveries.
 *
 * Most deliveries live in a window: an array indexed by `tag - baseTag`, so finding a tag is one
 * subtraction. Settled slots become holes; holes at the front are skipped as the front moves on.
 * Tags delivered without an ack (no-ack consumers share the tag sequence) are holes from the start.
 * A delivery held while many after it are acked would keep the window's front in place and grow
 * it without bound; so when the window is mostly holes, its front part is cut off and the live
 * deliveries in it move to the stragglers: a Map by tag for lookups, linked in tag order (all
 * older than the window) for multiple acks and for the consumer timeout, which looks at the oldest.
 * Each slot is passed over a bounded number of times before it is dropped, and each delivery
 * moves to the stragglers at most once.
 */
export class UnackedList {
  private items: Array<Delivery | undefined> = [];
  /** Tag of items[0]. */
  private baseTag = 0;
  /** Index of the first live item (items.length when the window is empty). */
  private head = 0;
  private windowLive = 0;
  private readonly stragglers = new Map<number, Delivery>();
  private firstStraggler: Delivery | undefined = undefined;
  private lastStraggler: Delivery | undefined = undefined;

  get size(): number {
    return this.windowLive + this.stragglers.size;
  }

  /** The delivery with the lowest tag (the longest unacked), if any. */
  get oldest(): Delivery | undefined {
    return this.firstStraggler ?? this.items[this.head];
  }

  /** Add a delivery; its tag is higher than any tag pushed before. */
  push(delivery: Delivery): void {
    if (this.windowLive === 0) {
      this.restartAt(delivery.tag);
    } else {
      const index = delivery.tag - this.baseTag;
      if (index > this.items.length && index - this.head > SPARSE_FACTOR * (this.windowLive + 1) + SPARSE_SLACK) {
        // Far past the window (many no-ack deliveries in between): the window moves out whole.
        this.shedFront(this.items.length);
        this.restartAt(delivery.tag);
      } else {
        // Tags that went to no-ack consumers in between are holes.
        while (this.items.length < index) this.items.push(undefined);
      }
    }
    this.items.push(delivery);
    this.windowLive++;
    if (this.items.length - this.head > SPARSE_FACTOR * this.windowLive + SPARSE_SLACK) {
      // Keep the newest slots, where the deliveries still in flight usually are.
      this.shedFront(this.items.length - this.windowLive);
    }
  }

  /** Remove and return one delivery, or undefined when the tag is not outstanding. */
  take(tag: number): Delivery | undefined {
    const items = this.items;
    const i = tag - this.baseTag;
    if (i >= this.head && i < items.length) {
      const d = items[i];
      if (d === undefined) return undefined;
      items[i] = undefined;
      this.windowLive--;
      if (i === this.head) this.skipHoles();
      return d;
    }
    return i < this.head ? this.takeStraggler(tag) : undefined;
  }

  /** Is this tag outstanding? */
  has(tag: number): boolean {
    const i = tag - this.baseTag;
    if (i >= this.head && i < this.items.length) return this.items[i] !== undefined;
    return i < this.head && this.stragglers.has(tag);
  }

  /** Remove and return every delivery with a tag up to and including `tag` (all when tag is 0), in tag order. */
  takeUpTo(tag: number): Delivery[] {
    const all = tag === 0;
    const out: Delivery[] = [];
    let s = this.firstStraggler;
    while (s !== undefined && (all || s.tag <= tag)) {
      const next = s.next;
      this.stragglers.delete(s.tag);
      s.prev = s.next = undefined;
      out.push(s);
      s = next;
    }
    this.firstStraggler = s;
    if (s === undefined) this.lastStraggler = undefined;
    else s.prev = undefined;

    const items = this.items;
    const end = all ? items.length : Math.min(items.length, tag - this.baseTag + 1);
    const fromStragglers = out.length;
    let i = this.head;
    for (; i < end; i++) {
      const d = items[i];
      if (d === undefined) continue;
      items[i] = undefined;
      out.push(d);
    }
    if (i > this.head) {
      this.windowLive -= out.length - fromStragglers;
      this.head = i;
      this.skipHoles();
    }
    return out;
  }

  takeAll(): Delivery[] {
    return this.takeUpTo(0);
  }

  private restartAt(tag: number): void {
    this.items.length = 0;
    this.baseTag = tag;
    this.head = 0;
  }

  /** Move the front past holes; release the array once it is empty or mostly behind the front. */
  private skipHoles(): void {
    const items = this.items;
    let h = this.head;
    while (h < items.length && items[h] === undefined) h++;
    if (this.windowLive === 0) {
      this.restartAt(this.baseTag + h);
    } else if (h > 1024 && h * 2 > items.length) {
      this.items = items.slice(h);
      this.baseTag += h;
      this.head = 0;
    } else {
      this.head = h;
    }
  }

  /**
   * Cut the window at index `cut`: the live deliveries before it move to the stragglers. Called
   * when the window is mostly holes, so the slots scanned are mostly holes dropped for good.
   */
  private shedFront(cut: number): void {
    const items = this.items;
    for (let i = this.head; i < cut; i++) {
      const d = items[i];
      if (d === undefined) continue;
      this.addStraggler(d);
      this.windowLive--;
    }
    this.items = items.slice(cut);
    this.baseTag += cut;
    this.head = 0;
    this.skipHoles();
  }

  private addStraggler(d: Delivery): void {
    this.stragglers.set(d.tag, d);
    const last = this.lastStraggler;
    d.prev = last;
    d.next = undefined;
    if (last === undefined) this.firstStraggler = d;
    else last.next = d;
    this.lastStraggler = d;
  }

  private takeStraggler(tag: number): Delivery | undefined {
    const d = this.stragglers.get(tag);
    if (d === undefined) return undefined;
    this.stragglers.delete(tag);
    const { prev, next } = d;
    if (prev === undefined) this.firstStraggler = next;
    else prev.next = next;
    if (next === undefined) this.lastStraggler = prev;
    else next.prev = prev;
    d.prev = d.next = undefined;
    return d;
  }
}
