import { arrayTypes, Decimal, NestedBytes, tableTypes, TypedValue, type FieldArray, type FieldTable, type FieldValue } from "./field-types.js";
import { writeName } from "./name-bytes.js";

/**
 * Writes AMQP primitive types into a growable Buffer.
 *
 * The frame writer owns one per connection and writes whole frames into it; `pos` is where the
 * next byte goes. Callers reserve room with `ensure` only for fixed-size runs; the string and
 * table writers reserve their own.
 */
export class AmqpWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Make room for n more bytes, moving the unflushed bytes [start, pos) to a new buffer if needed. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.grow(n);
  }

  /** Overridden by the frame writer, which keeps already-flushed bytes out of the copy. */
  protected grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000) >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
  }

  /** A shortstr: the name's bytes exactly as they were decoded (src/amqp/name-bytes.ts). */
  shortStr(s: string): void {
    // Reserve the worst case (3 bytes per UTF-16 unit) before writing in place.
    this.ensure(1 + s.length * 3);
    const len = writeName(this.buf, this.pos + 1, s);
    if (len > 255) throw new RangeError(`shortstr longer than 255 bytes: ${s.slice(0, 40)}…`);
    this.buf[this.pos] = len;
    this.pos += 1 + len;
  }

  longStr(v: Buffer | string): void {
    if (typeof v === "string") {
      this.ensure(4 + v.length * 3);
      const len = writeName(this.buf, this.pos + 4, v); // the bytes a decoded longstr came from
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4 + len;
    } else {
      this.bytes32(v);
    }
  }

  /** A u32 length followed by the bytes. */
  private bytes32(v: Buffer): void {
    this.ensure(4 + v.length);
    this.buf.writeUInt32BE(v.length, this.pos);
    v.copy(this.buf, this.pos + 4);
    this.pos += 4 + v.length;
  }

  /** Bytes src[start, end) as they are (a stored message's parts: no view allocated). */
  rawRange(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n <= 32) {
      const b = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) b[p + i] = src[start + i]!;
    } else {
      src.copy(this.buf, this.pos, start, end);
    }
    this.pos += n;
  }

  raw(v: Buffer): void {
    const n = v.length;
    this.ensure(n);
    if (n <= 32) {
      // Short runs (tags, names) copy faster in JS than through Buffer#copy's native call.
      const b = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) b[p + i] = v[i]!;
    } else {
      v.copy(this.buf, this.pos);
    }
    this.pos += n;
  }

  table(t: FieldTable | undefined): void {
    this.ensure(4);
    const lenAt = this.pos;
    this.pos += 4;
    if (t) {
      const types = tableTypes.get(t);
      for (const key of Object.keys(t)) {
        this.shortStr(key);
        this.fieldValue(t[key]!, types?.[key]);
      }
    }
    this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
  }

  private array(a: FieldArray): void {
    this.ensure(4);
    const lenAt = this.pos;
    this.pos += 4;
    const types = arrayTypes.get(a);
    for (let i = 0; i < a.length; i++) this.fieldValue(a[i]!, types?.[i]);
    this.buf.writeUInt32BE(this.pos - lenAt - 4, lenAt);
  }

  /**
   * A value, with the type letter it was decoded from when there is one: a decoded table written
   * back (the definitions log keeps arguments so) keeps every number's wire type, which RabbitMQ
   * compares inside arrays and tables.
   */
  private fieldValue(v: FieldValue | TypedValue, decodedAs?: string): void {
    this.ensure(9);
    if (decodedAs !== undefined && (typeof v === "number" || typeof v === "bigint") && NUMBER_LETTERS.has(decodedAs)) {
      this.number(decodedAs, v);
      return;
    }
    const b = this.buf;
    switch (typeof v) {
      case "string":
        b[this.pos++] = 0x53; // S
        this.longStr(v);
        return;
      case "boolean":
        b[this.pos++] = 0x74; // t
        b[this.pos++] = v ? 1 : 0;
        return;
      case "number":
        if (Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff) {
          b[this.pos++] = 0x49; // I
          b.writeInt32BE(v, this.pos);
          this.pos += 4;
        } else if (Number.isSafeInteger(v)) {
          b[this.pos++] = 0x6c; // l
          b.writeBigInt64BE(BigInt(v), this.pos);
          this.pos += 8;
        } else {
          b[this.pos++] = 0x64; // d
          b.writeDoubleBE(v, this.pos);
          this.pos += 8;
        }
        return;
      case "bigint":
        b[this.pos++] = 0x6c; // l
        b.writeBigInt64BE(v, this.pos);
        this.pos += 8;
        return;
    }
    if (v === null) {
      b[this.pos++] = 0x56; // V
    } else if (Buffer.isBuffer(v)) {
      b[this.pos++] = 0x78; // x
      this.bytes32(v);
    } else if (v instanceof Date) {
      b[this.pos++] = 0x54; // T
      this.u64(Math.floor(v.getTime() / 1000));
    } else if (v instanceof Decimal) {
      b[this.pos++] = 0x44; // D
      b[this.pos++] = v.scale;
      b.writeInt32BE(v.value, this.pos);
      this.pos += 4;
    } else if (v instanceof TypedValue) {
      this.number(v.type, v.value);
    } else if (v instanceof NestedBytes) {
      b[this.pos++] = v.type.charCodeAt(0); // then its length and content, as they came
      this.raw(v.bytes);
    } else if (Array.isArray(v)) {
      b[this.pos++] = 0x41; // A
      this.array(v);
    } else {
      b[this.pos++] = 0x46; // F
      this.table(v as FieldTable);
    }
  }

  /** A number as the given wire type (room for it ensured by the caller). */
  private number(type: string, value: number | bigint): void {
    const b = this.buf;
    b[this.pos++] = type.charCodeAt(0);
    const n = Number(value);
    switch (type) {
      case "b":
        b.writeInt8(n, this.pos);
        this.pos += 1;
        return;
      case "B":
        b.writeUInt8(n, this.pos);
        this.pos += 1;
        return;
      case "s":
        b.writeInt16BE(n, this.pos);
        this.pos += 2;
        return;
      case "u":
        b.writeUInt16BE(n, this.pos);
        this.pos += 2;
        return;
      case "I":
        b.writeInt32BE(n, this.pos);
        this.pos += 4;
        return;
      case "i":
        b.writeUInt32BE(n, this.pos);
        this.pos += 4;
        return;
      case "l":
        b.writeBigInt64BE(BigInt(value), this.pos);
        this.pos += 8;
        return;
      case "L":
        b.writeBigUInt64BE(BigInt(value), this.pos);
        this.pos += 8;
        return;
      case "f":
        b.writeFloatBE(n, this.pos);
        this.pos += 4;
        return;
      case "d":
        b.writeDoubleBE(n, this.pos);
        this.pos += 8;
        return;
    }
  }
}

/** The wire types of numbers (field-reader.ts decodes them all to number or bigint). */
const NUMBER_LETTERS = new Set(["b", "B", "s", "u", "I", "i", "l", "L", "f", "d"]);
