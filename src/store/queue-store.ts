import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import { AppendFile } from "./append-file.js";
import type { Persister } from "./persister.js";
import {
  ACK_ENTRY_SIZE,
  DELIVERED_BIT,
  FLAG_PERSISTENT,
  maxRecordSize,
  readRecord,
  segmentHeader,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  writeAckEntry,
  writeRecord,
  type RecordFields,
} from "./segment-format.js";

/** A message's place in a queue store: segment id × 2^32 + offset. */
export type StorePosition = number;
const SEGMENT_FACTOR = 0x1_0000_0000;
export const NOT_STORED = -1;

/** A message read back from the store. */
export interface StoredMessage {
  position: StorePosition;
  record: RecordFields;
  /** Delivered before the restart without an ack. */
  redelivered: boolean;
}

interface Segment {
  id: number;
  path: string;
  ackPath: string;
  /** Opened on first append or first read. */
  file: AppendFile | undefined;
  acks: AppendFile | undefined;
  /** Records in the segment, and how many of them need no delivery any more. */
  records: number;
  settled: number;
  /** From recovery: offsets acked (or transient) and offsets delivered, consulted when paging in. */
  skip?: Set<number>;
  delivered?: Set<number>;
}

export interface QueueStoreOptions {
  dir: string;
  /** Durable queues fsync persistent messages and recover them; others only page to disk. */
  durable: boolean;
  segmentSize: number;
  persister: Persister;
  log: Logger;
  /** Written to meta.json, so a data folder can be read by a person. */
  meta: Record<string, unknown>;
}

/**
 * The disk side of one queue: its messages in append-only segment files, and per segment a file
 * of ack and delivered markers. A segment whose records are all settled is deleted.
 *
 * The queue decides what is written: persistent messages of a durable queue always, and any
 * message once the queue pages (its backlog past the memory budget). Paged messages are read
 * back in order from `cursor` when the queue needs them.
 */
export class QueueStore {
  private readonly segments = new Map<number, Segment>();
  private writeSegment: Segment | undefined;
  private nextSegmentId = 1;
  /** Where the next page-in reads; undefined when nothing is paged. */
  private cursor: { segment: number; offset: number } | undefined;

  constructor(private readonly options: QueueStoreOptions) {
    mkdirSync(options.dir, { recursive: true });
    const metaPath = join(options.dir, "meta.json");
    if (!existsSync(metaPath)) writeFileSync(metaPath, JSON.stringify(options.meta) + "\n");
  }

  private get persister(): Persister {
    return this.options.persister;
  }

  /** Append a message; returns its position. `persistent` records are fsynced (durable queues). */
  append(fields: RecordFields, paged: boolean): StorePosition {
    const segment = this.segmentForWrite();
    const file = segment.file!;
    const { buf, pos } = file.reserve(maxRecordSize(fields.exchange, fields.routingKey, fields.properties, fields.body));
    const size = writeRecord(buf, pos, fields);
    const offset = file.commit(size);
    segment.records++;
    this.persister.touched(file, this.options.durable && (fields.flags & FLAG_PERSISTENT) !== 0);
    if (paged && this.cursor === undefined) this.cursor = { segment: segment.id, offset };
    return segment.id * SEGMENT_FACTOR + offset;
  }

  /** A stored message went to a consumer (so after a crash it comes back redelivered). */
  delivered(position: StorePosition): void {
    this.mark(position, true);
  }

  /** A stored message is done with (acked, or dropped). */
  settle(position: StorePosition): void {
    this.mark(position, false);
  }

  private mark(position: StorePosition, delivered: boolean): void {
    const id = Math.floor(position / SEGMENT_FACTOR);
    const segment = this.segments.get(id);
    if (segment === undefined) return;
    const offset = position - id * SEGMENT_FACTOR;
    const acks = (segment.acks ??= AppendFile.open(segment.ackPath));
    const { buf, pos } = acks.reserve(ACK_ENTRY_SIZE);
    writeAckEntry(buf, pos, delivered ? (offset | DELIVERED_BIT) >>> 0 : offset);
    acks.commit(ACK_ENTRY_SIZE);
    this.persister.touched(acks, false);
    if (!delivered) {
      segment.settled++;
      this.reclaim(segment);
    }
  }

  /** Read up to `max` paged messages in order; fewer when the paged region ends. */
  pageIn(max: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    while (out.length < max && this.cursor !== undefined) {
      const segment = this.segments.get(this.cursor.segment);
      if (segment === undefined) {
        this.advanceCursor();
        continue;
      }
      const file = (segment.file ??= AppendFile.open(segment.path));
      if (this.cursor.offset >= file.size) {
        if (segment === this.writeSegment) {
          this.cursor = undefined;
          break;
        }
        this.advanceCursor();
        continue;
      }
      this.readChunk(segment, file, max, out);
    }
    return out;
  }

  /** Parse records from the cursor on, until `out` holds `max` or the chunk ends. */
  private readChunk(segment: Segment, file: AppendFile, max: number, out: StoredMessage[]): void {
    const start = this.cursor!.offset;
    const wanted = Math.min(file.size - start, 1024 * 1024);
    let buf = Buffer.allocUnsafe(wanted);
    let end = file.read(buf, wanted, start);
    let p = 0;
    while (out.length < max) {
      const result = readRecord(buf, p, end);
      if (result === "end") break;
      if (result === "torn") {
        if (p > 0) break; // the next record continues past this chunk: read it next time
        // A record bigger than the chunk: read it whole.
        const length = buf.readUInt32BE(0) + 8;
        if (start + length > file.size) throw new Error(`corrupt record at ${segment.path}:${start}`);
        buf = Buffer.allocUnsafe(length);
        end = file.read(buf, length, start);
        continue;
      }
      const offset = start + p;
      p += result.size;
      if (segment.skip?.has(offset)) continue;
      out.push({
        position: segment.id * SEGMENT_FACTOR + offset,
        record: result.record,
        redelivered: segment.delivered?.has(offset) ?? false,
      });
    }
    this.cursor!.offset = start + p;
  }

