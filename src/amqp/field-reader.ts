import { syntaxError } from "./errors.js";
import { arrayTypes, Decimal, tableTypes, type FieldArray, type FieldTable, type FieldValue } from "./field-types.js";
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

  table(): FieldTable {
    const len = this.u32();
    this.need(len);
    const end = this.pos + len;
    const table: FieldTable = {};
    const types: Record<string, string> = {};
    while (this.pos < end) {
      const key = this.name();
      const type = String.fromCharCode(this.buf[this.pos] ?? 0);
      const value = this.fieldValue();
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

  private array(): FieldArray {
    const len = this.u32();
    this.need(len);
    const end = this.pos + len;
    const values: FieldArray = [];
    let types = "";
    while (this.pos < end) {
      types += String.fromCharCode(this.buf[this.pos] ?? 0);
      values.push(this.fieldValue());
    }
    arrayTypes.set(values, types);
    if (this.pos !== end) throw syntaxError("SYNTAX_ERROR - field array overruns its length");
    return values;
  }

  /** One field value: its type octet, then the value. */
  fieldValue(): FieldValue {
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
        return this.array();
      case 0x54: // T
        return new Date(this.u64() * 1000);
      case 0x46: // F
        return this.table();
      case 0x56: // V
        return null;
      default:
        throw syntaxError(`SYNTAX_ERROR - unknown field type '${String.fromCharCode(type)}'`);
    }
  }
}

/** Add an own, enumerable entry, whatever its key (even "__proto__"). */
function defineEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
