import { refuse, resourceName } from "../amqp/refusals.js";
import { withStreamOffset } from "../amqp/stream-offset-header.js";
import { coarseNow } from "./clock.js";
import type { Consumer } from "./consumer.js";
import type { Message } from "./message.js";
import { StoredMessage, type LogPosition, type QueueStorage, type StreamLog } from "./message-log.js";
import { Queue, type Enqueued, type QueueOptions } from "./queue.js";
import { streamRetention, type StreamRetention } from "./effective-settings.js";
import { streamStartOf, type StreamStart } from "./stream-arguments.js";

const SEGMENT_FACTOR = 0x1_0000_0000;
const MIN_CAPACITY = 64;

/** One segment of the stream, as retention weighs it. */
interface SegmentSpan {
  id: number;
  /** Messages in it. */
  count: number;
  /** Its size: where its last record starts, plus that record's body. */
  bytes: number;
  /** When its last message was appended (ms); -1 until looked up (recovered segments). */
  lastTime: number;
}

/** A stream consumer's place: the offset of the next message it gets. */
interface Cursor {
  next: number;
}

/**
 * A stream queue (x-queue-type: stream) as RabbitMQ 3.10 serves it over AMQP 0-9-1: an
 * append-only log that many consumers read, each from its own offset.
 *
 * Messages are the queue engine's segment log (StreamLog); the queue keeps the position of every
 * message kept, by offset (8 bytes a message), and each consumer a cursor. Nothing is removed
 * when a consumer acks: an ack only gives the consumer its credit (prefetch) back. Deliveries
 * carry the `x-stream-offset` header (stream-offset-header.ts).
 *
 * Retention (x-max-length-bytes, x-max-age) drops whole segments from the front, looked at when a
 * new segment starts, as RabbitMQ's does (a restart keeps what was kept); the offsets of the messages left do
 * not change, across restarts too (the log keeps the first offset).
 *
 * `x-stream-offset: last` starts at the last message. RabbitMQ starts at the first message of its
 * last chunk (a batch its writer took in at once), which on one node held the last message in
 * every run against RabbitMQ 3.10.8 but one (the last two then): a chunk of one is the closest.
 *
 * It is a Queue to the channel (routing, consumers, acks, delete); what a stream does not take is
 * refused as RabbitMQ refuses it: basic.get and queue.purge (540), nack and reject (540, by the
 * channel). The classic queue's code paths are not touched.
 */
export class StreamQueue extends Queue {
  private streamLog: StreamLog | undefined;
  private readonly logStorage: QueueStorage;
  /** positions[head + i] is the message of offset firstOffset + i. */
  private positions = new Float64Array(0);
  private head = 0;
  private count = 0;
  private firstOffset = 0;
  private readonly spans: SegmentSpan[] = [];
  private readonly cursors = new Map<Consumer, Cursor>();
  /** The message being delivered (reused). */
  private readonly reading = new StoredMessage();
  private delivering = false;
  private maxBytes: number | undefined;
  private maxAge: number | undefined;
  private segmentSize: number | undefined;

  constructor(name: string, vhost: string, options: QueueOptions, onUnused: (queue: Queue) => void, storage: QueueStorage) {
    super(name, vhost, options, onUnused, storage);
    this.logStorage = storage;
    this.setRetention(streamRetention(options.arguments));
  }

  /**
   * New retention (its arguments, or a policy's: effective-settings.ts), at declare and whenever
   * its policies change. Applied at once, as RabbitMQ's osiris writer re-evaluates retention when
   * it is updated. A new segment size applies to a log not opened yet (a stream declared under
   * the policy, or at the next start), as osiris reads it when its writer starts.
   */
  setRetention(retention: StreamRetention): void {
    this.maxBytes = retention.maxBytes;
    this.maxAge = retention.maxAge;
    if (this.streamLog === undefined) this.segmentSize = retention.segmentSize;
    else if (this.spans.length > 1) this.applyRetention();
  }

  /** How RabbitMQ's texts name the queue. */
  get resource(): string {
    return resourceName("queue", this.name, this.vhost);
  }

  /** The messages kept (the log's length, as list_queues and declare-ok count them). */
  override get messageCount(): number {
    return this.count;
  }

