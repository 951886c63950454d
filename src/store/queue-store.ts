import { dirname, join } from "node:path";
import { coarseNow } from "../broker/clock.js";
import type { Message } from "../broker/message.js";
import type { LogPosition, StoredMessage, StreamLog } from "../broker/message-log.js";
import type { Logger } from "../logger.js";
import { AppendFile } from "./append-file.js";
import type { Persister } from "./persister.js";
import type { SegmentCache } from "./segment-cache.js";
import { LENT_BODY_SIZE, SegmentFile } from "./segment-file.js";
import {
  ACK_ENTRY_SIZE,
  bytesOf,
  DELIVERED_BIT,
  findNextRecord,
  FLAG_PERSISTENT,
  locateRecord,
  newSegment,
  parseSegmentHeader,
  readAckEntry,
  RecordRefused,
  SEAL_MARKER,
  SEAL_SIZE,
  recordSize,
  SCAN_END,
  scanRecord,
  SEGMENT_HEADER_SIZE,
  writeAckEntry,
  writeRecord,
  writeSeal,
  type RecordFields,
  type SegmentFormat,
} from "./segment-format.js";
import { syncPath, writeWholeFile, type StoreFs } from "./store-fs.js";

const SEGMENT_FACTOR = 0x1_0000_0000;
const EMPTY = Buffer.alloc(0);
/** A stream's first kept segment and the offset of its first message (StreamLog.dropSegmentsBefore), in the queue's folder. */
const STREAM_HEAD_FILE = "stream-head.json";
/** A transient queue's write segment with nothing live in it starts over once this big: hot, empty queues stay small. */
const ROLL_EMPTY_TRANSIENT = 256 * 1024;

/** Counts kept across all queue stores (damaged records found, for the logs and status). */
export interface StoreCounters {
  corruptRecords: number;
}

interface Segment {
  id: number;
  path: string;
  ackPath: string;
  format: SegmentFormat;
  file: SegmentFile;
  /** Opened on the first marker (durable queues only). */
  acks: AppendFile | undefined;
  /** Records in the segment, and how many of them need no delivery any more. */
  records: number;
  settled: number;
  /** Checksums verified (written by this run, or recovered after a crash); else checked at each read. */
  verified: boolean;
  /**
   * A seal is in its ack file (segment-format.ts), or being written: every byte is on disk and no
   * record is torn, so recovery after a crash need not check its CRCs.
   */
  sealed: boolean;
}

/**
 * "before-overflow": a record that would take a segment past its size starts the next segment, so
 * a segment's buffer is allocated once at the whole size and reused whole by a later segment.
 * "once-reached": the segment takes records until it has reached its size (the last one runs
 * past it), as RabbitMQ's stream segments do.
 */
export type SegmentEnd = "before-overflow" | "once-reached";

export interface QueueStoreOptions {
  dir: string;
  /** Durable queues write every segment to its file, fsync persistent messages and recover them. */
  durable: boolean;
  segmentSize: number;
  /** Where a segment ends; a queue's: "before-overflow" (default), a stream's: "once-reached" (SegmentEnd). */
  segmentsEnd?: SegmentEnd;
  persister: Persister;
  cache: SegmentCache;
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
  /** Told when the queue's log is destroyed (its queue deleted). */
  onDestroy?: (store: QueueStore) => void;
  /** Ack markers are fsynced with the next group commit, not only at a clean stop (held dead letters: settled means forwarded). */
  syncAcks?: boolean;
}

/**
 * The log of one queue (MessageLog): every message it holds, as records in segments
 * (segment-format.ts), and per segment of a durable queue a file of ack and delivered markers. A
 * segment whose records are all settled is deleted.
 *
 * Durable queues write every segment to its file at once (the persister's group commit) and fsync
 * the persistent records; transient queues keep segments in memory and write one to a file in a
 * folder wiped at every start only when the segment cache evicts it. Either way the bytes are
 * served from the cached segment, read back whole after an eviction.
 */
