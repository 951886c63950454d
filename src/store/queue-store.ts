import { dirname, join } from "node:path";
import type { Logger } from "../logger.js";
import { AppendFile } from "./append-file.js";
import type { Persister } from "./persister.js";
import {
  ACK_ENTRY_SIZE,
  bytesOf,
  DELIVERED_BIT,
  findNextRecord,
  FLAG_PERSISTENT,
  newSegment,
  parseSegmentHeader,
  readAckEntry,
  readRecord,
  RecordRefused,
  recordSize,
  writeAckEntry,
  writeRecord,
  SEGMENT_HEADER_SIZE,
  type RecordFields,
  type SegmentBytes,
  type SegmentFormat,
  type StoredRecord,
} from "./segment-format.js";
import { writeWholeFile, type StoreFs } from "./store-fs.js";

/** A message's place in a queue store: segment id × 2^32 + offset. */
export type StorePosition = number;
const SEGMENT_FACTOR = 0x1_0000_0000;
export const NOT_STORED = -1;

/** A message read back from the store. */
export interface StoredMessage {
  position: StorePosition;
  record: StoredRecord;
  /** Delivered before the restart without an ack. */
  redelivered: boolean;
}

/** Counts kept across all queue stores (damaged records found, for the logs and status). */
export interface StoreCounters {
  corruptRecords: number;
}

interface Segment {
  id: number;
  path: string;
  ackPath: string;
  /** Known once the segment is created or its header read (recovery). */
  format: SegmentFormat | undefined;
  /** Opened on first append or first read. */
  file: AppendFile | undefined;
  acks: AppendFile | undefined;
  /** Records in the segment, and how many of them need no delivery any more. */
  records: number;
  settled: number;
  /** From recovery: offsets acked (or transient) and offsets delivered, consulted when paging in. */
  skip?: Set<number>;
  delivered?: Set<number>;
  /** Damaged records found so far: offset -> where the next intact record starts. */
  holes?: Map<number, number>;
}

export interface QueueStoreOptions {
  dir: string;
  /** Durable queues fsync persistent messages and recover them; others only page to disk. */
  durable: boolean;
  segmentSize: number;
  persister: Persister;
  fs: StoreFs;
  log: Logger;
  counters: StoreCounters;
  /**
   * The last stop was not clean (a crash, a power loss): delivered markers are never fsynced, so
   * any recovered message may have been delivered, and all come back marked redelivered.
   */
  uncleanRecovery: boolean;
  /** Written into every segment header, so a header from another queue's file is recognised. */
  tag: number;
  /** Written to meta.json, so a data folder can be read by a person. */
  meta: Record<string, unknown>;
}

/**
 * The disk side of one queue: its messages in append-only segment files, and per segment a file
 * of ack and delivered markers. A segment whose records are all settled is deleted.
 *
 * The queue decides what is written: persistent messages of a durable queue always, and any
 * message once the queue pages (its backlog past the memory budget). Paged messages are read
 * back in order from `cursor` when the queue needs them. A damaged record costs that record
 * only: readers skip to the next intact one (segment-format.ts, findNextRecord).
 */
export class QueueStore {
  private readonly segments = new Map<number, Segment>();
  private writeSegment: Segment | undefined;
  private nextSegmentId = 1;
  /** Where the next page-in reads; undefined when nothing is paged. */
  private cursor: { segment: number; offset: number } | undefined;

  constructor(private readonly options: QueueStoreOptions) {
    if (options.durable && !options.fs.exists(options.dir)) {
      // The folder's name (and the queues/ folder's, when it is new too) must be durable before
      // a message confirmed into it is.
      const parent = dirname(options.dir);
      if (!options.fs.exists(parent)) options.persister.folderChanged(dirname(parent));
      options.persister.folderChanged(parent);
    }
    options.fs.mkdir(options.dir);
    const metaPath = join(options.dir, "meta.json");
    if (!options.fs.exists(metaPath)) writeWholeFile(options.fs, metaPath, JSON.stringify(options.meta) + "\n");
  }