  /**
   * 0, as RabbitMQ 3.10 reports a stream's consumers in declare-ok (list_queues counts them:
   * `consumers`). Flow control holds no publisher for a stream, whose backlog is its whole log.
   */
  override get consumerCount(): number {
    return 0;
  }

  /** The offset the next message appended gets. */
  get nextOffset(): number {
    return this.firstOffset + this.count;
  }

  private openStreamLog(): StreamLog {
    return (this.streamLog ??= this.logStorage.openStream(this, this.segmentSize));
  }

  override recover(): number {
    const log = this.openStreamLog();
    log.recover((position, bodySize) => this.push(position, bodySize, -1));
    this.firstOffset = log.firstOffset;
    // Retention waits for the next new segment, as while running: a restart drops nothing.
    return this.count;
  }

  /**
   * Append a published message. Every message of a stream is kept on disk (RabbitMQ's streams
   * ignore delivery-mode), so its confirm waits for the group commit.
   */
  override enqueue(message: Message): Enqueued {
    let position: LogPosition;
    try {
      position = this.openStreamLog().append(message, true);
    } catch (err) {
      this.logStorage.refused(this, err as Error);
      return "refused";
    }
    if (this.push(position, message.bodySize, coarseNow())) this.applyRetention();
    if (this.consumers.length > 0) this.dispatch();
    if (this.onReadyAdded !== undefined) this.onReadyAdded(this);
    return this.isDurable ? "durable" : "memory";
  }

  /** Index a message appended at `position`; returns true when it starts a new segment. */
  private push(position: LogPosition, bodySize: number, time: number): boolean {
    if (this.head + this.count === this.positions.length) this.makeRoom();
    this.positions[this.head + this.count] = position;
    this.count++;
    const id = Math.floor(position / SEGMENT_FACTOR);
    const bytes = position - id * SEGMENT_FACTOR + bodySize;
    const last = this.spans[this.spans.length - 1];
    if (last !== undefined && last.id === id) {
      last.count++;
      last.bytes = bytes;
      last.lastTime = time;
      return false;
    }
    this.spans.push({ id, count: 1, bytes, lastTime: time });
    return true;
  }

  /** Room for one more position: the dropped front given back, or a larger array. */
  private makeRoom(): void {
    const length = this.positions.length;
    if (this.head > 0 && this.count <= length >>> 1) {
      this.positions.copyWithin(0, this.head, this.head + this.count);
    } else {
      const grown = new Float64Array(Math.max(MIN_CAPACITY, length * 2));
      grown.set(this.positions.subarray(this.head, this.head + this.count));
      this.positions = grown;
    }
    this.head = 0;
  }

  /**
   * Drop the oldest segments while the stream is over x-max-length-bytes or their newest message
   * is older than x-max-age; the segment being written always stays.
   */
  private applyRetention(): void {
    if (this.maxBytes === undefined && this.maxAge === undefined) return;
    const spans = this.spans;
    let total = 0;
    for (const span of spans) total += span.bytes;
    const cutoff = this.maxAge === undefined ? 0 : Date.now() - this.maxAge;
    let drop = 0;
    let dropped = 0;
    while (spans.length - drop > 1) {
      const span = spans[drop]!;
      const tooBig = this.maxBytes !== undefined && total > this.maxBytes;
      if (!tooBig && !(this.maxAge !== undefined && this.lastTimeOf(span, dropped) < cutoff)) break;
      total -= span.bytes;
      dropped += span.count;
      drop++;
    }
    if (drop === 0) return;
    spans.splice(0, drop);
    this.head += dropped;
    this.count -= dropped;
    this.firstOffset += dropped;
    this.streamLog!.dropSegmentsBefore(this.positions[this.head]!, this.firstOffset);
  }

  /** When the span's last message was appended; read from the log the first time (recovered segments). */
  private lastTimeOf(span: SegmentSpan, before: number): number {
    if (span.lastTime < 0) span.lastTime = this.timeAt(before + span.count - 1);
    return span.lastTime;
  }

  /** When the message at index i (from the first kept) was appended; -Infinity when its bytes are damaged. */
  private timeAt(i: number): number {
    const out = this.reading;
    return this.streamLog!.read(this.positions[this.head + i]!, out) ? out.enqueuedAt : Number.NEGATIVE_INFINITY;
  }