export class QueueStore implements StreamLog {
  private readonly segments = new Map<number, Segment>();
  /** Streams: the offset of the first message kept (StreamLog). */
  firstOffset = 0;
  private writeSegment: Segment | undefined;
  private nextSegmentId = 1;
  /** The segment used last, so a run of reads and acks in one segment skips the map. */
  private lastRead: Segment | undefined;
  /** Where the buffer of the last read starts in its segment (reused: no object per read). */
  private readonly base = { at: 0, fromDisk: false };
  private readonly scanned = { flags: 0, bodySize: 0, priority: 0 };
  private readonly fields: RecordFields = {
    flags: 0,
    publishedAt: 0,
    address: EMPTY,
    properties: EMPTY,
    body: EMPTY,
    addressStart: 0,
    addressEnd: 0,
    propertiesStart: 0,
    propertiesEnd: 0,
    bodyStart: 0,
    bodyEnd: 0,
  };
  /** A transient queue's folder exists once a segment of it has been written out. */
  private folderReady: boolean;

  constructor(private readonly options: QueueStoreOptions) {
    this.folderReady = false;
    if (options.durable) this.prepareFolder();
  }

  private get persister(): Persister {
    return this.options.persister;
  }

  private get fs(): StoreFs {
    return this.options.fs;
  }

  /** Create the queue's folder and meta.json; for a durable queue, make the names durable too. */
  private prepareFolder(): void {
    if (this.folderReady) return;
    const { fs, dir } = this.options;
    if (this.options.durable && !fs.exists(dir)) {
      // The folder's name (and the queues/ folder's, when it is new too) must be durable before
      // a message confirmed into it is.
      const parent = dirname(dir);
      if (!fs.exists(parent)) this.persister.folderChanged(dirname(parent));
      this.persister.folderChanged(parent);
    }
    fs.mkdir(dir);
    const metaPath = join(dir, "meta.json");
    if (!fs.exists(metaPath)) writeWholeFile(fs, metaPath, JSON.stringify(this.options.meta) + "\n");
    this.folderReady = true;
  }

  /**
   * Append a message; returns its position. `persistent` records are fsynced (durable queues).
   * Throws RecordRefused, having stored nothing, when the record cannot be written faithfully or
   * the file cannot take it (a write error).
   */
  append(message: Message, persistent: boolean): LogPosition {
    // One reused object: an append allocates nothing.
    const fields = this.fields;
    fields.flags = persistent ? FLAG_PERSISTENT : 0;
    // The task's time, the one TTL checks compare with (broker/clock.ts).
    fields.publishedAt = coarseNow();
    // The message's byte ranges, not views of them: an append allocates nothing.
    fields.address = message.addressBuf;
    fields.addressStart = message.addressStart;
    fields.addressEnd = message.addressEnd;
    fields.properties = message.propertiesBuf;
    fields.propertiesStart = message.propertiesStart;
    fields.propertiesEnd = message.propertiesEnd;
    fields.body = message.bodyBuf;
    fields.bodyStart = message.bodyStart;
    fields.bodyEnd = message.bodyEnd;
    let segment: Segment;
    let offset: number;
    try {
      segment = this.segmentForWrite();
      let size = recordSize(fields, segment.format);
      if (segment.records > 0 && segment.file.size + size > this.options.segmentSize && this.options.segmentsEnd !== "once-reached") {
        segment = this.startWriteSegment(segment, true);
        size = recordSize(fields, segment.format);
      }
      const file = segment.file;
      const pos = file.reserve(size);
      writeRecord(file.bytes!, pos, fields, segment.format, this.options.durable);
      offset = file.commit(size);
      // Let go of the message's buffers (views of a socket chunk): the record holds a copy.
      fields.address = fields.properties = fields.body = EMPTY;
      fields.addressStart = fields.addressEnd = fields.propertiesStart = fields.propertiesEnd = fields.bodyStart = fields.bodyEnd = 0;
    } catch (err) {
      if (err instanceof RecordRefused) throw err;
      // An I/O error (the segment cannot be created).
      this.persister.reportFailure(err as Error, this.writeSegment?.path ?? this.options.dir);
      throw new RecordRefused(`the store could not take the record: ${(err as Error).message}`);
    }
    segment.records++;
    if (this.options.durable) this.persister.touched(segment.file, persistent);
    return segment.id * SEGMENT_FACTOR + offset;
  }

