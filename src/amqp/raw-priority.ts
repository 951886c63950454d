/** basic properties' flag bits before the priority, in wire order (AMQP 0-9-1 class basic). */
const CONTENT_TYPE = 0x8000;
const CONTENT_ENCODING = 0x4000;
const HEADERS = 0x2000;
const DELIVERY_MODE = 0x1000;
const PRIORITY = 0x0800;

/**
 * The `priority` property of a content header's raw property section buf[start, end), read in
 * place (no decode); 0 when it is absent or the section is too short to hold it. Priority queues
 * ask this of every message they take in, and recovery of every record it walks.
 */
export function priorityIn(buf: Buffer, start: number, end: number): number {
  if (end - start < 3) return 0;
  const flags = (buf[start]! << 8) | buf[start + 1]!;
  if ((flags & PRIORITY) === 0) return 0;
  let p = start + 2;
  if (flags & CONTENT_TYPE) p += 1 + buf[p]!;
  if (p < end && flags & CONTENT_ENCODING) p += 1 + buf[p]!;
  if (flags & HEADERS) {
    if (p + 4 > end) return 0;
    p += 4 + buf.readUInt32BE(p);
  }
  if (flags & DELIVERY_MODE) p++;
  return p < end ? buf[p]! : 0;
}
