import type { LogPosition } from "./message-log.js";

const MIN_CAPACITY = 16;
/**
 * The ring grows by doubling up to this many messages (576 KiB); a backlog past it goes on in
 * chunks of this size, so a large backlog costs 9 bytes a message plus one partly filled chunk
 * (a ring doubling to millions would hold up to twice that, and both arrays while it copies).
 */
const CHUNK = 1 << 16;

interface Chunk {
  positions: Float64Array<ArrayBuffer>;
  flags: Uint8Array<ArrayBuffer>;
}

/** Stands for no chunks; never written (the first chunk replaces it). */
const NO_SPILL: Chunk[] = [];
/** Stands for an empty requeue heap; never written (requeue() replaces it with arrays of the index's own). */
const NO_REQUEUES: number[] = [];
/** The ring of an index that holds nothing: a queue that never held a message allocates no arrays. */
const NO_POSITIONS = new Float64Array(0);
const NO_FLAGS = new Uint8Array(0);

/**
 * A queue's ready messages, as the queue uses them: ReadyIndex for ordinary queues, and
 * PriorityReadyIndex (priority-ready-index.ts) for queues with x-max-priority.
 */
export interface ReadyMessages {
  readonly length: number;
  /** Set by shift(): the flag bits of the message it returned. */
  readonly shiftedFlags: number;
  /** A new message, newer than every message in the index (or a quorum queue's returned one: it goes to the back too). */
  push(position: LogPosition, flags: number): void;
  /** A handed-out message coming back, to be served in its original place. */
  requeue(position: LogPosition, flags: number): void;
  /** Remove the next message to serve and return its position (its flags in shiftedFlags); -1 when empty. */
  shift(): LogPosition;
  /** The next message to serve, left in place (its flags in peekedFlags); -1 when empty. */
  peek(): LogPosition;
  /** Set by peek(): the flag bits of the message it named. */
  readonly peekedFlags: number;
  /** Set by take(): the position of the message it took. */
  readonly shiftedPosition: LogPosition;
  /**
   * shift() without returning the position (a double returned from a call V8 does not inline is
   * boxed): false when empty, else it is in shiftedPosition and its flags in shiftedFlags.
   */
  take(): boolean;
  /** Call `visit` with every message, then empty the index. */
  drain(visit: (position: LogPosition, flags: number) => void): void;
  /** Empty the index without visiting. */
  clear(): void;
}

/**
 * A queue's ready messages as positions in its log, served in position (append) order.
 *
 * Nine bytes a message and no object: fresh messages sit in a ring of two typed arrays (position,
 * flag bits), which doubles when full and halves when a quarter full, up to CHUNK messages; a
 * larger backlog goes on in chunks of CHUNK, each becoming the ring in turn as the ring empties.
 * A requeued message was handed out while it was the oldest ready one, so it is older than every
 * fresh message: requeued ones go to a binary min-heap by position, served before the ring.
 * Requeues in any order (one nack at a time, a whole channel closing) cost O(log n) each, never a
 * shift of the backlog.
 *
 * The ring and the heap are allocated on first use and dropped when emptied by drain() or clear(),
 * so the thousands of queues that hold nothing most of the time cost a few dozen bytes each.
 */
export class ReadyIndex implements ReadyMessages {
  private positions = NO_POSITIONS;
  private flagBits = NO_FLAGS;
  private head = 0;
  private count = 0;
  /**
   * Messages newer than every message in the ring, once the ring is a full CHUNK: chunks in order,
   * each CHUNK messages (the last one partly filled). When the ring empties, the first chunk becomes it.
   */
  private spill = NO_SPILL;
  private spilled = 0;
  /** Min-heap by position: heapPositions[0] is the oldest requeued message (the arrays are shared and empty until a requeue). */
  private heapPositions: number[] = NO_REQUEUES;
  private heapFlags: number[] = NO_REQUEUES;
  /** Set by shift(): the flag bits of the message it returned. */
  shiftedFlags = 0;
  /**
   * Set by shift(): the position it returned. Positions are doubles (segment × 2^32 + offset), and
   * a double returned from a call that is not inlined is boxed; read from here, it is not.
   */
  shiftedPosition: LogPosition = -1;
  /** Set by peek(): the flag bits of the message it named. */
  peekedFlags = 0;

  get length(): number {
    return this.count + this.spilled + this.heapPositions.length;
  }