  /** The segment holding `position` (the last one used first: reads and acks come in runs). */
  private segmentOf(position: LogPosition): Segment | undefined {
    const id = Math.floor(position / SEGMENT_FACTOR);
    const last = this.lastRead;
    if (last !== undefined && last.id === id) return last;
    const segment = this.segments.get(id);
    if (segment !== undefined) this.lastRead = segment;
    return segment;
  }

  read(position: LogPosition, into: StoredMessage): boolean {
    const segment = this.segmentOf(position);
    if (segment === undefined) throw new Error(`no segment for position ${position} in ${this.options.dir}`);
    const offset = position - segment.id * SEGMENT_FACTOR;
    const file = segment.file;
    const format = segment.format;
    const base = this.base;
    let buf = file.bytesAt(offset, format.recordHeaderSize, base);
    if (base.fromDisk && offset + format.recordHeaderSize > base.at + buf.length) return this.damaged(segment, offset);
    const length = format.recordHeaderSize + buf.readUInt32BE(offset - base.at + format.lengthAt);
    if (offset + length > base.at + buf.length) {
      if (offset + length > file.size) return this.damaged(segment, offset);
      buf = file.bytesAt(offset, length, base);
    }
    const at = offset - base.at;
    // Bytes back from the disk, or recovered unverified, are checked now (a transient queue's carry no checksum).
    if ((base.fromDisk || !segment.verified) && this.options.durable && scanRecord(buf, at, at + length, format, true, this.scanned) <= 0) {
      return this.damaged(segment, offset);
    }
    locateRecord(buf, at, format, into);
    if (into.bodyEnd - into.bodyStart >= LENT_BODY_SIZE) file.lent = true;
    return true;
  }

  private damaged(segment: Segment, offset: number): false {
    this.reportDamaged(segment.path, offset, offset);
    return false;
  }

  delivered(position: LogPosition): void {
    const segment = this.segmentOf(position);
    if (segment !== undefined && this.options.durable) this.mark(segment, position, true);
  }

  settle(position: LogPosition, persistent: boolean): void {
    const segment = this.segmentOf(position);
    if (segment === undefined) return;
    // Only persistent records come back after a restart, so only they need an ack marker.
    if (persistent && this.options.durable) this.mark(segment, position, false);
    segment.settled++;
    this.reclaim(segment);
  }

  /** Append an ack (or delivered) marker for a persistent record of a durable queue. */
  private mark(segment: Segment, position: LogPosition, delivered: boolean): void {
    const offset = position - segment.id * SEGMENT_FACTOR;
    try {
      const acks = (segment.acks ??= AppendFile.open(this.fs, segment.ackPath));
      const { buf, pos } = acks.reserve(ACK_ENTRY_SIZE);
      writeAckEntry(buf, pos, delivered ? (offset | DELIVERED_BIT) >>> 0 : offset, segment.format.ackSalt);
      acks.commit(ACK_ENTRY_SIZE);
      this.persister.touched(acks, !delivered && this.options.syncAcks === true, true);
    } catch (err) {
      // A marker that cannot be written only means the message may come back after a restart.
      this.persister.reportFailure(err as Error, segment.ackPath);
    }
  }

  /**
   * A full segment takes no more appends: once the group commit covering all its bytes has
   * finished, write its seal, so that recovery after a crash walks it by headers only. Its last
   * records may be transient (never fsynced otherwise), so the segment joins the next commit.
   */
  private sealWhenSynced(segment: Segment): void {
    segment.sealed = true;
    this.persister.touched(segment.file, true);
    this.persister.whenSynced(this.persister.currentEpoch, (err) => {
      // Not sealed after a failed sync (nothing more is trusted), nor once deleted.
      if (err === undefined && this.segments.get(segment.id) === segment) this.appendSeal(segment);
    });
  }

  /** Append the seal to the segment's ack file (written with the next markers, not fsynced). */
  private appendSeal(segment: Segment): void {
    try {
      const acks = (segment.acks ??= AppendFile.open(this.fs, segment.ackPath));
      const { buf, pos } = acks.reserve(SEAL_SIZE);
      writeSeal(buf, pos, segment.file.size, segment.format.ackSalt);
      acks.commit(SEAL_SIZE);
      this.persister.touched(acks, false, true);
    } catch (err) {
      // Without its seal the segment is only checked more at the next recovery.
      this.persister.reportFailure(err as Error, segment.ackPath);
    }
  }

