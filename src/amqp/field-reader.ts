import { syntaxError } from "./errors.js";
import { arrayTypes, Decimal, DECODED_LEVELS, NestedBytes, tableTypes, type FieldArray, type FieldTable, type FieldValue } from "./field-types.js";
import { decodeName } from "./name-bytes.js";

/**
 * Reads AMQP primitive types from a region of a Buffer.
 *
 * One reader is reused for every frame of a connection (`reset`), so decoding a method allocates
 * only its result. Reading past `end` is a malformed frame: 502 SYNTAX_ERROR.
 */
export class AmqpReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  /**
   * Set when a method-level shortstr was not valid UTF-8. RabbitMQ refuses those (501) in every
   * method but basic.publish; field-table keys and longstrs are binaries to it and do not count.
   */
  malformedUtf8 = false;

  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.malformedUtf8 = false;
    return this;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw syntaxError("SYNTAX_ERROR - frame too short for its fields");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An unsigned 64-bit field as a number; delivery tags and sizes stay far below 2^53. */
  u64(): number {
    this.need(8);
    const v = this.buf.readUInt32BE(this.pos) * 0x1_0000_0000 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return v;
  }

  /** A shortstr, decoded losslessly (names are bytes: src/amqp/name-bytes.ts). */
  shortStr(): string {
    const s = this.name();
    if (!this.malformedUtf8 && !s.isWellFormed()) this.malformedUtf8 = true;
    return s;
  }

  /** A shortstr's bytes as a name, whatever they hold. */
  private name(): string {
    const len = this.u8();
    this.need(len);
    const s = decodeName(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  longStr(): Buffer {
    const len = this.u32();
    this.need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  /** A table; `level` is how deep it sits in the table being read (0: that table itself). */
  table(level = 0): FieldTable {
    const len = this.u32();
    this.need(len);
    const end = this.pos + len;
    const table: FieldTable = {};
    const types: Record<string, string> = {};
    while (this.pos < end) {
      const key = this.name();
      const type = String.fromCharCode(this.buf[this.pos] ?? 0);
      const value = this.fieldValue(level + 1);
      if (key === "__proto__") {
        // A plain assignment would set the object's prototype and lose the entry.
        defineEntry(types, key, type);
        defineEntry(table, key, value);
      } else {
        types[key] = type;
        table[key] = value;
      }
    }
    // An empty table has no types to remember (most queue and consume arguments): no entry for it.
    if (len > 0) tableTypes.set(table, types);
    if (this.pos !== end) throw syntaxError("SYNTAX_ERROR - field table overruns its length");
    return table;
  }

  private array(level: number): FieldArray {
    const len = this.u32();
    this.need(len);
    const end = this.pos + len;
    const values: FieldArray = [];
    let types = "";
    while (this.pos < end) {
      types += String.fromCharCode(this.buf[this.pos] ?? 0);
      values.push(this.fieldValue(level + 1));
    }
    arrayTypes.set(values, types);
    if (this.pos !== end) throw syntaxError("SYNTAX_ERROR - field array overruns its length");
    return values;
  }

  /** Moves past n bytes, which must be in the frame. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /**
   * A table or array too deep to decode (its type octet read): checked as thoroughly as decoding
   * would check it, with the same errors, but in a loop with its own stack of containers instead
   * of one call per level, and kept as a copy of its bytes (the frame's buffer is reused).
   */
  private nestedBytes(type: "F" | "A"): NestedBytes {
    const start = this.pos;
    const len = this.u32();
    this.need(len);
    // Where each open container ends; negative for an array (-end - 1), so one number says both.
    const ends: number[] = [type === "F" ? this.pos + len : -(this.pos + len) - 1];
    while (ends.length > 0) {
      const top = ends[ends.length - 1]!;
      const inTable = top >= 0;
      const end = inTable ? top : -top - 1;
      if (this.pos >= end) {
        if (this.pos !== end) throw syntaxError(`SYNTAX_ERROR - field ${inTable ? "table" : "array"} overruns its length`);
        ends.pop();
        continue;
      }
      if (inTable) this.skip(this.u8()); // the key
      const valueType = this.u8();
      if (valueType === 0x46 || valueType === 0x41) {
        const n = this.u32();
        this.need(n);
        ends.push(valueType === 0x46 ? this.pos + n : -(this.pos + n) - 1);
      } else {
        skipScalar(this, valueType);
      }
    }
    return new NestedBytes(type, Buffer.from(this.buf.subarray(start, this.pos)));
  }

  /**
   * One field value: its type octet, then the value. `level` is the level a table or array value
   * would have (1 for an entry of the table being read); past DECODED_LEVELS one stays bytes.
   */
  fieldValue(level = 1): FieldValue {
    const type = this.u8();
    const b = this.buf;
    switch (type) {
      case 0x74: // t
        return this.u8() !== 0;
      case 0x62: // b
        this.need(1);
        return b.readInt8(this.pos++);
      case 0x42: // B
        return this.u8();
      case 0x73: {
        // s
        this.need(2);
        const v = b.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 0x75: // u
        return this.u16();
      case 0x49: {
        // I
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0x69: // i
        return this.u32();
      case 0x6c: {
        // l
        this.need(8);
        const v = b.readBigInt64BE(this.pos);
        this.pos += 8;
        return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
      }
      case 0x4c: {
        // L (unsigned 64; rare, but some clients send it)
        this.need(8);
        const v = b.readBigUInt64BE(this.pos);
        this.pos += 8;
        return v <= 9007199254740991n ? Number(v) : v;
      }
      case 0x66: {
        // f
        this.need(4);
        const v = b.readFloatBE(this.pos);
        this.pos += 4;
        return v;
      }
      case 0x64: {
        // d
        this.need(8);
        const v = b.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0x44: {
        // D
        const scale = this.u8();
        this.need(4);
        const v = b.readInt32BE(this.pos);
        this.pos += 4;
        return new Decimal(scale, v);
      }
      case 0x53: {
        // S: bytes to RabbitMQ, so decoded losslessly as names are (src/amqp/name-bytes.ts)
        const len = this.u32();
        this.need(len);
        const s = decodeName(b, this.pos, this.pos + len);
        this.pos += len;
        return s;
      }
      case 0x78: // x
        return Buffer.from(this.longStr());
      case 0x41: // A
        return level > DECODED_LEVELS ? this.nestedBytes("A") : this.array(level);
      case 0x54: // T
        return new Date(this.u64() * 1000);
      case 0x46: // F
        return level > DECODED_LEVELS ? this.nestedBytes("F") : this.table(level);
      case 0x56: // V
        return null;
      default:
        throw syntaxError(`SYNTAX_ERROR - unknown field type '${String.fromCharCode(type)}'`);
    }
  }
}

/** Skips over the field value whose type octet is `type`, or throws as fieldValue would. */
function skipScalar(r: AmqpReader, type: number): void {
  switch (type) {
    case 0x74: // t
    case 0x62: // b
    case 0x42: // B
      return r.skip(1);
    case 0x73: // s
    case 0x75: // u
      return r.skip(2);
    case 0x49: // I
    case 0x69: // i
    case 0x66: // f
      return r.skip(4);
    case 0x6c: // l
    case 0x4c: // L
    case 0x64: // d
    case 0x54: // T
      return r.skip(8);
    case 0x44: // D
      return r.skip(5);
    case 0x53: // S
    case 0x78: // x
      return r.skip(r.u32());
    case 0x56: // V
      return;
    default:
      throw syntaxError(`SYNTAX_ERROR - unknown field type '${String.fromCharCode(type)}'`);
  }
}

/** Add an own, enumerable entry, whatever its key (even "__proto__"). */
function defineEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
