import type { Logger } from "../logger.js";

/** A segment whose bytes the cache can drop (segment-file.ts). */
export interface CachedSegment {
  /** Bytes held in memory for it now. */
  readonly cachedBytes: number;
  /** The cache clock when it was last read or appended to. */
  lastUsed: number;
  readonly path: string;
  /**
   * Write what the file lacks and drop the bytes from memory; returns the buffer they were in when
   * nothing else holds it (no byte of it lent to a delivery), for reuse. Throws when the file
   * cannot take them.
   */
  evict(): Buffer | undefined;
}

/** Once over the limit, evict down to this share of it, so eviction runs in batches, not per append. */
const EVICT_TO = 0.8;
/** How soon a pass that had to keep segments in use looks again. */
const RETRY_MS = 20;
/** Buffers of deleted segments kept for new ones: a busy queue's segments come and go many times a second. */
const SPARE_BUFFERS = 8;
/** At least this many bytes of spare buffers may be kept (more when segments are larger: see the constructor). */
const SPARE_BYTES = 4 * 1024 * 1024;

/**
 * How many bytes of segments queues keep in memory (--queue-memory-budget), spare buffers kept for
 * new segments included. Every queued message
 * lives in a segment; recent segments are held as buffers and served from there. Past the limit
 * the least recently used segments are written to their files (transient ones for the first
 * time) and dropped from memory, to be read back whole when a consumer reaches them.
 */
export class SegmentCache {
  used = 0;
  private pressure = false;
  private cap: number;
  /** Advances at every eviction pass; a segment used since the last pass is never evicted by this one. */
  clock = 1;
  private readonly cached = new Set<CachedSegment>();
  private evictionScheduled = false;
  private readonly spare: Buffer[] = [];
  private spareBytes = 0;
  private retryScheduled = false;
  private evictFailures = 0;

  /** Bytes of spare buffers kept at most. */
  private readonly spareLimit: number;

  /**
   * `limit`: bytes; lowered below the configured budget when the memory watermark is low (see Warren).
   * `segmentSize`: the largest buffer a segment grows to. Two of them may be kept spare, so that a
   * busy durable queue's next full-size segment reuses its predecessor's buffer instead of growing
   * a fresh one from 16 KiB (copying it at each doubling and faulting in every new page).
   */
  constructor(
    limit: number,
    private readonly log: Logger,
    segmentSize = 0,
  ) {
    this.cap = limit;
    this.spareLimit = Math.max(SPARE_BYTES, 2 * segmentSize);
  }

  get limit(): number {
    return this.cap;
  }

  set limit(bytes: number) {
    this.cap = bytes;
    if (this.exceeded) this.scheduleEviction();
  }

  /** Set while the memory alarm is on: every segment not in use right now is dropped. */
  get underPressure(): boolean {
    return this.pressure;
  }

  set underPressure(on: boolean) {
    this.pressure = on;
    if (on) this.scheduleEviction();
  }

  get exceeded(): boolean {
    return this.underPressure || this.used + this.spareBytes > this.limit;
  }

  /** Bytes of spare buffers kept for new segments (counted against the limit too). */
  get spareHeld(): number {
    return this.spareBytes;
  }

  /** A segment's cached bytes changed by `delta` (grown, loaded, dropped). */
  charge(segment: CachedSegment, delta: number): void {
    this.used += delta;
    if (segment.cachedBytes > 0) this.cached.add(segment);
    else this.cached.delete(segment);
    segment.lastUsed = this.clock;
    if (delta > 0 && this.exceeded) this.scheduleEviction();
  }

