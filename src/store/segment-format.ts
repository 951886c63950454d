import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { decodeName } from "../amqp/name-bytes.js";
import { priorityIn } from "../amqp/raw-properties.js";

/**
 * The on-disk format of message segments and their ack files (docs/storage.md).
 *
 * Segment file, version 3 (written now): a 24-byte header ("WRNS", u16 version, u16 reserved,
 * 8 random sync bytes chosen per segment, u32 segment number, u32 queue tag), then records:
 *
 *     sync (8) | u32 CRC-32 of (length field + payload) | u32 payload length | payload
 *     payload = u8 flags | u64 published-at (ms) | shortstr exchange | shortstr routing key
 *               | u32 properties length | properties (raw, as published) | body (the rest)
 *
 * The sync bytes let a reader find the next record after a damaged one: clients cannot forge
 * them (they never see them), so a message body that imitates a record is never taken for one.
 * The segment number and queue tag tie the header to its file: after a power loss a file system
 * may show a block that was never written with the old content of a deleted file, and a header
 * that names another segment is such a block (nothing in the segment was synced, so nothing in it
 * was confirmed).
 *
 * Version 2 (read only): the same without segment number and queue tag (a 16-byte header), and
 * ack entries without the salt. Version 1 (read only): an 8-byte header, and records without the
 * sync bytes, whose CRC covers the payload only.
 *
 * Ack file (one per segment): 8-byte entries, u32 marker | u32 check. marker = record offset,
 * with the top bit set for "delivered" and clear for "acked"; check = the marker's bitwise
 * complement XOR the segment's salt (its first 4 sync bytes; 0 before version 3). The check tells a
 * real entry from a torn or zero-filled tail, and, salted, from a stale block of another
 * segment's ack file (whose entries would otherwise settle this segment's records).
 *
 * A seal is two entries: marker 0 (no record starts at offset 0: every header is longer), then
 * the segment's length as a marker. It is written once every byte of the segment is on disk (the
 * segment was full and its last fsync finished, or Warren stopped cleanly), and says that the
 * segment holds no torn record: recovery after a crash then walks it by its record headers and
 * checks each record's CRC when it is first read, as after a clean stop. A Warren without seals
 * reads the two entries as acks of offsets where no record starts.
 */
export const SEGMENT_MAGIC = 0x57524e53; // "WRNS"
export const SEGMENT_VERSION = 3;
export const ACK_ENTRY_SIZE = 8;
export const DELIVERED_BIT = 0x8000_0000;
const SYNC_SIZE = 8;
/** flags, published-at, two empty shortstrs, properties length. */
const MIN_PAYLOAD = 1 + 8 + 1 + 1 + 4;
/** Offsets (ack markers) must stay below the delivered bit. */
export const MAX_RECORD_SIZE = 0x7fff_0000;

/** Record flags. */
export const FLAG_PERSISTENT = 1;

/** How one segment file is laid out, from its header. */
export interface SegmentFormat {
  version: 1 | 2 | 3;
  /** Where the first record starts. */
  headerSize: number;
  /** Bytes before the payload: version 1 length, crc; version 2 sync, crc, length. */
  recordHeaderSize: number;
  /** Where the length and the checksum sit in a record's header. */
  lengthAt: number;
  crcAt: number;
  /** Version 2 and later: the bytes every record starts with. */
  sync: Buffer | undefined;
  /** XORed into ack entries' checks (version 3: the first 4 sync bytes; 0 before). */
  ackSalt: number;
  /** Version 3: the segment number and queue tag the header names. */
  segmentId?: number;
  queueTag?: number;
}

/**
 * What is written for a message. Each part is its whole buffer unless the range fields say
 * otherwise: the store's append passes ranges of the buffers a publish arrived in, no views.
 */
