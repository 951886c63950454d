import { crc32 } from "node:zlib";

/**
 * The on-disk format of message segments and their ack files (docs/storage.md).
 *
 * Segment file: an 8-byte header ("WRNS", u16 format version, u16 reserved), then records:
 *
 *     u32 payload length | u32 CRC-32 of the payload | payload
 *     payload = u8 flags | u64 published-at (ms) | shortstr exchange | shortstr routing key
 *               | u32 properties length | properties (raw, as published) | body (the rest)
 *
 * Ack file (one per segment): 8-byte entries, u32 marker | u32 the marker's bitwise complement.
 * marker = record offset, with the top bit set for "delivered" and clear for "acked". The
 * complement lets recovery tell a real entry from a torn or zero-filled tail.
 */
export const SEGMENT_MAGIC = 0x57524e53; // "WRNS"
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 8;
export const RECORD_HEADER_SIZE = 8;
export const ACK_ENTRY_SIZE = 8;
export const DELIVERED_BIT = 0x8000_0000;

/** Record flags. */
export const FLAG_PERSISTENT = 1;

export interface RecordFields {
  flags: number;
  publishedAt: number;
  exchange: string;
  routingKey: string;
  properties: Buffer;
  body: Buffer;
}

/** Upper bound of a record's size on disk, used to reserve room before writing it. */
export function maxRecordSize(exchange: string, routingKey: string, properties: Buffer, body: Buffer): number {
  return RECORD_HEADER_SIZE + 1 + 8 + 1 + exchange.length * 3 + 1 + routingKey.length * 3 + 4 + properties.length + body.length;
}

/** Write a record at buf[pos]; returns its size. */
export function writeRecord(buf: Buffer, pos: number, r: RecordFields): number {
  let p = pos + RECORD_HEADER_SIZE;
  buf[p++] = r.flags;
  buf.writeUInt32BE(Math.floor(r.publishedAt / 0x1_0000_0000), p);
  buf.writeUInt32BE(r.publishedAt >>> 0, p + 4);
  p += 8;
  p = writeShortStr(buf, p, r.exchange);
  p = writeShortStr(buf, p, r.routingKey);
  buf.writeUInt32BE(r.properties.length, p);
  p += 4;
  r.properties.copy(buf, p);
  p += r.properties.length;
  r.body.copy(buf, p);
  p += r.body.length;
  const payloadLength = p - pos - RECORD_HEADER_SIZE;
  buf.writeUInt32BE(payloadLength, pos);
  buf.writeUInt32BE(crc32(buf.subarray(pos + RECORD_HEADER_SIZE, p)), pos + 4);
  return p - pos;
}

function writeShortStr(buf: Buffer, p: number, s: string): number {
  const len = buf.write(s, p + 1, "utf8");
  buf[p] = len;
  return p + 1 + len;
}

/** The outcome of reading one record: the record, "torn" (incomplete or bad checksum), or "end". */
export type ReadResult = { record: RecordFields; size: number } | "torn" | "end";

/**
 * Read the record at buf[pos] (buf holds the file from some offset; `end` is where valid bytes stop).
 * Property and body views point into buf.
 */
export function readRecord(buf: Buffer, pos: number, end: number): ReadResult {
  if (pos === end) return "end";
  if (end - pos < RECORD_HEADER_SIZE) return "torn";
  const length = buf.readUInt32BE(pos);
  const start = pos + RECORD_HEADER_SIZE;
  if (length < 1 + 8 + 1 + 1 + 4 || start + length > end) return "torn";
  if (crc32(buf.subarray(start, start + length)) !== buf.readUInt32BE(pos + 4)) return "torn";
  let p = start;
  const flags = buf[p++]!;
  const publishedAt = buf.readUInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
  p += 8;
  const exLen = buf[p++]!;
  const exchange = buf.toString("utf8", p, p + exLen);
  p += exLen;
  const rkLen = buf[p++]!;
  const routingKey = buf.toString("utf8", p, p + rkLen);
  p += rkLen;
  const propsLen = buf.readUInt32BE(p);
  p += 4;
  const stop = start + length;
  if (p + propsLen > stop) return "torn";
  const properties = buf.subarray(p, p + propsLen);
  const body = buf.subarray(p + propsLen, stop);
  return { record: { flags, publishedAt, exchange, routingKey, properties, body }, size: RECORD_HEADER_SIZE + length };
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
  b.writeUInt32BE(SEGMENT_MAGIC, 0);
  b.writeUInt16BE(SEGMENT_VERSION, 4);
  return b;
}

export function writeAckEntry(buf: Buffer, pos: number, marker: number): void {
  buf.writeUInt32BE(marker >>> 0, pos);
  buf.writeUInt32BE(~marker >>> 0, pos + 4);
}