  /**
   * Seal every segment not sealed yet, durably (a clean stop, after the persister synced all it
   * wrote): so a crash in the next run walks none of them with CRC checks. One file open at a time.
   * Returns false when a seal could not be made durable.
   */
  sealForStop(): boolean {
    if (!this.options.durable) return true;
    for (const segment of this.segments.values()) {
      if (segment.sealed) continue;
      try {
        // Segments written by this run were synced by the persister; a recovered one (cut after a crash) may not be.
        const file = segment.file;
        if (file.fd >= 0) this.fs.fsync(file.fd);
        else {
          const fd = this.fs.open(segment.path, "r");
          try {
            this.fs.fsync(fd);
          } finally {
            this.fs.close(fd);
          }
        }
        const acks = segment.acks ?? AppendFile.open(this.fs, segment.ackPath);
        const { buf, pos } = acks.reserve(SEAL_SIZE);
        writeSeal(buf, pos, file.size, segment.format.ackSalt);
        acks.commit(SEAL_SIZE);
        acks.writePending();
        this.fs.fsync(acks.fd);
        if (segment.acks === undefined) acks.close();
        segment.sealed = true;
      } catch (err) {
        this.options.log.warn(
          { event: "store.seal_failed", file: segment.path, err: (err as Error).message },
          "could not seal a segment at stop; it is checked whole after a crash",
        );
        return false;
      }
    }
    return true;
  }

  private segmentForWrite(): Segment {
    const current = this.writeSegment;
    if (current !== undefined && current.file.bytes !== undefined && !this.shouldRoll(current)) return current;
    return this.startWriteSegment(current, current !== undefined && current.file.size >= this.options.segmentSize);
  }

  /**
   * A new segment to append to, after `current` (`full` when it ended for lack of room: the new one
   * then gets a buffer of the whole segment size at once). Apart from segmentForWrite, which runs
   * for every append: a function that creates a closure allocates its context on every call, early
   * return or not.
   */
  private startWriteSegment(current: Segment | undefined, full: boolean): Segment {
    if (current !== undefined) {
      this.writeSegment = undefined;
      this.reclaim(current);
      if (this.options.durable && this.segments.get(current.id) === current) this.sealWhenSynced(current);
    }
    const id = this.nextSegmentId++;
    const { header, format } = newSegment(id, this.options.tag);
    const names = this.segmentNames(id);
    const file = new SegmentFile(
      {
        fs: this.fs,
        path: names.path,
        cache: this.options.cache,
        maxCapacity: this.options.segmentSize,
        openFile: (how) => (how === "create" ? this.createFile(names.path) : this.fs.open(names.path, "r")),
        closeWhenEvicted: !this.options.durable,
      },
      { header, full },
    );
    const segment: Segment = { id, ...names, format, file, acks: undefined, records: 0, settled: 0, verified: true, sealed: false };
    this.segments.set(id, segment);
    this.writeSegment = segment;
    if (this.options.durable) {
      try {
        file.open();
      } catch (err) {
        this.segments.delete(id);
        this.writeSegment = undefined;
        file.close();
        throw err;
      }
      // The new file's name must be durable before messages confirmed into it are.
      this.persister.folderChanged(this.options.dir);
    }
    return segment;
  }

  /** Full, or (transient) empty and big enough that starting over frees memory. */
  private shouldRoll(segment: Segment): boolean {
    const size = segment.file.size;
    if (size >= this.options.segmentSize) return true;
    return !this.options.durable && segment.settled === segment.records && size >= ROLL_EMPTY_TRANSIENT;
  }

  /** Create a new segment's file (its folder first for a transient queue), empty. */
  private createFile(path: string): number {
    this.prepareFolder();
    const fd = this.fs.open(path, "a+");
    // Left by a failed start: nothing in it counts.
    if (this.fs.size(fd) > 0) this.fs.truncate(fd, 0);
    return fd;
  }

  private segmentNames(id: number): { path: string; ackPath: string } {
    const name = String(id).padStart(8, "0");
    return { path: join(this.options.dir, `${name}.seg`), ackPath: join(this.options.dir, `${name}.acks`) };
  }