export interface RecordFields {
  flags: number;
  publishedAt: number;
  /** Exchange and routing key as two consecutive shortstrs, their bytes exactly as published. */
  address: Buffer;
  properties: Buffer;
  body: Buffer;
  addressStart?: number;
  addressEnd?: number;
  propertiesStart?: number;
  propertiesEnd?: number;
  bodyStart?: number;
  bodyEnd?: number;
}

/** A record read back: the written fields, and the names decoded (losslessly). */
export interface StoredRecord extends RecordFields {
  exchange: string;
  routingKey: string;
}

/** A record the store will not write, because it could not be read back as it was given. */
export class RecordRefused extends Error {
  override name = "RecordRefused";
}

/** Versions 2 and 3 lay records out alike; they differ in the header and the ack salt. */
const RECORDS_WITH_SYNC = { recordHeaderSize: SYNC_SIZE + 8, lengthAt: SYNC_SIZE + 4, crcAt: SYNC_SIZE } as const;
const HEADER_2 = 8 + SYNC_SIZE;
const HEADER_3 = 8 + SYNC_SIZE + 8;
/** The header size of segments written now. */
export const SEGMENT_HEADER_SIZE = HEADER_3;

/** A fresh segment's header, and its format; `queueTag` names the queue (QueueStore's tag). */
export function newSegment(segmentId: number, queueTag: number): { header: Buffer; format: SegmentFormat } {
  const header = Buffer.alloc(HEADER_3);
  header.writeUInt32BE(SEGMENT_MAGIC, 0);
  header.writeUInt16BE(SEGMENT_VERSION, 4);
  const sync = randomBytes(SYNC_SIZE);
  sync.copy(header, 8);
  header.writeUInt32BE(segmentId >>> 0, 16);
  header.writeUInt32BE(queueTag >>> 0, 20);
  return { header, format: { version: 3, headerSize: HEADER_3, ...RECORDS_WITH_SYNC, sync, ackSalt: sync.readUInt32BE(0), segmentId, queueTag } };
}

/** The format a segment's first bytes announce; undefined when they are not a segment header. */
export function parseSegmentHeader(buf: Buffer): SegmentFormat | undefined {
  if (buf.length < 8 || buf.readUInt32BE(0) !== SEGMENT_MAGIC) return undefined;
  const version = buf.readUInt16BE(4);
  if (version === 1) return { version: 1, headerSize: 8, recordHeaderSize: 8, lengthAt: 0, crcAt: 4, sync: undefined, ackSalt: 0 };
  if (version === 2 && buf.length >= HEADER_2) {
    return { version: 2, headerSize: HEADER_2, ...RECORDS_WITH_SYNC, sync: Buffer.from(buf.subarray(8, 8 + SYNC_SIZE)), ackSalt: 0 };
  }
  if (version === 3 && buf.length >= HEADER_3) {
    const sync = Buffer.from(buf.subarray(8, 8 + SYNC_SIZE));
    return {
      version: 3,
      headerSize: HEADER_3,
      ...RECORDS_WITH_SYNC,
      sync,
      ackSalt: sync.readUInt32BE(0),
      segmentId: buf.readUInt32BE(16),
      queueTag: buf.readUInt32BE(20),
    };
  }
  return undefined;
}

/**
 * The record's exact size on disk. Throws RecordRefused when it cannot be written faithfully:
 * an address that is not two shortstrs, or a record too large for an offset.
 */
export function recordSize(r: RecordFields, format: SegmentFormat): number {
  const a = r.address;
  const at = r.addressStart ?? 0;
  const addressLength = (r.addressEnd ?? a.length) - at;
  if (addressLength < 2 || a[at]! + 2 > addressLength || a[at]! + 2 + a[at + a[at]! + 1]! !== addressLength) {
    throw new RecordRefused("exchange and routing key are not two shortstrs");
  }
  const propertiesLength = (r.propertiesEnd ?? r.properties.length) - (r.propertiesStart ?? 0);
  const bodyLength = (r.bodyEnd ?? r.body.length) - (r.bodyStart ?? 0);
  const size = format.recordHeaderSize + 1 + 8 + addressLength + 4 + propertiesLength + bodyLength;
  if (size > MAX_RECORD_SIZE) throw new RecordRefused(`record of ${size} bytes is too large for a segment`);
  return size;
}

