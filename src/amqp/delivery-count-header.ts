import { AmqpReader } from "./field-reader.js";
import { CONTENT_ENCODING, CONTENT_TYPE, HEADERS } from "./raw-properties.js";

const KEY = Buffer.from("x-delivery-count", "latin1");
/** The entry: the key as a shortstr, type 'l' (signed 64-bit), the value. */
const ENTRY_SIZE = 1 + KEY.length + 1 + 8;
const reader = new AmqpReader();

/**
 * A copy of the raw property section buf[start, end) whose headers table carries
 * `x-delivery-count` = `count`, as RabbitMQ 3.10's quorum queues send it: a signed 64-bit integer
 * (type 'l') as the table's last entry, an entry of that name the publisher set removed, the
 * headers property added when the message had none; every other byte as published. Built for the
 * one delivery that needs it (a redelivery, a basic.get): the stored message is not touched.
 */
export function propertiesWithDeliveryCount(buf: Buffer, start: number, end: number, count: number): Buffer {
  const flags = end - start >= 2 ? buf.readUInt16BE(start) : 0;
  // Headers come after content-type and content-encoding (basic's properties never need a second flag word).
  let at = start + 2;
  if ((flags & CONTENT_TYPE) !== 0) at += 1 + buf[at]!;
  if ((flags & CONTENT_ENCODING) !== 0) at += 1 + buf[at]!;
  let entriesStart = at;
  let entriesEnd = at;
  if ((flags & HEADERS) !== 0) {
    entriesStart = at + 4;
    entriesEnd = entriesStart + buf.readUInt32BE(at);
  }
  const [skipStart, skipEnd] = findEntry(buf, entriesStart, entriesEnd);
  const entriesSize = entriesEnd - entriesStart - (skipEnd - skipStart) + ENTRY_SIZE;
  const out = Buffer.allocUnsafe(2 + (at - start - 2) + 4 + entriesSize + (end - entriesEnd));
  out.writeUInt16BE((flags | HEADERS) & 0xffff, 0);
  let p = 2 + buf.copy(out, 2, start + 2, at);
  p = out.writeUInt32BE(entriesSize, p);
  p += buf.copy(out, p, entriesStart, skipStart);
  p += buf.copy(out, p, skipEnd, entriesEnd);
  out[p++] = KEY.length;
  p += KEY.copy(out, p);
  out[p++] = 0x6c; // 'l'
  p = out.writeUInt32BE(Math.floor(count / 0x1_0000_0000), p);
  p = out.writeUInt32BE(count >>> 0, p);
  buf.copy(out, p, entriesEnd, end);
  return out;
}

/** Where an x-delivery-count entry sits among the table entries buf[start, end); [start, start) when there is none. */
function findEntry(buf: Buffer, start: number, end: number): [number, number] {
  let p = start;
  while (p < end) {
    const keyEnd = p + 1 + buf[p]!;
    reader.reset(buf, keyEnd, end);
    reader.fieldValue();
    if (buf[p] === KEY.length && buf.compare(KEY, 0, KEY.length, p + 1, keyEnd) === 0) return [p, reader.pos];
    p = reader.pos;
  }
  return [start, start];
}