  /**
   * Streams' retention (StreamLog): the segments before the one holding `position` go whole, their
   * records never settled one by one. The new head is written durably first, so that a crash
   * between the two never numbers the messages left from an older head.
   */
  dropSegmentsBefore(position: LogPosition, firstOffset: number): void {
    const keep = Math.floor(position / SEGMENT_FACTOR);
    this.firstOffset = firstOffset;
    if (this.options.durable) {
      const path = join(this.options.dir, STREAM_HEAD_FILE);
      try {
        writeWholeFile(this.fs, `${path}.tmp`, JSON.stringify({ segment: keep, offset: firstOffset }) + "\n");
        syncPath(this.fs, `${path}.tmp`);
        this.fs.rename(`${path}.tmp`, path);
        syncPath(this.fs, this.options.dir);
      } catch (err) {
        // Nothing is deleted without its head on disk: the segments stay until the next roll.
        this.persister.reportFailure(err as Error, path);
        return;
      }
    }
    for (const segment of [...this.segments.values()]) {
      if (segment.id >= keep || segment === this.writeSegment) continue;
      this.segments.delete(segment.id);
      if (this.lastRead === segment) this.lastRead = undefined;
      if (this.options.durable || segment.file.hasFile) this.removeFiles(segment.path, segment.ackPath);
      this.retire(segment);
    }
  }

  /** A stream's head as a previous run left it (StreamLog.dropSegmentsBefore); zeros when it never dropped a segment. */
  private readStreamHead(): { segment: number; offset: number } {
    const data = this.fs.readFile(join(this.options.dir, STREAM_HEAD_FILE));
    if (data === undefined) return { segment: 0, offset: 0 };
    try {
      const head = JSON.parse(data.toString("utf8")) as { segment?: unknown; offset?: unknown };
      if (typeof head.segment === "number" && typeof head.offset === "number") return { segment: head.segment, offset: head.offset };
    } catch {
      // Written whole and renamed into place: never torn. Another file's damage is logged below.
    }
    this.options.log.error({ event: "store.bad_stream_head", dir: this.options.dir }, "a stream's head file does not parse: offsets start at 0");
    return { segment: 0, offset: 0 };
  }

  /** Delete a segment once every record in it is settled (never the one being written). */
  private reclaim(segment: Segment): void {
    if (segment.settled < segment.records || segment === this.writeSegment) return;
    this.segments.delete(segment.id);
    if (this.lastRead === segment) this.lastRead = undefined;
    const onDisk = this.options.durable || segment.file.hasFile;
    if (onDisk && !this.removeFiles(segment.path, segment.ackPath) && segment.acks) {
      // The segment stays until the next start: its ack file must say that all of it is settled.
      try {
        segment.acks.writePending();
      } catch (err) {
        this.persister.reportFailure(err as Error, segment.ackPath);
      }
    }
    this.retire(segment);
  }