/**
 * Write a record (version 2 and 3 layout) at buf[pos] (room for recordSize(r) reserved); returns its
 * size. `checksum` false leaves the CRC zero: for logs no one ever reads back from a previous run
 * (transient queues), whose bytes never leave this process's hands unverified.
 */
export function writeRecord(buf: Buffer, pos: number, r: RecordFields, format: SegmentFormat, checksum = true): number {
  format.sync!.copy(buf, pos);
  const lengthAt = pos + format.lengthAt;
  const start = pos + format.recordHeaderSize;
  let p = start;
  buf[p++] = r.flags;
  buf.writeUInt32BE(Math.floor(r.publishedAt / 0x1_0000_0000), p);
  buf.writeUInt32BE(r.publishedAt >>> 0, p + 4);
  p += 8;
  p = copyInto(buf, p, r.address, r.addressStart ?? 0, r.addressEnd ?? r.address.length);
  const propertiesStart = r.propertiesStart ?? 0;
  const propertiesEnd = r.propertiesEnd ?? r.properties.length;
  buf.writeUInt32BE(propertiesEnd - propertiesStart, p);
  p += 4;
  p = copyInto(buf, p, r.properties, propertiesStart, propertiesEnd);
  p = copyInto(buf, p, r.body, r.bodyStart ?? 0, r.bodyEnd ?? r.body.length);
  buf.writeUInt32BE(p - start, lengthAt);
  // The length field sits right before the payload, so one pass covers both.
  buf.writeUInt32BE(checksum ? crc32(buf.subarray(lengthAt, p)) : 0, pos + format.crcAt);
  return p - pos;
}

/** What scanRecord found out about the record it walked over. */
export interface ScannedRecord {
  flags: number;
  bodySize: number;
  /** The message's priority property (0 when none): a priority queue recovers by it. */
  priority: number;
}

/** scanRecord's answers besides a record's size. */
export const SCAN_END = 0;
export const SCAN_SHORT = -1;
export const SCAN_BAD = -2;

/**
 * Walk over the record at buf[pos] without building anything (recovery of large backlogs): its
 * size, or SCAN_END, SCAN_SHORT, SCAN_BAD as readRecord's "end", "short", "bad"; its flags and body
 * size and priority into `out`. The sync bytes, the length and the structure are always checked; the checksum
 * only when `verify` (after a clean stop it is checked when the record is read instead).
 */
export function scanRecord(buf: Buffer, pos: number, end: number, format: SegmentFormat, verify: boolean, out: ScannedRecord): number {
  if (pos === end) return SCAN_END;
  const headerSize = format.recordHeaderSize;
  if (end - pos < headerSize) return SCAN_SHORT;
  const length = buf.readUInt32BE(pos + format.lengthAt);
  const start = pos + headerSize;
  const stop = start + length;
  if (stop > end) return SCAN_SHORT;
  if (length < MIN_PAYLOAD) return SCAN_BAD;
  const sync = format.sync;
  if (sync !== undefined) {
    for (let i = 0; i < SYNC_SIZE; i++) if (buf[pos + i] !== sync[i]) return SCAN_BAD;
  }
  if (verify) {
    const covered = format.version !== 1 ? pos + format.lengthAt : start;
    if (crc32(buf.subarray(covered, stop)) !== buf.readUInt32BE(pos + format.crcAt)) return SCAN_BAD;
  }
  let p = start + 9; // flags, published-at
  p += 1 + buf[p]!; // exchange
  if (p + 1 + 4 > stop) return SCAN_BAD;
  p += 1 + buf[p]!; // routing key
  if (p + 4 > stop) return SCAN_BAD;
  const propertiesEnd = p + 4 + buf.readUInt32BE(p);
  if (propertiesEnd > stop) return SCAN_BAD;
  out.flags = buf[start]!;
  out.bodySize = stop - propertiesEnd;
  out.priority = priorityIn(buf, p + 4, propertiesEnd);
  return headerSize + length;
}

