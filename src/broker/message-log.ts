import type { Message } from "./message.js";

/**
 * Where a message sits in its queue's log: segment number × 2^32 + byte offset. Positions grow in
 * append order, so a queue can serve them in order and put a requeued message back in its place.
 */
export type LogPosition = number;

/** Flag bits a queue keeps per message, beside its position. */
export const REDELIVERED = 1;
/** A persistent message of a durable queue: its delivery and settlement are recorded on disk. */
export const PERSISTENT = 2;
/** A message that may expire (its queue has a TTL, or it has an expiration): the queue looks at it when it reaches the head. */
export const EXPIRES = 4;
/**
 * A priority queue's message keeps its priority level (0-255) in the flag bits from this one up,
 * so the level travels with the message through unacked tracking and comes back on requeue.
 * Always 0 in queues without priorities. Whoever holds flags must keep at least 16 bits of them.
 */
export const PRIORITY_SHIFT = 8;

const EMPTY = Buffer.alloc(0);

/**
 * A stored message's bytes, located in the buffer that holds them (a segment). The log fills one
 * of these per read and the queue reuses it for every message it hands out, so a delivery costs
 * no object: the channel copies the ranges straight to the socket (frame-writer `contentFrom`).
 * Valid until the next read into it.
 */
export class StoredMessage {
  position: LogPosition = 0;
  /** REDELIVERED, PERSISTENT and EXPIRES bits, and a priority queue's level from PRIORITY_SHIFT up. */
  flags = 0;
  buf: Buffer = EMPTY;
  /** Where the time the message was appended sits in buf: 8 bytes, ms since the epoch, big-endian. */
  timeAt = 0;
  /** The exchange and routing key, two shortstrs as published (deliver and get-ok carry them so). */
  addressStart = 0;
  addressEnd = 0;
  /** The content header's property section, exactly as published. */
  propertiesStart = 0;
  propertiesEnd = 0;
  bodyStart = 0;
  bodyEnd = 0;
  /**
   * Set by a quorum queue when it hands the message out: how often it was returned, which its
   * x-delivery-count header says (on a redelivery, and on every basic.get). -1 in other queues: no header.
   */
  deliveryCount = -1;

  get redelivered(): boolean {
    return (this.flags & REDELIVERED) !== 0;
  }

  get bodySize(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** When the message was appended to its log (ms since the epoch): what its TTL counts from. */
  get enqueuedAt(): number {
    return this.buf.readUInt32BE(this.timeAt) * 0x1_0000_0000 + this.buf.readUInt32BE(this.timeAt + 4);
  }

  /** Views for the paths that want Buffers (basic.get-ok, returns): allocate, so not for deliveries. */
  address(): Buffer {
    return this.buf.subarray(this.addressStart, this.addressEnd);
  }

  properties(): Buffer {
    return this.buf.subarray(this.propertiesStart, this.propertiesEnd);
  }

  body(): Buffer {
    return this.buf.subarray(this.bodyStart, this.bodyEnd);
  }
}

/**
 * The storage contract of one queue, declared here by the broker and implemented by src/store
 * (a queue on another process or node would implement it too). Every message a queue holds is in
 * its log as bytes; the queue itself keeps only positions.
 */
export interface MessageLog {
  /**
   * Append a message; returns its position. `persistent` messages (of a durable queue) are made
   * durable by the next group commit. Throws, having stored nothing, when the log cannot take it
   * (the queue refuses the message and its publisher is nacked).
   */
  append(message: Message, persistent: boolean): LogPosition;
  /**
   * Locate the message at `position` (one the log returned and has not settled) into `into`.
   * False when its bytes, read back from disk, are damaged: the message is lost (logged), and the
   * queue settles it and goes on.
   */
  read(position: LogPosition, into: StoredMessage): boolean;
  /** A persistent message went to a consumer: after a crash it comes back marked redelivered. */
  delivered(position: LogPosition): void;
  /** A message is done with (acked, dropped, purged); `persistent` as given to append. */
  settle(position: LogPosition, persistent: boolean): void;
  /**
   * The messages a previous run left (durable queues), in order, each with its priority property
   * (0 when none) and how many times it was handed out before (each delivery that was not acked
   * ended in a return; after an unclean stop some deliveries may not have been recorded).
   */
  recover(found: (position: LogPosition, bodySize: number, redelivered: boolean, priority: number, deliveries: number) => void): void;
  /** Drop everything (the queue is deleted). */
  destroy(): void;
}

/**
 * The log of a stream queue (stream-queue.ts): the same segments, read by many consumers from
 * offsets, its messages never settled one by one. Retention drops whole segments from the front.
 */
export interface StreamLog extends MessageLog {
  /**
   * Delete every segment before the one holding `position` (never the one being written), whose
   * first message becomes the log's first. `firstOffset` is that message's offset: kept with the
   * log (durably, before any segment goes), so a restart numbers the messages left alike.
   */
  dropSegmentsBefore(position: LogPosition, firstOffset: number): void;
  /** The firstOffset of the last dropSegmentsBefore, this run's or (after recover) a previous one's; 0 when none. */
  readonly firstOffset: number;
}

/** What a queue needs to know about itself to get a log. */
export interface LogOwner {
  readonly name: string;
  readonly vhost: string;
  /** Durable and not exclusive: its persistent messages survive a restart. */
  readonly isDurable: boolean;
  /**
   * Set for the logs kept apart from the queues' own: a delayed-message exchange's held messages,
   * or the dead letters a quorum queue holds until their targets have them (at-least-once).
   */
  readonly logKind?: "delayed-exchange" | "dead-letters";
}

/** The storage layer as the broker sees it. */
export interface QueueStorage {
  /** A log for the queue (a durable queue's log finds what a previous run left). */
  open(queue: LogOwner): MessageLog;
  /** A stream's log, in segments of `segmentSize` bytes (x-stream-max-segment-size-bytes) or the store's own size when undefined. */
  openStream(queue: LogOwner, segmentSize: number | undefined): StreamLog;
  /** The group-commit epoch a persistent append made now belongs to (confirms wait for it). */
  readonly currentEpoch: number;
  /** Call back (never before returning) once everything appended up to `epoch` is on disk, or with the error when it never will be. */
  whenSynced(epoch: number, callback: (err?: Error) => void): void;
  /** A queue's log refused a message (it was not enqueued): logged, counted. */
  refused(queue: LogOwner, err: Error): void;
}
