import { PRIORITY_SHIFT, type LogPosition } from "./message-log.js";
import { ReadyIndex, type ReadyMessages } from "./ready-index.js";

/**
 * The ready messages of a priority queue (x-max-priority): one ReadyIndex per priority level in
 * use, served highest level first and, within a level, in the ReadyIndex's order (append order,
 * requeued messages back in their place). A message's level is in its flag bits from
 * PRIORITY_SHIFT up (the queue puts it there, capped at the queue's maximum); a level's ReadyIndex
 * keeps only the low flag bits, and the level is added back when the message is served.
 */
export class PriorityReadyIndex implements ReadyMessages {
  /** By level; created when a level is first used. */
  private readonly levels: Array<ReadyIndex | undefined>;
  /** No level above this one holds a message (-1: the index is empty). */
  private top = -1;
  private count = 0;
  shiftedFlags = 0;
  shiftedPosition: LogPosition = -1;
  peekedFlags = 0;

  constructor(maxPriority: number) {
    this.levels = new Array<ReadyIndex | undefined>(maxPriority + 1).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  push(position: LogPosition, flags: number): void {
    this.levelOf(flags).push(position, flags);
  }

  requeue(position: LogPosition, flags: number): void {
    this.levelOf(flags).requeue(position, flags);
  }

  peek(): LogPosition {
    const levels = this.levels;
    for (let level = this.top; level >= 0; level--) {
      const index = levels[level];
      if (index === undefined || index.length === 0) continue;
      const position = index.peek();
      this.peekedFlags = index.peekedFlags | (level << PRIORITY_SHIFT);
      return position;
    }
    return -1;
  }

  shift(): LogPosition {
    return this.take() ? this.shiftedPosition : -1;
  }

  take(): boolean {
    const levels = this.levels;
    for (let level = this.top; level >= 0; level--) {
      const index = levels[level];
      if (index === undefined || index.length === 0) continue;
      this.top = level;
      this.count--;
      index.take();
      this.shiftedPosition = index.shiftedPosition;
      this.shiftedFlags = index.shiftedFlags | (level << PRIORITY_SHIFT);
      return true;
    }
    this.top = -1;
    return false;
  }

  /** Visits level by level, highest first; the flags visited carry the level. */
  drain(visit: (position: LogPosition, flags: number) => void): void {
    for (let level = this.levels.length - 1; level >= 0; level--) {
      const bits = level << PRIORITY_SHIFT;
      this.levels[level]?.drain((position, flags) => visit(position, flags | bits));
    }
    this.top = -1;
    this.count = 0;
  }

  clear(): void {
    this.levels.fill(undefined);
    this.top = -1;
    this.count = 0;
  }

  private levelOf(flags: number): ReadyIndex {
    const level = Math.min(flags >>> PRIORITY_SHIFT, this.levels.length - 1);
    if (level > this.top) this.top = level;
    this.count++;
    return (this.levels[level] ??= new ReadyIndex());
  }
}
