import type { Consumer } from "../broker/consumer.js";
import type { StoredMessage } from "../broker/message-log.js";
import type { Queue } from "../broker/queue.js";

/**
 * A delivery the client has not acked yet. A channel recycles these once settled (reuse), so
 * manual acks allocate nothing per message; nothing may keep one past its settlement.
 */
export class Delivery {
  tag = 0;
  /**
   * Where the message is in its queue's log (message-log.ts). Declared with a number, not as a
   * constructor parameter property (which ES2022 output defines as undefined first): a field V8
   * has seen undefined in holds any value, and then every double stored in it is a new heap number.
   */
  position = 0;
  /** Its flag bits and body size. */
  flags = 0;
  bodySize = 0;
  queue: Queue;
  /** The consumer it went to; undefined for basic.get. */
  consumer: Consumer | undefined;
  /** When it was delivered, in the coarse ticks of the consumer-timeout clock. */
  deliveredAt = 0;
  /** Neighbours while this delivery is a straggler (see UnackedList); unused otherwise. */
  prev: Delivery | undefined = undefined;
  next: Delivery | undefined = undefined;

  constructor(tag: number, position: number, flags: number, bodySize: number, queue: Queue, consumer: Consumer | undefined, deliveredAt: number) {
    this.tag = tag;
    this.position = position;
    this.flags = flags;
    this.bodySize = bodySize;
    this.queue = queue;
    this.consumer = consumer;
    this.deliveredAt = deliveredAt;
  }

