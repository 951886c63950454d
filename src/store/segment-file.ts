import type { PersistedFile } from "./persister.js";
import type { CachedSegment, SegmentCache } from "./segment-cache.js";
import type { StoreFs } from "./store-fs.js";

/** A new segment's buffer starts this small and doubles: most queues hold few messages. */
const INITIAL_CAPACITY = 16 * 1024;
/**
 * A delivered body this large may be sent by reference (src/amqp/frame-writer.ts: from 16 KiB, or
 * past frame_max - 8, which is at least 4088): the socket then holds a view of the segment's
 * buffer until it is written, so the buffer is never reused.
 */
export const LENT_BODY_SIZE = 4088;
/** An evicted segment is read back this much at a time (more for a larger record). */
const READ_WINDOW = 1024 * 1024;

export interface SegmentFileOptions {
  fs: StoreFs;
  path: string;
  cache: SegmentCache;
  /** Where buffers stop doubling (the segment size; a larger record still fits whole). */
  maxCapacity: number;
  /**
   * Opens the file: "create" makes a new segment's file (empty, its folder first when needed) to
   * append to; "read" opens an existing one to read back what was written.
   */
  openFile: (how: "create" | "read") => number;
  /** Close the file when evicted (transient segments: never appended to again, and fds are few). */
  closeWhenEvicted: boolean;
}

/**
 * One segment of a queue's log: its bytes held in memory while cached, and its file.
 *
 * Appends go to the buffer, which grows by doubling (views handed out earlier keep the old buffer
 * alive, so a grown buffer never invalidates a delivery in flight). The persister writes what the
 * file lacks once per event-loop turn (durable segments); a transient segment reaches its file only
 * when the cache evicts it. An evicted segment is read back in windows as consumers reach it.
 */
export class SegmentFile implements PersistedFile, CachedSegment {
  /** Logical size: every byte appended. */
  size: number;
  /** Bytes [0, size) while cached; undefined once evicted. */
  bytes: Buffer | undefined;
  /** Once evicted: the part read back last (READ_WINDOW from where a reader asked), and its file offset. */
  private window: Buffer | undefined;
  private windowStart = 0;
  /** Bytes handed to the file so far. */
  private writtenUpTo: number;
  fd = -1;
  closed = false;
  lastUsed = 0;
  /** Whether the file exists yet (a new transient segment's is created when first evicted). */
  private created: boolean;
  /** Set when a body was read that may be sent by reference: the buffer is then never reused. */
  lent = false;

  /**
   * `contents`: the bytes already in the file (a segment recovered at startup), or undefined for
   * a segment recovered without caching; a new segment starts with `header`, in a buffer of the
   * whole segment size when `full` (its predecessor filled up).
   */
  constructor(
    private readonly options: SegmentFileOptions,
    start: { header: Buffer; full?: boolean } | { recovered: Buffer | undefined; size: number },
  ) {
    if ("header" in start) {
      // A queue that filled its last segment gets a whole one at once: growing it again by doubling
      // would allocate and free every size on the way, and the allocator keeps such holes resident.
      const minimum = Math.max(start.full === true ? options.maxCapacity : INITIAL_CAPACITY, start.header.length);
      this.bytes = options.cache.takeSpare(minimum) ?? Buffer.allocUnsafe(minimum);
      start.header.copy(this.bytes, 0);
      this.size = start.header.length;
      this.writtenUpTo = 0;
      this.created = false;
    } else {
      this.created = true;
      this.bytes = start.recovered;
      this.size = start.size;
      this.writtenUpTo = start.size;
    }
    if (this.bytes !== undefined) options.cache.charge(this, this.bytes.length);
  }

  get path(): string {
    return this.options.path;
  }

  /** Whether the segment has a file (a transient one gets it when first evicted). */
  get hasFile(): boolean {
    return this.created;
  }

  get cachedBytes(): number {
    return (this.bytes?.length ?? 0) + (this.window?.length ?? 0);
  }