  private get persister(): Persister {
    return this.options.persister;
  }

  private get fs(): StoreFs {
    return this.options.fs;
  }

  /**
   * Append a message; returns its position. `persistent` records are fsynced (durable queues).
   * Throws RecordRefused, having written nothing, when the record cannot be written faithfully
   * or the file cannot take it (a write error).
   */
  append(fields: RecordFields, paged: boolean): StorePosition {
    let segment: Segment;
    let size: number;
    let offset: number;
    try {
      segment = this.segmentForWrite();
      const file = segment.file!;
      size = recordSize(fields, segment.format!);
      const { buf, pos } = file.reserve(size);
      writeRecord(buf, pos, fields, segment.format!);
      offset = file.commit(size);
    } catch (err) {
      if (err instanceof RecordRefused) throw err;
      // An I/O error (the segment cannot be opened, or a full slab cannot be written out).
      this.persister.reportFailure(err as Error, this.writeSegment?.path ?? this.options.dir);
      throw new RecordRefused(`the store could not take the record: ${(err as Error).message}`);
    }
    segment.records++;
    this.persister.touched(segment.file!, this.options.durable && (fields.flags & FLAG_PERSISTENT) !== 0);
    if (paged && this.cursor === undefined) this.cursor = { segment: segment.id, offset };
    // A message kept in memory means the queue has nothing paged (once it pages, it pages every
    // new message). A cursor left behind the last paged-in record would otherwise read this one
    // back later as if paged: delivered twice, settled twice, and its segment deleted while it
    // still held unacked messages (found by the power-loss campaign).
    if (!paged) this.cursor = undefined;
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
    try {
      const acks = (segment.acks ??= AppendFile.open(this.fs, segment.ackPath));
      const { buf, pos } = acks.reserve(ACK_ENTRY_SIZE);
      writeAckEntry(buf, pos, delivered ? (offset | DELIVERED_BIT) >>> 0 : offset, segment.format!.ackSalt);
      acks.commit(ACK_ENTRY_SIZE);
      this.persister.touched(acks, false, this.options.durable);
    } catch (err) {
      // A marker that cannot be written only means the message may come back after a restart.
      this.persister.reportFailure(err as Error, segment.ackPath);
    }
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
      const file = (segment.file ??= AppendFile.open(this.fs, segment.path));
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
    const format = segment.format!;
    const start = this.cursor!.offset;
    const wanted = Math.min(file.size - start, 1024 * 1024);
    let buf = Buffer.allocUnsafe(wanted);
    let end = file.read(buf, wanted, start);
    let p = 0;
    let readWhole = false;
    while (out.length < max) {
      const result = readRecord(buf, p, end, format);
      if (result === "end") break;
      if (result === "short" && p > 0) break; // the next record continues past this chunk: read it next time
      if (result === "short" && end >= format.recordHeaderSize && !readWhole) {
        // A record bigger than the chunk: read it whole (once), when the file holds it.
        const length = buf.readUInt32BE(format.lengthAt) + format.recordHeaderSize;
        if (start + length <= file.size) {
          buf = Buffer.allocUnsafe(length);
          end = file.read(buf, length, start);
          readWhole = true;
          continue;
        }
      }
      if (result === "short" || result === "bad") {
        // Damaged (or a length that runs past the file): skip to the next intact record.
        this.cursor!.offset = this.skipDamaged(segment, file, start + p);
        return;
      }
      const offset = start + p;
      p += result.size;
      if (segment.skip?.has(offset)) continue;
      out.push({
        position: segment.id * SEGMENT_FACTOR + offset,
        record: result.record,
        redelivered: this.options.uncleanRecovery || (segment.delivered?.has(offset) ?? false),
      });
    }
    this.cursor!.offset = start + p;
  }