  private retire(segment: Segment): void {
    if (this.options.durable) this.persister.retire(segment.file);
    else segment.file.close();
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
   * Read what a previous run left: find the live records of every segment (damaged records
   * skipped, torn tails cut) and report them in order. Segments are kept in the cache while it
   * has room; the rest are read back when a consumer reaches them.
   */
  recover(found: (position: LogPosition, bodySize: number, redelivered: boolean, priority: number, deliveries: number) => void): void {
    if (!this.options.durable) return;
    const names = this.fs.list(this.options.dir);
    const ids = names
      .filter((f) => /^\d{8}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 8)))
      .sort((a, b) => a - b);
    this.removeOrphanAcks(names, new Set(ids));
    // One buffer for reading every segment of the queue: nothing recovered keeps a view of it, and
    // a fresh 8 MiB buffer per segment cost a large backlog's recovery a fifth of its time in allocation and GC.
    const scratch = { buffer: EMPTY };
    const head = this.readStreamHead();
    this.firstOffset = head.offset;
    for (const id of ids) {
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      if (id < head.segment) {
        // A stream's retention deleted it, and crashed before the file went.
        this.removeFiles(this.segmentNames(id).path, this.segmentNames(id).ackPath);
        continue;
      }
      this.recoverSegment(id, scratch, found);
    }
  }

  /** A segment's whole file, read into `scratch` (grown when too small); empty when there is none. */
  private readSegment(path: string, scratch: { buffer: Buffer }): Buffer {
    let fd: number;
    try {
      fd = this.fs.open(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY;
      throw err;
    }
    try {
      const size = this.fs.size(fd);
      if (scratch.buffer.length < size) scratch.buffer = Buffer.allocUnsafe(Math.max(size, this.options.segmentSize));
      const buf = scratch.buffer;
      let got = 0;
      while (got < size) {
        const n = this.fs.read(fd, buf, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      this.fs.close(fd);
    }
  }

  private recoverSegment(
    id: number,
    scratch: { buffer: Buffer },
    found: (position: LogPosition, bodySize: number, redelivered: boolean, priority: number, deliveries: number) => void,
  ): void {
    const names = this.segmentNames(id);
    const data = this.readSegment(names.path, scratch);
    const format = this.recoverHeader(id, names, data);
    if (format === undefined) return;
    const { acked, delivered, sealedLength } = this.recoverAcks(names.ackPath, format);
    // A sealed segment was whole on disk: after a crash too, its CRCs are checked when read, not here.
    const sealed = sealedLength === data.length;
    if (sealedLength !== undefined && !sealed) {
      this.options.log.warn(
        { event: "store.seal_mismatch", file: names.path, sealed: sealedLength, size: data.length },
        "a sealed segment changed size: checked whole",
      );
    }
    const verify = this.options.uncleanRecovery && !sealed;
    // Two arrays of numbers, not an object per record: a segment holds up to ~500,000 records.
    const offsets: number[] = [];
    const bodySizes: number[] = [];
    // A third, only once a record has a priority: most queues' messages have none.
    let priorities: number[] | undefined;
    let records = 0;
    const size = this.recoverRecords(names.path, data, format, verify, (offset, persistent, bodySize, priority) => {
      records++;
      // Transient messages do not survive a restart.
      if (persistent && !acked.has(offset)) {
        if (priority !== 0) priorities ??= new Array<number>(offsets.length).fill(0);
        offsets.push(offset);
        bodySizes.push(bodySize);
        priorities?.push(priority);
      }
    });
    if (offsets.length === 0) {
      this.removeFiles(names.path, names.ackPath);
      return;
    }
    // The bytes are not kept: a recovered backlog costs its index, and consumers read the
    // segments back in windows (a large backlog would otherwise fill the cache at startup).
    const file = new SegmentFile(
      {
        fs: this.fs,
        path: names.path,
        cache: this.options.cache,
        maxCapacity: this.options.segmentSize,
        openFile: () => this.fs.open(names.path, "r"),
        closeWhenEvicted: false,
      },
      { recovered: undefined, size },
    );
    this.segments.set(id, { id, ...names, format, file, acks: undefined, records, settled: records - offsets.length, verified: verify, sealed });
    const base = id * SEGMENT_FACTOR;
    for (let i = 0; i < offsets.length; i++) {
      const deliveries = delivered.get(offsets[i]!) ?? 0;
      found(base + offsets[i]!, bodySizes[i]!, this.options.uncleanRecovery || deliveries > 0, priorities?.[i] ?? 0, deliveries);
    }
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

  /**
   * The offsets an ack file marks acked, how many delivered markers each delivered one has (a
   * quorum queue's return count), and the length its seal names; a torn tail is cut.
   */
  private recoverAcks(ackPath: string, format: SegmentFormat): { acked: Set<number>; delivered: Map<number, number>; sealedLength: number | undefined } {
    const acked = new Set<number>();
    const delivered = new Map<number, number>();
    let sealedLength: number | undefined;
    const data = this.fs.readFile(ackPath);
    if (data === undefined) return { acked, delivered, sealedLength };
    let p = 0;
    for (; p + ACK_ENTRY_SIZE <= data.length; p += ACK_ENTRY_SIZE) {
      const marker = readAckEntry(data, p, format.ackSalt);
      if (marker === undefined) break;
      if (marker === SEAL_MARKER) {
        // The seal's second entry is the length; a seal torn between the two counts for nothing.
        const length = p + SEAL_SIZE <= data.length ? readAckEntry(data, p + ACK_ENTRY_SIZE, format.ackSalt) : undefined;
        if (length === undefined) break;
        sealedLength = length;
        p += ACK_ENTRY_SIZE;
      } else if (marker & DELIVERED_BIT) {
        const offset = (marker & ~DELIVERED_BIT) >>> 0;
        delivered.set(offset, (delivered.get(offset) ?? 0) + 1);
      } else acked.add(marker);
    }
    if (p !== data.length) {
      this.options.log.warn({ event: "store.torn_tail", file: ackPath, at: p, size: data.length }, "cut a torn ack file tail");
      // The cut is fsynced before anything is appended after it: otherwise a power loss could keep
      // the new entries but not the cut, and bring back the discarded ones behind them.
      const acks = AppendFile.open(this.fs, ackPath);
      acks.truncate(p);
      this.fs.fsync(acks.fd);
      acks.close();
    }
    return { acked, delivered, sealedLength };
  }

  /**
   * The segment's format from its header; undefined (the segment removed, or left alone when it
   * is not a segment at all) when the header never reached the disk.
   */
  private recoverHeader(id: number, names: { path: string; ackPath: string }, data: Buffer): SegmentFormat | undefined {
    const format = parseSegmentHeader(data);
    const foreign = format?.version === 3 && (format.segmentId !== id || format.queueTag !== this.options.tag);
    if (format !== undefined && !foreign) return format;
    const tornHeader = data.length < SEGMENT_HEADER_SIZE && data.subarray(0, 4).equals(Buffer.from("WRNS").subarray(0, Math.min(4, data.length)));
    if (tornHeader || foreign) {
      // Created, but its first page never reached the disk (a crash before its first fsync): no
      // message in it was confirmed. A file system may show such a page as zeros or torn, or as
      // the old content of another file's block: a header naming another segment.
      this.options.log.warn(
        { event: "store.torn_tail", file: names.path, at: 0, size: data.length },
        foreign ? "removed a segment whose first page holds another segment's header (never written)" : "removed a segment with a torn header",
      );
      this.removeFiles(names.path, names.ackPath);
      return undefined;
    }
    // Kept on disk for a person to look at; its number is not reused.
    this.options.log.error({ event: "store.bad_segment", file: names.path }, "segment without a valid header: skipped");
    return undefined;
  }

  /**
   * Walk the records, report each intact one, skip damaged ones and cut a torn tail. Returns the
   * segment's size after any cut. Checksums are verified here only when `verify`: after a crash,
   * for a segment not sealed (where torn and half-written records are expected); otherwise each
   * record is verified when first read.
   */
  private recoverRecords(
    path: string,
    data: Buffer,
    format: SegmentFormat,
    verify: boolean,
    record: (offset: number, persistent: boolean, bodySize: number, priority: number) => void,
  ): number {
    const bytes = bytesOf(data);
    const scanned = this.scanned;
    let p = format.headerSize;
    for (;;) {
      const size = scanRecord(data, p, data.length, format, verify, scanned);
      if (size === SCAN_END) return p;
      if (size < 0) {
        const next = findNextRecord(bytes, p, format);
        if (next === undefined) {
          this.options.log.warn({ event: "store.torn_tail", file: path, at: p, size: data.length }, "cut a torn record at the end of a segment");
          const file = AppendFile.open(this.fs, path);
          file.truncate(p);
          file.close();
          return p;
        }
        this.reportDamaged(path, p, next);
        p = next;
        continue;
      }
      record(p, (scanned.flags & FLAG_PERSISTENT) !== 0, scanned.bodySize, scanned.priority);
      p += size;
    }
  }

  private reportDamaged(path: string, at: number, next: number): void {
    const count = ++this.options.counters.corruptRecords;
    this.options.log.error(
      { event: "store.corrupt_record", file: path, at, skipped: next - at, count },
      "skipped a damaged record in a segment (checksum or structure does not verify)",
    );
  }

  /** Close every file and delete the queue's folder (queue deleted). */
  destroy(): void {
    for (const segment of this.segments.values()) this.retire(segment);
    this.segments.clear();
    this.writeSegment = undefined;
    this.lastRead = undefined;
    if (this.options.durable || this.folderReady) this.fs.remove(this.options.dir);
    this.options.onDestroy?.(this);
  }
}
