import type { LogPosition } from "./message-log.js";

const MIN_CAPACITY = 16;

/**
 * A queue's ready messages as positions in its log, served in position (append) order.
 *
 * Nine bytes a message and no object: fresh messages sit in a ring of two typed arrays (position,
 * flag bits), which doubles when full and halves when a quarter full. A requeued message was
 * handed out while it was the oldest ready one, so it is older than every fresh message: requeued
 * ones go to a binary min-heap by position, served before the ring. Requeues in any order (one nack
 * at a time, a whole channel closing) cost O(log n) each, never a shift of the backlog.
 */
export class ReadyIndex {
  private positions = new Float64Array(MIN_CAPACITY);
  private flagBits = new Uint8Array(MIN_CAPACITY);
  private head = 0;
  private count = 0;
  /** Min-heap by position: heapPositions[0] is the oldest requeued message. */
  private heapPositions: number[] = [];
  private heapFlags: number[] = [];
  /** Set by shift(): the flag bits of the message it returned. */
  shiftedFlags = 0;
  /** Set by peek(): the flag bits of the message it named. */
  peekedFlags = 0;

  get length(): number {
    return this.count + this.heapPositions.length;
  }

  /** A new message, newer than every message in the index. */
  push(position: LogPosition, flags: number): void {
    if (this.count === this.positions.length) this.resize(this.positions.length * 2);
    const i = (this.head + this.count) & (this.positions.length - 1);
    this.positions[i] = position;
    this.flagBits[i] = flags;
    this.count++;
  }

  /** A handed-out message coming back, to be served in its original place. */
  requeue(position: LogPosition, flags: number): void {
    const pos = this.heapPositions;
    const fl = this.heapFlags;
    let i = pos.length;
    pos.push(position);
    fl.push(flags);
    // Sift up. Requeues in ascending order (the usual) stop at once.
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (pos[parent]! <= position) break;
      pos[i] = pos[parent]!;
      fl[i] = fl[parent]!;
      i = parent;
    }
    pos[i] = position;
    fl[i] = flags;
  }

  /** The oldest message's position, left in place (its flags in peekedFlags); -1 when empty. */
  peek(): LogPosition {
    if (this.heapPositions.length > 0) {
      this.peekedFlags = this.heapFlags[0]!;
      return this.heapPositions[0]!;
    }
    if (this.count === 0) return -1;
    this.peekedFlags = this.flagBits[this.head]!;
    return this.positions[this.head]!;
  }

  /** Remove the oldest message and return its position (its flags in shiftedFlags); -1 when empty. */
  shift(): LogPosition {
    if (this.heapPositions.length > 0) return this.popRequeued();
    if (this.count === 0) return -1;
    const i = this.head;
    const position = this.positions[i]!;
    this.shiftedFlags = this.flagBits[i]!;
    this.head = (i + 1) & (this.positions.length - 1);
    this.count--;
    if (this.count < this.positions.length >>> 2 && this.positions.length > MIN_CAPACITY * 4) this.resize(this.positions.length >>> 1);
    return position;
  }

  /** Call `visit` with every message (requeued ones first, not in order among themselves), then empty the index. */
  drain(visit: (position: LogPosition, flags: number) => void): void {
    const pos = this.heapPositions;
    const fl = this.heapFlags;
    this.heapPositions = [];
    this.heapFlags = [];
    for (let i = 0; i < pos.length; i++) visit(pos[i]!, fl[i]!);
    const mask = this.positions.length - 1;
    const positions = this.positions;
    const flags = this.flagBits;
    const head = this.head;
    const count = this.count;
    this.clearRing();
    for (let k = 0; k < count; k++) {
      const i = (head + k) & mask;
      visit(positions[i]!, flags[i]!);
    }
  }

  /** Empty the index without visiting. */
  clear(): void {
    this.heapPositions = [];
    this.heapFlags = [];
    this.clearRing();
  }

  private clearRing(): void {
    this.positions = new Float64Array(MIN_CAPACITY);
    this.flagBits = new Uint8Array(MIN_CAPACITY);
    this.head = 0;
    this.count = 0;
  }

  private resize(capacity: number): void {
    const positions = new Float64Array(capacity);
    const flags = new Uint8Array(capacity);
    const mask = this.positions.length - 1;
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & mask;
      positions[k] = this.positions[i]!;
      flags[k] = this.flagBits[i]!;
    }
    this.positions = positions;
    this.flagBits = flags;
    this.head = 0;
  }

  private popRequeued(): LogPosition {
    const pos = this.heapPositions;
    const fl = this.heapFlags;
    const top = pos[0]!;
    this.shiftedFlags = fl[0]!;
    const last = pos.pop()!;
    const lastFlags = fl.pop()!;
    const n = pos.length;
    if (n === 0) return top;
    // Sift the last element down from the root.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && pos[right]! < pos[left]! ? right : left;
      if (pos[child]! >= last) break;
      pos[i] = pos[child]!;
      fl[i] = fl[child]!;
      i = child;
    }
    pos[i] = last;
    fl[i] = lastFlags;
    return top;
  }
}