  /** Where reading resumes after the damaged record at `at`: the next intact record, or the file's end. */
  private skipDamaged(segment: Segment, file: AppendFile, at: number): number {
    const known = segment.holes?.get(at);
    if (known !== undefined) return known;
    const bytes: SegmentBytes = {
      size: file.size,
      read: (position, length) => {
        const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, file.size - position)));
        return buf.subarray(0, file.read(buf, buf.length, position));
      },
    };
    const next = findNextRecord(bytes, at, segment.format!) ?? file.size;
    (segment.holes ??= new Map()).set(at, next);
    this.reportDamaged(segment, at, next);
    return next;
  }

  private reportDamaged(segment: Segment, at: number, next: number): void {
    const count = ++this.options.counters.corruptRecords;
    this.options.log.error(
      { event: "store.corrupt_record", file: segment.path, at, skipped: next - at, count },
      "skipped a damaged record in a segment (checksum or structure does not verify)",
    );
  }

  private advanceCursor(): void {
    const ids = [...this.segments.keys()].filter((id) => id > this.cursor!.segment).sort((a, b) => a - b);
    const next = ids.length > 0 ? this.segments.get(ids[0]!)! : undefined;
    this.cursor = next !== undefined ? { segment: next.id, offset: next.format!.headerSize } : undefined;
  }

  private segmentForWrite(): Segment {
    let segment = this.writeSegment;
    if (segment !== undefined && segment.file!.size < this.options.segmentSize) return segment;
    if (segment !== undefined) {
      this.writeSegment = undefined;
      this.reclaim(segment);
    }
    segment = this.describeSegment(this.nextSegmentId++);
    const { header, format } = newSegment(segment.id, this.options.tag);
    segment.file = AppendFile.open(this.fs, segment.path);
    segment.format = format;
    if (segment.file.size > 0) segment.file.truncate(0); // left by a failed start: nothing in it counts
    segment.file.append(header);
    // The new file's name must be durable before messages confirmed into it are.
    if (this.options.durable) this.persister.folderChanged(this.options.dir);
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
      format: undefined,
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
    if (!this.removeFiles(segment.path, segment.ackPath) && segment.acks) {
      // The segment stays until the next start: its ack file must say that all of it is settled.
      try {
        segment.acks.writePending();
      } catch (err) {
        this.persister.reportFailure(err as Error, segment.ackPath);
      }
    }
    if (segment.file) this.persister.retire(segment.file);
    if (segment.acks) this.persister.retire(segment.acks);
  }

  /**
   * Delete files in order, the segment before its ack file. A failure (a failing or read-only
   * disk) costs only space, so it is logged, not thrown: the files left are deleted at the next
   * start, and an ack file is never removed while its segment stays (its acked records would
   * come back). Returns whether all went.
   */
  private removeFiles(...paths: string[]): boolean {
    for (const path of paths) {
      try {
        this.fs.remove(path);
      } catch (err) {
        this.options.log.warn(
          { event: "store.remove_failed", file: path, err: (err as Error).message },
          "could not delete a file with nothing live in it; it is deleted at the next start",
        );
        return false;
      }
    }
    return true;
  }

  /**
   * Read what a previous run left: count live messages per segment, skip damaged records, cut
   * torn tails, and set the cursor so that page-in returns them in order. Returns the number of
   * live messages.
   */
  recover(): number {
    const names = this.fs.list(this.options.dir);
    const ids = names
      .filter((f) => /^\d{8}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 8)))
      .sort((a, b) => a - b);
    this.removeOrphanAcks(names, new Set(ids));
    let live = 0;
    for (const id of ids) {
      const segment = this.describeSegment(id);
      segment.skip = new Set();
      segment.delivered = new Set();
      const data = this.fs.readFile(segment.path) ?? Buffer.alloc(0);
      const format = this.recoverHeader(segment, data);
      if (format !== undefined) {
        this.recoverAcks(segment, format);
        this.recoverRecords(segment, data, format);
      }
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      if (segment.format === undefined || segment.settled >= segment.records) {
        if (segment.format !== undefined) this.removeFiles(segment.path, segment.ackPath);
        continue;
      }
      this.segments.set(id, segment);
      live += segment.records - segment.settled;
      if (this.cursor === undefined) this.cursor = { segment: id, offset: segment.format.headerSize };
    }
    return live;
  }

  /**
   * An ack file whose segment is gone (a crash between the two deletions, or a power loss that
   * kept only one of them) would apply its markers to a new segment of the same number, settling
   * messages nobody acked: delete it, and number new segments past it even if the deletion is lost.
   */
  private removeOrphanAcks(names: string[], segmentIds: Set<number>): void {
    for (const name of names) {
      if (!/^\d{8}\.acks$/.test(name)) continue;
      const id = Number(name.slice(0, 8));
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      if (!segmentIds.has(id)) this.removeFiles(join(this.options.dir, name));
    }
  }

  private recoverAcks(segment: Segment, format: SegmentFormat): void {
    const data = this.fs.readFile(segment.ackPath);
    if (data === undefined) return;
    let p = 0;
    for (; p + ACK_ENTRY_SIZE <= data.length; p += ACK_ENTRY_SIZE) {
      const marker = readAckEntry(data, p, format.ackSalt);
      if (marker === undefined) break;
      if (marker & DELIVERED_BIT) segment.delivered!.add((marker & ~DELIVERED_BIT) >>> 0);
      else segment.skip!.add(marker);
    }
    if (p !== data.length) {
      this.options.log.warn({ event: "store.torn_tail", file: segment.ackPath, at: p, size: data.length }, "cut a torn ack file tail");
      // The cut is fsynced before anything is appended after it: otherwise a power loss could keep
      // the new entries but not the cut, and bring back the discarded ones behind them.
      const acks = AppendFile.open(this.fs, segment.ackPath);
      acks.truncate(p);
      this.fs.fsync(acks.fd);
      acks.close();
    }
  }

  /**
   * The segment's format from its header; undefined (the segment removed, or left alone when it
   * is not a segment at all) when the header never reached the disk.
   */
  private recoverHeader(segment: Segment, data: Buffer): SegmentFormat | undefined {
    const format = parseSegmentHeader(data);
    const foreign = format?.version === 3 && (format.segmentId !== segment.id || format.queueTag !== this.options.tag);
    if (format !== undefined && !foreign) return format;
    const tornHeader = data.length < SEGMENT_HEADER_SIZE && data.subarray(0, 4).equals(Buffer.from("WRNS").subarray(0, Math.min(4, data.length)));
    if (tornHeader || foreign) {
      // Created, but its first page never reached the disk (a crash before its first fsync): no
      // message in it was confirmed. A file system may show such a page as zeros or torn, or as
      // the old content of another file's block: a header naming another segment.
      this.options.log.warn(
        { event: "store.torn_tail", file: segment.path, at: 0, size: data.length },
        foreign ? "removed a segment whose first page holds another segment's header (never written)" : "removed a segment with a torn header",
      );
      this.removeFiles(segment.path, segment.ackPath);
      return undefined;
    }
    // Kept on disk for a person to look at; its number is not reused.
    this.options.log.error({ event: "store.bad_segment", file: segment.path }, "segment without a valid header: skipped");
    return undefined;
  }

  private recoverRecords(segment: Segment, data: Buffer, format: SegmentFormat): void {
    segment.format = format;
    const bytes = bytesOf(data);
    let p = format.headerSize;
    for (;;) {
      const result = readRecord(data, p, data.length, format);
      if (result === "end") break;
      if (typeof result === "string") {
        const next = findNextRecord(bytes, p, format);
        if (next === undefined) {
          this.options.log.warn({ event: "store.torn_tail", file: segment.path, at: p, size: data.length }, "cut a torn record at the end of a segment");
          const file = AppendFile.open(this.fs, segment.path);
          file.truncate(p);
          file.close();
          break;
        }
        (segment.holes ??= new Map()).set(p, next);
        this.reportDamaged(segment, p, next);
        p = next;
        continue;
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
    this.fs.remove(this.options.dir);
  }
}
