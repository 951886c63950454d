/**
 * Basic properties read in place from a content header's raw property section buf[start, end),
 * without decoding it: the broker asks a few of them (delivery-mode, priority, expiration, the
 * headers table) of every message, and keeps the bytes as published.
 */

/** The flag bit of each basic property, in wire order (AMQP 0-9-1 class basic). */
export const CONTENT_TYPE = 0x8000;
export const CONTENT_ENCODING = 0x4000;
export const HEADERS = 0x2000;
export const DELIVERY_MODE = 0x1000;
export const PRIORITY = 0x0800;
export const REPLY_TO = 0x0200;
export const EXPIRATION = 0x0100;
const TIMESTAMP = 0x0040;
export const USER_ID = 0x0010;

/**
 * Where the value of the property with flag `bit` starts in buf[start, end) (for a shortstr, its
 * length byte); -1 when the property is absent or the section is too short to hold what precedes it.
 */
export function propertyAt(buf: Buffer, start: number, end: number, bit: number): number {
  if (end - start < 2) return -1;
  const flags = (buf[start]! << 8) | buf[start + 1]!;
  if ((flags & bit) === 0) return -1;
  let p = start + 2;
  // Further flag words (bit 0 set) come before the values; basic's 14 properties never need one.
  for (let more = flags & 1; more !== 0 && p + 2 <= end; p += 2) more = buf[p + 1]! & 1;
  for (let b = CONTENT_TYPE; b > bit; b >>>= 1) {
    if ((flags & b) === 0) continue;
    if (p >= end) return -1;
    if (b === HEADERS) {
      if (p + 4 > end) return -1;
      p += 4 + buf.readUInt32BE(p);
    } else if (b === DELIVERY_MODE || b === PRIORITY) p += 1;
    else if (b === TIMESTAMP) p += 8;
    else p += 1 + buf[p]!; // the shortstrs
  }
  return p < end ? p : -1;
}

/** The `priority` property; 0 when it is absent. Priority queues ask it of every message, recovery of every record. */
export function priorityIn(buf: Buffer, start: number, end: number): number {
  const at = propertyAt(buf, start, end, PRIORITY);
  return at < 0 ? 0 : buf[at]!;
}

/** delivery-mode 2. Asked of every message a durable queue takes in. */
export function isPersistent(buf: Buffer, start: number, end: number): boolean {
  const at = propertyAt(buf, start, end, DELIVERY_MODE);
  return at >= 0 && buf[at] === 2;
}