  /**
   * Make a settled delivery a new one, of `message` (read from its fields here: a position is a
   * double, and a double passed to a call that is not inlined is boxed).
   */
  reuse(tag: number, message: StoredMessage, queue: Queue, consumer: Consumer | undefined, deliveredAt: number): this {
    this.tag = tag;
    this.position = message.position;
    this.flags = message.flags;
    this.bodySize = message.bodyEnd - message.bodyStart;
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
/** The window's ring starts this large (a power of two) and goes back to it once empty. */
const MIN_RING = 256;

/**
 * The ring of a channel that has not delivered yet (most channels of most connections): one slot,
 * never written (the first push grows it to MIN_RING), made like the others so reads see one kind of array.
 */
const NO_RING = emptyRing(1);

/**
 * A channel's unacked deliveries, in delivery-tag order. Every operation costs O(1), amortised
 * per delivery tag, whatever order the client acks in and however long it holds some deliveries.
 *
 * Most deliveries live in a window: tags [frontTag, endTag), each in the slot `tag & mask` of a
 * ring, so finding a tag is one mask and a delivery costs no array growth or copy (the ring grows
 * only when the window outgrows it). Settled slots become holes; holes at the front are skipped as
 * the front moves on. Tags delivered without an ack (no-ack consumers share the tag sequence) are
 * holes from the start. A delivery held while many after it are acked would keep the window's
 * front in place and grow it without bound; so when the window is mostly holes, its front part is
 * cut off and the live deliveries in it move to the stragglers: a Map by tag for lookups, linked
 * in tag order (all older than the window) for multiple acks and for the consumer timeout, which
 * looks at the oldest. Each slot is passed over a bounded number of times before the front moves
 * past it, and each delivery moves to the stragglers at most once.
 */
export class UnackedList {
  /** Slots outside [frontTag, endTag) are always empty. */
  private ring: Array<Delivery | undefined> = NO_RING;
  private mask = 0;
  /** The window's first tag (a live delivery's, unless the window is empty) and one past its last. */
  private frontTag = 0;
  private endTag = 0;
  private windowLive = 0;
  private readonly stragglers = new Map<number, Delivery>();
  private firstStraggler: Delivery | undefined = undefined;
  private lastStraggler: Delivery | undefined = undefined;

  get size(): number {
    return this.windowLive + this.stragglers.size;
  }

  /** The delivery with the lowest tag (the longest unacked), if any. */
  get oldest(): Delivery | undefined {
    return this.firstStraggler ?? (this.windowLive > 0 ? this.ring[this.frontTag & this.mask] : undefined);
  }

  /** Add a delivery; its tag is higher than any tag pushed before. */
  push(delivery: Delivery): void {
    const tag = delivery.tag;
    if (this.windowLive === 0) {
      this.restartAt(tag);
    } else if (tag > this.endTag && tag - this.frontTag > SPARSE_FACTOR * (this.windowLive + 1) + SPARSE_SLACK) {
      // Far past the window (many no-ack deliveries in between): the window moves out whole.
      this.shedFront(this.endTag);
      this.restartAt(tag);
    }
    // Tags that went to no-ack consumers in between are holes (empty slots) already.
    if (tag - this.frontTag >= this.ring.length || this.ring === NO_RING) this.grow(tag - this.frontTag + 1);
    this.ring[tag & this.mask] = delivery;
    this.endTag = tag + 1;
    this.windowLive++;
    if (this.endTag - this.frontTag > SPARSE_FACTOR * this.windowLive + SPARSE_SLACK) {
      // Keep the newest slots, where the deliveries still in flight usually are.
      this.shedFront(this.endTag - this.windowLive);
    }
  }

  /** Remove and return one delivery, or undefined when the tag is not outstanding. */
  take(tag: number): Delivery | undefined {
    if (tag >= this.frontTag && tag < this.endTag) {
      const slot = tag & this.mask;
      const d = this.ring[slot];
      if (d === undefined) return undefined;
      this.ring[slot] = undefined;
      this.windowLive--;
      if (tag === this.frontTag) this.skipHoles();
      return d;
    }
    return tag < this.frontTag ? this.takeStraggler(tag) : undefined;
  }

  /** Is this tag outstanding? */
  has(tag: number): boolean {
    if (tag >= this.frontTag && tag < this.endTag) return this.ring[tag & this.mask] !== undefined;
    return tag < this.frontTag && this.stragglers.has(tag);
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

    const ring = this.ring;
    const mask = this.mask;
    const end = all ? this.endTag : Math.min(this.endTag, tag + 1);
    let t = this.frontTag;
    for (; t < end; t++) {
      const d = ring[t & mask];
      if (d === undefined) continue;
      ring[t & mask] = undefined;
      out.push(d);
      this.windowLive--;
    }
    if (t > this.frontTag) {
      this.frontTag = t;
      this.skipHoles();
    }
    return out;
  }

  takeAll(): Delivery[] {
    return this.takeUpTo(0);
  }

  /** An empty window starting at `tag`; a ring grown for a burst goes back to its first size. */
  private restartAt(tag: number): void {
    if (this.ring.length > MIN_RING) {
      this.ring = emptyRing(MIN_RING);
      this.mask = MIN_RING - 1;
    }
    this.frontTag = this.endTag = tag;
  }

  /** A ring of at least `span` slots (doubling), the window's deliveries in their new slots. */
  private grow(span: number): void {
    let capacity = Math.max(MIN_RING, this.ring.length * 2);
    while (capacity < span) capacity *= 2;
    this.resize(capacity);
  }

  private resize(capacity: number): void {
    const next = emptyRing(capacity);
    const nextMask = capacity - 1;
    for (let t = this.frontTag; t < this.endTag; t++) next[t & nextMask] = this.ring[t & this.mask];
    this.ring = next;
    this.mask = nextMask;
  }

  /** Move the front past holes; an empty window restarts at its end. */
  private skipHoles(): void {
    const ring = this.ring;
    const mask = this.mask;
    let t = this.frontTag;
    const end = this.endTag;
    while (t < end && ring[t & mask] === undefined) t++;
    if (this.windowLive === 0) {
      this.restartAt(end);
      return;
    }
    this.frontTag = t;
    // A ring grown for a burst shrinks once the window is far smaller (its copy is paid for by the growth).
    const span = end - t;
    if (ring.length > MIN_RING && span * 8 < ring.length) this.resize(Math.max(MIN_RING, ring.length >>> 2));
  }

  /**
   * Cut the window before tag `cut`: the live deliveries before it move to the stragglers. Called
   * when the window is mostly holes, so the slots scanned are mostly holes dropped for good.
   */
  private shedFront(cut: number): void {
    const ring = this.ring;
    const mask = this.mask;
    for (let t = this.frontTag; t < cut; t++) {
      const d = ring[t & mask];
      if (d === undefined) continue;
      ring[t & mask] = undefined;
      this.addStraggler(d);
      this.windowLive--;
    }
    this.frontTag = cut;
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

function emptyRing(capacity: number): Array<Delivery | undefined> {
  return new Array<Delivery | undefined>(capacity).fill(undefined);
}