/** Copy `src` to buf[pos]; returns the position after it. Short runs copy faster in JS than through Buffer#copy's native call. */
function copyInto(buf: Buffer, pos: number, src: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n > 32) return pos + src.copy(buf, pos, start, end);
  for (let i = 0; i < n; i++) buf[pos + i] = src[start + i]!;
  return pos + n;
}

/** Where a record's parts lie in its buffer (see locateRecord). */
export interface RecordLayout {
  buf: Buffer;
  /** The published-at field (8 bytes). */
  timeAt: number;
  addressStart: number;
  addressEnd: number;
  propertiesStart: number;
  propertiesEnd: number;
  bodyStart: number;
  bodyEnd: number;
}

/**
 * Locate the parts of the record at buf[pos] into `into`, without checking it: only for records
 * this process wrote or recovery has verified. Any version (the payload is laid out alike).
 */
export function locateRecord(buf: Buffer, pos: number, format: SegmentFormat, into: RecordLayout): void {
  const start = pos + format.recordHeaderSize;
  const stop = start + buf.readUInt32BE(pos + format.lengthAt);
  const addressStart = start + 9; // after flags and published-at
  const routingKeyAt = addressStart + 1 + buf[addressStart]!;
  const addressEnd = routingKeyAt + 1 + buf[routingKeyAt]!;
  const propertiesStart = addressEnd + 4;
  const propertiesEnd = propertiesStart + buf.readUInt32BE(addressEnd);
  into.buf = buf;
  into.timeAt = start + 1;
  into.addressStart = addressStart;
  into.addressEnd = addressEnd;
  into.propertiesStart = propertiesStart;
  into.propertiesEnd = propertiesEnd;
  into.bodyStart = propertiesEnd;
  into.bodyEnd = stop;
}

/**
 * The outcome of reading one record: the record; "end" (no bytes left); "short" (the bytes stop
 * before the record's header or its claimed length does); "bad" (complete, but its sync bytes or
 * checksum do not match, or it does not parse).
 */
export type ReadResult = { record: StoredRecord; size: number } | "end" | "short" | "bad";

/**
 * Read the record at buf[pos] (buf holds the file from some offset; `end` is where valid bytes stop).
 * Property, body and address views point into buf.
 */
export function readRecord(buf: Buffer, pos: number, end: number, format: SegmentFormat): ReadResult {
  if (pos === end) return "end";
  const headerSize = format.recordHeaderSize;
  if (end - pos < headerSize) return "short";
  const length = buf.readUInt32BE(pos + format.lengthAt);
  const start = pos + headerSize;
  if (start + length > end) return "short";
  if (length < MIN_PAYLOAD) return "bad";
  if (format.version !== 1 && buf.compare(format.sync!, 0, SYNC_SIZE, pos, pos + SYNC_SIZE) !== 0) return "bad";
  // Versions 2 and 3 cover the length field too; version 1 the payload only.
  const covered = format.version !== 1 ? pos + format.lengthAt : start;
  if (crc32(buf.subarray(covered, start + length)) !== buf.readUInt32BE(pos + format.crcAt)) return "bad";
  const stop = start + length;
  let p = start;
  const flags = buf[p++]!;
  const publishedAt = buf.readUInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
  p += 8;
  const addressStart = p;
  const exLen = buf[p++]!;
  if (p + exLen + 1 + 4 > stop) return "bad";
  const exchange = decodeName(buf, p, p + exLen);
  p += exLen;
  const rkLen = buf[p++]!;
  if (p + rkLen + 4 > stop) return "bad";
  const routingKey = decodeName(buf, p, p + rkLen);
  p += rkLen;
  const address = buf.subarray(addressStart, p);
  const propsLen = buf.readUInt32BE(p);
  p += 4;
  if (p + propsLen > stop) return "bad";
  const properties = buf.subarray(p, p + propsLen);
  const body = buf.subarray(p + propsLen, stop);
  return { record: { flags, publishedAt, address, exchange, routingKey, properties, body }, size: headerSize + length };
}

