import type { PersistedFile } from "./persister.js";
import type { StoreFs } from "./store-fs.js";

/**
 * The slab starts this small and doubles up to SLAB_MAX while a turn's appends outgrow it. A
 * durable segment has an ack file for as long as it lives: a full-size slab each would cost a
 * megabyte per segment of a queue that acks a few messages a second.
 */
const SLAB_INITIAL = 4 * 1024;
/** Past this many bytes waiting, appends are written out at once rather than held for the turn's flush. */
const SLAB_MAX = 1024 * 1024;

/**
 * A file written only at its end. Appends land in an in-memory slab and reach the file in one
 * write when the persister flushes (once per event-loop turn, or earlier when the slab fills), so
 * a burst of publishes costs one system call, not one each.
 */
export class AppendFile implements PersistedFile {
  /** Logical size: bytes on disk plus bytes waiting in the slab. */
  size: number;
  private slab: Buffer = Buffer.allocUnsafe(SLAB_INITIAL);
  private slabUsed = 0;
  /** File offset of slab[0]. */
  private slabStart: number;
  closed = false;

  private constructor(
    private readonly fs: StoreFs,
    readonly path: string,
    readonly fd: number,
    size: number,
  ) {
    this.size = size;
    this.slabStart = size;
  }

  /** Open (creating if needed) for appending at the current end. */
  static open(fs: StoreFs, path: string): AppendFile {
    const fd = fs.open(path, "a+");
    return new AppendFile(fs, path, fd, fs.size(fd));
  }

  /** Room for n bytes at the end: returns the slab and the position to write at. */
  reserve(n: number): { buf: Buffer; pos: number } {
    const needed = this.slabUsed + n;
    if (needed > this.slab.length) {
      if (needed <= SLAB_MAX) {
        const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(this.slab.length * 2, SLAB_MAX)));
        this.slab.copy(grown, 0, 0, this.slabUsed);
        this.slab = grown;
      } else {
        this.writePending();
        if (n > this.slab.length) this.slab = Buffer.allocUnsafe(n);
      }
    }
    return { buf: this.slab, pos: this.slabUsed };
  }

  /** Account for n bytes written at the reserved position; returns their file offset. */
  commit(n: number): number {
    const offset = this.size;
    this.slabUsed += n;
    this.size += n;
    return offset;
  }

  append(bytes: Buffer): number {
    const { buf, pos } = this.reserve(bytes.length);
    bytes.copy(buf, pos);
    return this.commit(bytes.length);
  }

  /** Hand the slab to the kernel (no fsync). Throws on I/O errors (disk full). */
  writePending(): void {
    if (this.slabUsed === 0 || this.closed) return;
    let written = 0;
    while (written < this.slabUsed) {
      written += this.fs.write(this.fd, this.slab, written, this.slabUsed - written, this.slabStart + written);
    }
    this.slabStart += this.slabUsed;
    this.slabUsed = 0;
    // A record larger than SLAB_MAX got a slab of its own: not kept.
    if (this.slab.length > SLAB_MAX) this.slab = Buffer.allocUnsafe(SLAB_MAX);
  }

  sync(callback: (err: NodeJS.ErrnoException | null) => void): void {
    this.fs.fdatasync(this.fd, callback);
  }

  /** Cut the file at `size` (a torn tail found by recovery). */
  truncate(size: number): void {
    this.writePending();
    this.fs.truncate(this.fd, size);
    this.size = size;
    this.slabStart = size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.slabUsed = 0;
    this.fs.close(this.fd);
  }
}
