import { isUtf8 } from "node:buffer";

/**
 * AMQP names (shortstrs: exchange, queue, routing key, consumer tag, ...) are bytes, and Warren
 * gives them back byte for byte. They are kept as JS strings, decoded losslessly the way Python's
 * "surrogateescape" does: valid UTF-8 decodes as usual, and each byte of an invalid sequence
 * becomes the lone surrogate U+DC80 + byte (U+DC80..U+DCFF). Well-formed UTF-8 never decodes to a
 * lone surrogate, so bytes -> string is one-to-one and encoding gives the same bytes back.
 * JSON keeps such a string as `\udcXX` escapes, so it round-trips through the definitions log and
 * exports too.
 *
 * Encoding a string that did not come from the wire: a lone surrogate outside U+DC80..U+DCFF has
 * no byte to stand for; it is written as U+FFFD, as Node's UTF-8 encoder does.
 */

declare global {
  interface String {
    /** ES2024; in Node since 20. */
    isWellFormed(): boolean;
  }
}

const REPLACEMENT = 0xfffd;

/** The string for buf[start, end), lossless for any bytes. */
export function decodeName(buf: Buffer, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii || isUtf8(buf.subarray(start, end))) return buf.toString("utf8", start, end);
  return decodeEscaping(buf, start, end);
}

/** The slow path: walk the bytes, escaping every byte that is not part of a valid sequence. */
function decodeEscaping(buf: Buffer, start: number, end: number): string {
  let out = "";
  let i = start;
  while (i < end) {
    const size = validSequenceLength(buf, i, end);
    if (size === 0) {
      out += String.fromCharCode(0xdc00 + buf[i]!);
      i++;
    } else {
      out += buf.toString("utf8", i, i + size);
      i += size;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at buf[i] (Unicode table 3-7), or 0 when there is none. */
function validSequenceLength(buf: Buffer, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && buf[i + k]! >= lo && buf[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** How many bytes `s` encodes to (what the 255-byte shortstr limit is checked against). */
export function nameByteLength(s: string): number {
  if (s.isWellFormed()) return Buffer.byteLength(s, "utf8");
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3; // other BMP characters, and other lone surrogates (as U+FFFD)
  }
  return n;
}

/**
 * Write the bytes of `s` at buf[pos]; returns how many. The caller has reserved room for the
 * worst case, 3 bytes per UTF-16 unit.
 */
export function writeName(buf: Buffer, pos: number, s: string): number {
  if (s.isWellFormed()) return buf.write(s, pos, "utf8");
  let p = pos;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      p += buf.write(s.slice(i, i + 2), p, "utf8");
      i++;
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      buf[p++] = c - 0xdc00;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) c = REPLACEMENT;
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p - pos;
}

/** The bytes of a name. */
export function encodeName(s: string): Buffer {
  const buf = Buffer.allocUnsafe(s.length * 3);
  return buf.subarray(0, writeName(buf, 0, s));
}

/** A name as a shortstr (length octet, then the bytes). Throws a RangeError past 255 bytes. */
export function shortStrBytes(s: string): Buffer {
  const buf = Buffer.allocUnsafe(1 + s.length * 3);
  const n = writeName(buf, 1, s);
  if (n > 255) throw new RangeError(`shortstr longer than 255 bytes: ${s.slice(0, 40)}…`);
  buf[0] = n;
  return buf.subarray(0, 1 + n);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