/** Random access to a segment's bytes: a whole file in memory, or reads from an open file. */
export interface SegmentBytes {
  readonly size: number;
  /** Up to `length` bytes from `position` (fewer at the end of the file). */
  read(position: number, length: number): Buffer;
}

const SCAN_WINDOW = 1024 * 1024;

/**
 * Where the first intact record after the damaged one at `badAt` starts, or undefined when none
 * follows (the rest of the segment is a torn tail). Version 2 scans for the sync bytes and takes
 * the first candidate whose checksum verifies; version 1 can only trust the length field, and
 * does so when the record it points to verifies.
 */
export function findNextRecord(src: SegmentBytes, badAt: number, format: SegmentFormat): number | undefined {
  if (format.version === 1) {
    const header = src.read(badAt, 8);
    if (header.length < 8) return undefined;
    const next = badAt + 8 + header.readUInt32BE(format.lengthAt);
    return next < src.size && verifiesAt(src, next, format) ? next : undefined;
  }
  const sync = format.sync!;
  let from = badAt + 1;
  while (from < src.size) {
    const window = src.read(from, SCAN_WINDOW + SYNC_SIZE - 1);
    let at = window.indexOf(sync);
    while (at >= 0) {
      if (verifiesAt(src, from + at, format)) return from + at;
      at = window.indexOf(sync, at + 1);
    }
    if (window.length < SCAN_WINDOW + SYNC_SIZE - 1) return undefined;
    from += SCAN_WINDOW;
  }
  return undefined;
}

function verifiesAt(src: SegmentBytes, pos: number, format: SegmentFormat): boolean {
  const header = src.read(pos, format.recordHeaderSize);
  if (header.length < format.recordHeaderSize) return false;
  const length = header.readUInt32BE(format.lengthAt);
  if (pos + format.recordHeaderSize + length > src.size) return false;
  const whole = src.read(pos, format.recordHeaderSize + length);
  return typeof readRecord(whole, 0, whole.length, format) === "object";
}

/** A segment held in memory (recovery reads each file whole). */
export function bytesOf(buf: Buffer): SegmentBytes {
  return { size: buf.length, read: (position, length) => buf.subarray(position, Math.min(buf.length, position + length)) };
}

/** The first entry of a seal (see above); the second is the sealed length. */
export const SEAL_MARKER = 0;
/** A seal's size in an ack file. */
export const SEAL_SIZE = 2 * ACK_ENTRY_SIZE;

/** Write a seal of a segment `length` bytes long at buf[pos] (SEAL_SIZE bytes). */
export function writeSeal(buf: Buffer, pos: number, length: number, salt: number): void {
  writeAckEntry(buf, pos, SEAL_MARKER, salt);
  writeAckEntry(buf, pos + ACK_ENTRY_SIZE, length, salt);
}

/** Write an ack file entry for `marker`, checked with the segment's salt. */
export function writeAckEntry(buf: Buffer, pos: number, marker: number, salt: number): void {
  buf.writeUInt32BE(marker >>> 0, pos);
  buf.writeUInt32BE((~marker ^ salt) >>> 0, pos + 4);
}

/** The marker of the ack entry at data[pos], or undefined when its check fails (torn, zeroed, stale). */
export function readAckEntry(data: Buffer, pos: number, salt: number): number | undefined {
  const marker = data.readUInt32BE(pos);
  return (~marker ^ salt) >>> 0 === data.readUInt32BE(pos + 4) ? marker : undefined;
}