  private advanceCursor(): void {
    const ids = [...this.segments.keys()].filter((id) => id > this.cursor!.segment).sort((a, b) => a - b);
    this.cursor = ids.length > 0 ? { segment: ids[0]!, offset: SEGMENT_HEADER_SIZE } : undefined;
  }

  private segmentForWrite(): Segment {
    let segment = this.writeSegment;
    if (segment !== undefined && segment.file!.size < this.options.segmentSize) return segment;
    if (segment !== undefined) {
      this.writeSegment = undefined;
      this.reclaim(segment);
    }
    segment = this.describeSegment(this.nextSegmentId++);
    segment.file = AppendFile.open(segment.path);
    if (segment.file.size === 0) segment.file.append(segmentHeader());
    this.segments.set(segment.id, segment);
    this.writeSegment = segment;
    return segment;
  }

  /** A segment's bookkeeping, files not yet opened. */
  private describeSegment(id: number): Segment {
    const name = String(id).padStart(8, "0");
    return {
      id,
      path: join(this.options.dir, `${name}.seg`),
      ackPath: join(this.options.dir, `${name}.acks`),
      file: undefined,
      acks: undefined,
      records: 0,
      settled: 0,
    };
  }

  /** Delete a segment once every record in it is settled (never the one being written). */
  private reclaim(segment: Segment): void {
    if (segment.settled < segment.records || segment === this.writeSegment) return;
    this.segments.delete(segment.id);
    if (segment.file) this.persister.retire(segment.file);
    if (segment.acks) this.persister.retire(segment.acks);
    rmSync(segment.path, { force: true });
    rmSync(segment.ackPath, { force: true });
  }

  /**
   * Read what a previous run left: count live messages per segment, cut torn tails, and set the
   * cursor so that page-in returns them in order. Returns the number of live messages.
   */
  recover(): number {
    const ids = readdirSync(this.options.dir)
      .filter((f) => /^\d{8}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 8)))
      .sort((a, b) => a - b);
    let live = 0;
    for (const id of ids) {
      const segment = this.describeSegment(id);
      segment.skip = new Set();
      segment.delivered = new Set();
      this.recoverAcks(segment);
      this.recoverRecords(segment);
      this.nextSegmentId = id + 1;
      if (segment.settled >= segment.records) {
        rmSync(segment.path, { force: true });
        rmSync(segment.ackPath, { force: true });
        continue;
      }
      this.segments.set(id, segment);
      live += segment.records - segment.settled;
      if (this.cursor === undefined) this.cursor = { segment: id, offset: SEGMENT_HEADER_SIZE };
    }
    return live;
  }

  private recoverAcks(segment: Segment): void {
    if (!existsSync(segment.ackPath)) return;
    const data = readFileSync(segment.ackPath);
    let p = 0;
    for (; p + ACK_ENTRY_SIZE <= data.length; p += ACK_ENTRY_SIZE) {
      const marker = data.readUInt32BE(p);
      if ((~marker >>> 0) !== data.readUInt32BE(p + 4)) break;
      if (marker & DELIVERED_BIT) segment.delivered!.add((marker & ~DELIVERED_BIT) >>> 0);
      else segment.skip!.add(marker);
    }
    if (p !== data.length) {
      this.options.log.warn({ event: "store.torn_tail", file: segment.ackPath, at: p, size: data.length }, "cut a torn ack file tail");
      const acks = AppendFile.open(segment.ackPath);
      acks.truncate(p);
      acks.close();
    }
  }

  private recoverRecords(segment: Segment): void {
    const data = readFileSync(segment.path);
    if (data.length < SEGMENT_HEADER_SIZE || data.readUInt32BE(0) !== SEGMENT_MAGIC) {
      this.options.log.error({ event: "store.bad_segment", file: segment.path }, "segment without a valid header: skipped");
      return;
    }
    let p = SEGMENT_HEADER_SIZE;
    for (;;) {
      const result = readRecord(data, p, data.length);
      if (result === "end") break;
      if (result === "torn") {
        this.options.log.warn(
          { event: "store.torn_tail", file: segment.path, at: p, size: data.length },
          "cut a torn record at the end of a segment",
        );
        const file = AppendFile.open(segment.path);
        file.truncate(p);
        file.close();
        break;
      }
      segment.records++;
      if (segment.skip!.has(p)) segment.settled++;
      else if ((result.record.flags & FLAG_PERSISTENT) === 0 || !this.options.durable) {
        // Transient messages do not survive a restart.
        segment.skip!.add(p);
        segment.settled++;
      }
      p += result.size;
    }
  }

  /** Drop every paged message (purge): settle them without reading them into the queue. */
  dropPaged(): number {
    let dropped = 0;
    for (;;) {
      const batch = this.pageIn(4096);
      if (batch.length === 0) return dropped;
      for (const m of batch) this.settle(m.position);
      dropped += batch.length;
    }
  }

  /** Close every file and delete the queue's folder (queue deleted). */
  destroy(): void {
    for (const segment of this.segments.values()) {
      if (segment.file) this.persister.retire(segment.file);
      if (segment.acks) this.persister.retire(segment.acks);
    }
    this.segments.clear();
    this.writeSegment = undefined;
    this.cursor = undefined;
    rmSync(this.options.dir, { recursive: true, force: true });
  }
}