  /** Open the file now (durable segments: their name must exist before anything is confirmed). */
  open(): void {
    if (this.fd >= 0) return;
    this.fd = this.options.openFile(this.created ? "read" : "create");
    this.created = true;
  }

  /** Room for n bytes at the end (the segment must be cached): write them to `bytes` from the position returned. */
  reserve(n: number): number {
    if (this.size + n > this.bytes!.length) this.grow(this.size + n);
    return this.size;
  }

  /** Account for n bytes written at the reserved position; returns their offset. */
  commit(n: number): number {
    const offset = this.size;
    this.size += n;
    this.lastUsed = this.options.cache.clock;
    return offset;
  }

  private grow(needed: number): void {
    const old = this.bytes!;
    const length = Math.max(needed, Math.min(old.length * 2, this.options.maxCapacity));
    const next = this.options.cache.takeSpare(length) ?? Buffer.allocUnsafe(length);
    old.copy(next, 0, 0, this.size);
    this.bytes = next;
    this.options.cache.charge(this, next.length - old.length);
    if (!this.lent) this.options.cache.giveSpare(old);
  }

  /**
   * A buffer holding bytes [offset, offset + length) of the segment (fewer past its end); `base` is
   * told the file offset of the buffer's first byte, and whether the bytes were read from the file. A cached segment answers from memory; an evicted one reads a
   * window from its file (the next reads of a consumer walking the segment fall in it).
   */
  bytesAt(offset: number, length: number, base: { at: number; fromDisk: boolean }): Buffer {
    this.lastUsed = this.options.cache.clock;
    if (this.bytes !== undefined) {
      base.at = 0;
      base.fromDisk = false;
      return this.bytes;
    }
    base.fromDisk = true;
    let window = this.window;
    if (window === undefined || offset < this.windowStart || offset + length > this.windowStart + window.length) {
      window = this.readWindow(offset, Math.min(Math.max(READ_WINDOW, length), this.size - offset));
    }
    base.at = this.windowStart;
    return window;
  }

  private readWindow(offset: number, length: number): Buffer {
    if (this.fd < 0) this.open();
    const window = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = this.options.fs.read(this.fd, window, got, length - got, offset + got);
      if (n === 0) throw new Error(`segment ${this.path} is shorter than expected (${offset + got} of ${this.size} bytes)`);
      got += n;
    }
    const before = this.window?.length ?? 0;
    this.window = window;
    this.windowStart = offset;
    this.options.cache.charge(this, window.length - before);
    return window;
  }

  /** Hand the bytes the file lacks to the kernel (no fsync). Throws on I/O errors (disk full). */
  writePending(): void {
    if (this.closed || this.writtenUpTo >= this.size) return;
    this.open();
    const bytes = this.bytes!;
    while (this.writtenUpTo < this.size) {
      this.writtenUpTo += this.options.fs.write(this.fd, bytes, this.writtenUpTo, this.size - this.writtenUpTo, this.writtenUpTo);
    }
  }

  sync(callback: (err: NodeJS.ErrnoException | null) => void): void {
    this.options.fs.fdatasync(this.fd, callback);
  }

  /**
   * Write what the file lacks and drop the bytes from memory (the cache asks); returns their buffer
   * when no byte of it was lent to a delivery, for the cache to reuse.
   */
  evict(): Buffer | undefined {
    if (this.closed || this.cachedBytes === 0) return undefined;
    this.writePending();
    const freed = this.cachedBytes;
    const reusable = this.lent ? undefined : this.bytes;
    this.bytes = undefined;
    this.window = undefined;
    this.options.cache.charge(this, -freed);
    if (this.options.closeWhenEvicted && this.fd >= 0) {
      this.options.fs.close(this.fd);
      this.fd = -1;
    }
    return reusable;
  }

  /** Let go of the bytes and the file (the segment is deleted, or the store stops). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.cache.release(this);
    if (this.bytes !== undefined && !this.lent) this.options.cache.giveSpare(this.bytes);
    this.bytes = undefined;
    this.window = undefined;
    if (this.fd >= 0) this.options.fs.close(this.fd);
  }
}