  /**
   * Keep a buffer no one holds any more (a deleted or grown segment's, none of whose bytes were
   * lent out by reference) for a new segment: without it every record's bytes cost a fresh
   * allocation, and V8 collects the whole heap to account for the external memory.
   */
  giveSpare(buffer: Buffer): void {
    // Spare buffers are memory held for queues too: never kept past the budget.
    if (this.pressure || this.used + this.spareBytes + buffer.length > this.cap || buffer.length > this.spareLimit) return;
    // Full: a larger buffer displaces smaller ones. The small buffers a new segment doubles through
    // are given back first; had they kept their places, no full-size buffer could be kept, and
    // every full segment would cost a fresh allocation of the whole segment size.
    while (this.spare.length >= SPARE_BUFFERS || this.spareBytes + buffer.length > this.spareLimit) {
      const smallest = this.smallestSpare();
      if (this.spare[smallest]!.length >= buffer.length) return;
      this.removeSpare(smallest);
    }
    this.spare.push(buffer);
    this.spareBytes += buffer.length;
  }

  private smallestSpare(): number {
    const spare = this.spare;
    let smallest = 0;
    for (let i = 1; i < spare.length; i++) if (spare[i]!.length < spare[smallest]!.length) smallest = i;
    return smallest;
  }

  private removeSpare(i: number): Buffer {
    const spare = this.spare;
    const buffer = spare[i]!;
    spare[i] = spare[spare.length - 1]!;
    spare.pop();
    this.spareBytes -= buffer.length;
    return buffer;
  }

  /** A kept buffer of at least `minimum` bytes, or undefined. */
  takeSpare(minimum: number): Buffer | undefined {
    const spare = this.spare;
    for (let i = spare.length - 1; i >= 0; i--) {
      if (spare[i]!.length >= minimum) return this.removeSpare(i);
    }
    return undefined;
  }

  /** The segment is gone (settled, deleted): forget its bytes. */
  release(segment: CachedSegment): void {
    if (this.cached.delete(segment)) this.used -= segment.cachedBytes;
  }

  private scheduleEviction(): void {
    if (this.evictionScheduled) return;
    this.evictionScheduled = true;
    setImmediate(runEviction, this);
  }

  /** The retry timer fired. */
  retried(): void {
    this.retryScheduled = false;
    if (this.exceeded) this.evict();
  }

  /** Drop least recently used segments until under EVICT_TO of the limit (or nothing idle is left). */
  evict(): void {
    this.evictionScheduled = false;
    const now = this.clock++;
    if (!this.exceeded) return;
    const target = this.underPressure ? 0 : this.limit * EVICT_TO;
    // Spare buffers go first, smallest first: they hold no message.
    while (this.spare.length > 0 && this.used + this.spareBytes > target) this.removeSpare(this.smallestSpare());
    const idle = [...this.cached].filter((s) => s.lastUsed < now).sort((a, b) => a.lastUsed - b.lastUsed);
    if (idle.length < this.cached.size && !this.retryScheduled) {
      // Segments in use now are kept; once idle, a later pass drops them.
      this.retryScheduled = true;
      setTimeout(retryEviction, RETRY_MS, this).unref();
    }
    // The buffers of evicted segments, offered to the spares once the pass is done: a queue whose
    // backlog is being evicted keeps appending, and its next segment then reuses the bytes of one
    // just written out instead of allocating the whole segment size again.
    const freed: Buffer[] = [];
    for (const segment of idle) {
      if (this.used <= target) break;
      try {
        const buffer = segment.evict();
        if (buffer !== undefined) freed.push(buffer);
        this.log.debug({ event: "store.segment_evicted", file: segment.path }, "dropped a segment from memory");
      } catch (err) {
        const count = ++this.evictFailures;
        // Logged at 1, 2, 4, 8, ...: a full disk fails every eviction. The bytes stay in memory.
        if ((count & (count - 1)) === 0) {
          this.log.error(
            { event: "store.evict_failed", file: segment.path, err: (err as Error).message, count },
            "could not write a segment out to drop it from memory",
          );
        }
      }
    }
    // Within the limit (giveSpare checks), so taking a spare for a new segment needs no pass.
    freed.sort((a, b) => b.length - a.length);
    for (const buffer of freed) this.giveSpare(buffer);
  }
}

function runEviction(cache: SegmentCache): void {
  cache.evict();
}

function retryEviction(cache: SegmentCache): void {
  cache.retried();
}
