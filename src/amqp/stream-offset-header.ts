import { HEADERS, propertyAt } from "./raw-properties.js";

/** cluster-id, the last basic property: streams do not keep it (RabbitMQ 3.10 stores messages as AMQP 1.0, which has no field for it). */
const CLUSTER_ID = 0x0004;
const KEY = Buffer.from("x-stream-offset", "latin1");

/** One headers-table entry: its key's bytes and the whole entry's, in the buffer they were read from. */
interface Entry {
  keyStart: number;
  keyEnd: number;
  start: number;
  end: number;
}

/**
 * The property section a stream delivers a message with: the published one with `x-stream-offset`
 * (a long, the message's offset) in its headers, as RabbitMQ 3.10 sends it. RabbitMQ keeps a
 * stream's messages as AMQP 1.0 and converts them back for each delivery, which shows on the
 * wire: header values that are tables or arrays are gone, the headers are sorted by key (bytewise,
 * stable), an x-stream-offset header the publisher set is replaced, and cluster-id is dropped;
 * every other property and header value comes back byte for byte.
 *
 * Builds a new buffer per delivery: streams only, never the classic queues' path.
 */
export function withStreamOffset(buf: Buffer, start: number, end: number, offset: number): Buffer {
  const flags = end - start >= 2 ? (buf[start]! << 8) | buf[start + 1]! : 0;
  // Where the headers table goes: after content-type and content-encoding (or at the section's end).
  const headersAt = flags === 0 ? end : afterEncoding(buf, start, end, flags);
  const oldTable = propertyAt(buf, start, end, HEADERS);
  if (oldTable < 0 && (flags & CLUSTER_ID) === 0) return withOffsetOnly(buf, start, end, flags, headersAt, offset);
  const entries: Entry[] = oldTable < 0 ? [] : tableEntries(buf, oldTable + 4, Math.min(end, oldTable + 4 + buf.readUInt32BE(oldTable)));
  const restAt = oldTable < 0 ? headersAt : Math.min(end, oldTable + 4 + buf.readUInt32BE(oldTable));
  const clusterAt = propertyAt(buf, start, end, CLUSTER_ID);
  const restEnd = clusterAt < 0 ? end : clusterAt;

  // The publisher's x-stream-offset is replaced in place, then all sorted by key.
  const ours: Entry = { keyStart: -1, keyEnd: -1, start: -1, end: -1 };
  const replaced = entries.findIndex((e) => sameKey(buf, e, KEY));
  if (replaced >= 0) entries[replaced] = ours;
  else entries.push(ours);
  const keyOf = (e: Entry): Buffer => (e === ours ? KEY : buf.subarray(e.keyStart, e.keyEnd));
  const sorted = entries.map((e, i) => ({ e, i })).sort((a, b) => Buffer.compare(keyOf(a.e), keyOf(b.e)) || a.i - b.i);

  let tableSize = 0;
  for (const e of entries) tableSize += e === ours ? 1 + KEY.length + 1 + 8 : e.end - e.start;
  const out = Buffer.allocUnsafe(2 + (headersAt - start - 2 > 0 ? headersAt - start - 2 : 0) + 4 + tableSize + (restEnd - restAt));
  out.writeUInt16BE((flags | HEADERS) & ~CLUSTER_ID & 0xffff, 0);
  let p = 2;
  if (headersAt > start + 2) p += buf.copy(out, p, start + 2, headersAt);
  out.writeUInt32BE(tableSize, p);
  p += 4;
  for (const { e } of sorted) {
    if (e === ours) {
      out[p++] = KEY.length;
      p += KEY.copy(out, p);
      out[p++] = 0x6c; // 'l': a signed 64-bit integer
      out.writeBigInt64BE(BigInt(offset), p);
      p += 8;
    } else p += buf.copy(out, p, e.start, e.end);
  }
  if (restEnd > restAt) buf.copy(out, p, restAt, restEnd);
  return out;
}

/** The common case, a message without headers (nor cluster-id): a table of x-stream-offset alone goes in. */
function withOffsetOnly(buf: Buffer, start: number, end: number, flags: number, headersAt: number, offset: number): Buffer {
  const before = Math.max(0, headersAt - start - 2);
  const tableSize = 1 + KEY.length + 1 + 8;
  const out = Buffer.allocUnsafe(2 + before + 4 + tableSize + (end - headersAt));
  out.writeUInt16BE((flags | HEADERS) & 0xffff, 0);
  let p = before > 0 ? 2 + buf.copy(out, 2, start + 2, start + 2 + before) : 2;
  out.writeUInt32BE(tableSize, p);
  p += 4;
  out[p++] = KEY.length;
  p += KEY.copy(out, p);
  out[p++] = 0x6c; // 'l': a signed 64-bit integer
  out.writeBigInt64BE(BigInt(offset), p);
  p += 8;
  if (end > headersAt) buf.copy(out, p, headersAt, end);
  return out;
}

/** Where content-type and content-encoding end (the headers table's place). */
function afterEncoding(buf: Buffer, start: number, end: number, flags: number): number {
  let p = start + 2;
  for (const bit of [0x8000, 0x4000]) {
    if ((flags & bit) !== 0 && p < end) p += 1 + buf[p]!;
  }
  return Math.min(p, end);
}

function sameKey(buf: Buffer, e: Entry, key: Buffer): boolean {
  return e.keyEnd - e.keyStart === key.length && buf.compare(key, 0, key.length, e.keyStart, e.keyEnd) === 0;
}

/**
 * The entries of the table in buf[p, end), tables and arrays left out (AMQP 1.0 application
 * properties hold neither). A value that cannot be read ends the walk: what came before is kept.
 */
function tableEntries(buf: Buffer, p: number, end: number): Entry[] {
  const entries: Entry[] = [];
  while (p < end) {
    const start = p;
    const keyStart = p + 1;
    const keyEnd = keyStart + buf[p]!;
    if (keyEnd >= end) break;
    const type = buf[keyEnd]!;
    const valueEnd = skipValue(buf, keyEnd + 1, end, type);
    if (valueEnd < 0) break;
    if (type !== 0x41 /* A */ && type !== 0x46 /* F */) entries.push({ keyStart, keyEnd, start, end: valueEnd });
    p = valueEnd;
  }
  return entries;
}

/** The end of a field value of `type` starting at p; -1 when it does not fit or the type is unknown. */
function skipValue(buf: Buffer, p: number, end: number, type: number): number {
  let size: number;
  switch (type) {
    case 0x74: // t
    case 0x62: // b
    case 0x42: // B
      size = 1;
      break;
    case 0x73: // s
    case 0x75: // u
      size = 2;
      break;
    case 0x49: // I
    case 0x69: // i
    case 0x66: // f
      size = 4;
      break;
    case 0x44: // D
      size = 5;
      break;
    case 0x6c: // l
    case 0x4c: // L
    case 0x64: // d
    case 0x54: // T
      size = 8;
      break;
    case 0x56: // V
      size = 0;
      break;
    case 0x53: // S
    case 0x78: // x
    case 0x41: // A
    case 0x46: // F
      if (p + 4 > end) return -1;
      size = 4 + buf.readUInt32BE(p);
      break;
    default:
      return -1;
  }
  return p + size <= end ? p + size : -1;
}