  /** The offset of the first message appended at or after `at` (ms); the next offset when none is. */
  private offsetAtTime(at: number): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.timeAt(mid) < at) low = mid + 1;
      else high = mid;
    }
    return this.firstOffset + low;
  }

  /** Where a consumer with this x-stream-offset starts. */
  private startOffset(start: StreamStart): number {
    switch (start.kind) {
      case "first":
        return this.firstOffset;
      case "last":
        return this.count === 0 ? this.nextOffset : this.nextOffset - 1;
      case "next":
        return this.nextOffset;
      case "offset":
        // Past the end, it waits for that offset (RabbitMQ too).
        return Math.max(start.offset, this.firstOffset);
      case "timestamp":
        return this.offsetAtTime(start.at);
      case "interval":
        return this.offsetAtTime(Date.now() - start.ms);
    }
  }

  /**
   * What basic.consume must have for a stream, checked before consume-ok in RabbitMQ's order:
   * a valid x-stream-offset (406, or 541 for what RabbitMQ's parser fails on), a consumer
   * prefetch (406), manual acks (540).
   */
  checkConsume(options: { noAck: boolean; prefetch: number; arguments: Consumer["options"]["arguments"] }): void {
    streamStartOf(options.arguments, this.resource);
    if (options.prefetch === 0) throw refuse.streamPrefetchNotSet(this.resource);
    if (options.noAck) throw refuse.notSupportedByStreams("automatic acknowledgement", this.resource);
  }

  override addConsumer(consumer: Consumer): void {
    this.cursors.set(consumer, { next: this.startOffset(streamStartOf(consumer.options.arguments, this.resource)) });
    this.pushConsumer(consumer);
    this.dispatch();
  }

  override removeConsumer(consumer: Consumer): void {
    this.cursors.delete(consumer);
    super.removeConsumer(consumer);
  }

  /** Each consumer with credit gets the messages from its cursor on, until its credit or the log runs out. */
  override dispatch(): void {
    // A delivery can call back in (a socket that drains at once); the outer loop carries on.
    if (this.delivering || this.deleted) return;
    this.delivering = true;
    try {
      const consumers = this.consumers;
      for (let i = 0; i < consumers.length; i++) {
        const consumer = consumers[i]!;
        const cursor = this.cursors.get(consumer);
        if (cursor !== undefined) this.feed(consumer, cursor);
      }
    } finally {
      this.delivering = false;
    }
  }

  private feed(consumer: Consumer, cursor: Cursor): void {
    const owner = consumer.owner;
    const out = this.reading;
    while (cursor.next < this.nextOffset && owner.canDeliver(consumer)) {
      // Retention may have dropped what the cursor pointed at: on from the first message kept.
      if (cursor.next < this.firstOffset) cursor.next = this.firstOffset;
      const offset = cursor.next++;
      const position = this.positions[this.head + offset - this.firstOffset]!;
      out.position = position;
      out.flags = 0;
      // A message damaged on disk is skipped (the log has said so).
      if (!this.streamLog!.read(position, out)) continue;
      const properties = withStreamOffset(out.buf, out.propertiesStart, out.propertiesEnd, offset);
      consumer.unacked++;
      this.unacked++;
      this.unackedBytes += out.bodySize;
      this.deliveries++;
      owner.deliverWithProperties(consumer, out, properties);
    }
  }

  /** An ack gives the consumer its credit back (the channel counts it); the message stays. */
  override settle(_position: LogPosition, _flags: number): void {}

  /** A closing channel's unacked stream deliveries go nowhere: each consumer has its own cursor. */
  override requeue(_position: LogPosition, _flags: number, _bodySize: number): void {}

  override reject(_position: LogPosition, _flags: number): void {}

  override get(_noAck: boolean): StoredMessage | undefined {
    throw refuse.notSupportedByStreams("basic.get", this.resource);
  }

  override purge(): number {
    throw refuse.notSupportedByStreams("queue.purge", this.resource);
  }

  /** Deleted: the log goes; delete-ok counts 0 messages, as RabbitMQ's for a stream. */
  override markDeleted(): number {
    this.deleted = true;
    this.stopTimers();
    this.streamLog?.destroy();
    this.streamLog = undefined;
    this.positions = new Float64Array(0);
    this.head = this.count = 0;
    this.spans.length = 0;
    this.cursors.clear();
    return 0;
  }
}