  /** A new message, newer than every message in the index. */
  push(position: LogPosition, flags: number): void {
    if (this.spilled > 0 || this.count === CHUNK) {
      this.pushSpill(position, flags);
      return;
    }
    if (this.count === this.positions.length) this.resize(Math.max(MIN_CAPACITY, this.positions.length * 2));
    const i = (this.head + this.count) & (this.positions.length - 1);
    this.positions[i] = position;
    this.flagBits[i] = flags;
    this.count++;
  }

  /** A handed-out message coming back, to be served in its original place. */
  requeue(position: LogPosition, flags: number): void {
    if (this.heapPositions === NO_REQUEUES) {
      this.heapPositions = [];
      this.heapFlags = [];
    }
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
    return this.take() ? this.shiftedPosition : -1;
  }

  /** shift() without returning the position: false when empty, else it is in shiftedPosition (and its flags in shiftedFlags). */
  take(): boolean {
    if (this.heapPositions.length > 0) {
      this.popRequeued();
      return true;
    }
    if (this.count === 0) return false;
    const i = this.head;
    this.shiftedPosition = this.positions[i]!;
    this.shiftedFlags = this.flagBits[i]!;
    this.head = (i + 1) & (this.positions.length - 1);
    this.count--;
    if (this.spilled > 0) {
      if (this.count === 0) this.takeChunk();
    } else if (this.count < this.positions.length >>> 2 && this.positions.length > MIN_CAPACITY * 4) this.resize(this.positions.length >>> 1);
    return true;
  }

  /** A message past a full ring: into the last chunk (a new one when it is full). */
  private pushSpill(position: LogPosition, flags: number): void {
    const spill = this.spill;
    const fill = this.spilled - (spill.length - 1) * CHUNK;
    let last = spill[spill.length - 1];
    let at = fill;
    if (last === undefined || fill === CHUNK) {
      last = { positions: new Float64Array(CHUNK), flags: new Uint8Array(CHUNK) };
      if (spill === NO_SPILL) this.spill = [last];
      else spill.push(last);
      at = 0;
    }
    last.positions[at] = position;
    last.flags[at] = flags;
    this.spilled++;
  }

  /** The ring is empty and chunks wait: the oldest chunk becomes the ring (its size is CHUNK, a power of two). */
  private takeChunk(): void {
    const chunk = this.spill.shift()!;
    const inChunk = Math.min(CHUNK, this.spilled);
    this.positions = chunk.positions;
    this.flagBits = chunk.flags;
    this.head = 0;
    this.count = inChunk;
    this.spilled -= inChunk;
  }

  /** Call `visit` with every message (requeued ones first, not in order among themselves), then empty the index. */
  drain(visit: (position: LogPosition, flags: number) => void): void {
    const pos = this.heapPositions;
    const fl = this.heapFlags;
    this.heapPositions = NO_REQUEUES;
    this.heapFlags = NO_REQUEUES;
    for (let i = 0; i < pos.length; i++) visit(pos[i]!, fl[i]!);
    const mask = this.positions.length - 1;
    const positions = this.positions;
    const flags = this.flagBits;
    const head = this.head;
    const count = this.count;
    const spill = this.spill;
    let spilled = this.spilled;
    this.clearRing();
    for (let k = 0; k < count; k++) {
      const i = (head + k) & mask;
      visit(positions[i]!, flags[i]!);
    }
    for (const chunk of spill) {
      const n = Math.min(CHUNK, spilled);
      for (let i = 0; i < n; i++) visit(chunk.positions[i]!, chunk.flags[i]!);
      spilled -= n;
    }
  }

  /** Empty the index without visiting. */
  clear(): void {
    this.heapPositions = NO_REQUEUES;
    this.heapFlags = NO_REQUEUES;
    this.clearRing();
  }

  private clearRing(): void {
    this.positions = NO_POSITIONS;
    this.flagBits = NO_FLAGS;
    this.head = 0;
    this.count = 0;
    this.spill = NO_SPILL;
    this.spilled = 0;
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

  /** Take the oldest requeued message into shiftedPosition and shiftedFlags. */
  private popRequeued(): void {
    const pos = this.heapPositions;
    const fl = this.heapFlags;
    this.shiftedPosition = pos[0]!;
    this.shiftedFlags = fl[0]!;
    const last = pos.pop()!;
    const lastFlags = fl.pop()!;
    const n = pos.length;
    if (n === 0) {
      // The last requeued message: let the arrays go (they may have grown with a whole channel's unacked).
      this.heapPositions = NO_REQUEUES;
      this.heapFlags = NO_REQUEUES;
      return;
    }
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
  }
}
