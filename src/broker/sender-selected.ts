import { AmqpReader } from "../amqp/field-reader.js";
import { arrayTypes, fieldTypeNameOf, type FieldArray, type FieldValue } from "../amqp/field-types.js";
import { HEADERS, propertyAt } from "../amqp/raw-properties.js";
import { refuse } from "../amqp/refusals.js";
import { Message } from "./message.js";

/**
 * Sender-selected distribution (RabbitMQ's extension): a message whose headers hold `CC` or `BCC`,
 * arrays of longstrs, is routed on its exchange with each of those keys besides its routing key,
 * and `BCC` is taken out of the message every queue gets (and of a mandatory return).
 *
 * Almost no message has them, so the common path costs a flag test, and for messages with headers
 * a walk over the table's keys without decoding it; only a message that holds them is parsed. A BCC header is cut out of the
 * property bytes, so the rest stays byte for byte as published; other messages keep their bytes.
 */

const C = 0x43;
const B = 0x42;

const reader = new AmqpReader();

/** One routing header, as its table entry holds it. */
interface RoutingHeader {
  type: string;
  value: FieldValue;
  /** The entry's bytes in the property section (key, type and value). */
  start: number;
  end: number;
}

/**
 * The message to route: the same one when it has no CC or BCC header; one with `extraRoutingKeys`
 * (and, for BCC, properties without it) otherwise. A CC or BCC that is not an array is 406
 * PRECONDITION_FAILED, as RabbitMQ refuses it; array elements other than longstrs are ignored.
 */
export function withSenderSelectedRoutes(message: Message): Message {
  // The message's own byte range: `rawProperties` would allocate a view per publish.
  const raw = message.propertiesBuf;
  const start = message.propertiesStart;
  const end = message.propertiesEnd;
  if (end - start < 2 || (raw[start]! & (HEADERS >>> 8)) === 0 || !hasRoutingHeader(raw, start, end)) return message;
  return applyRoutingHeaders(message);
}

/**
 * Whether the headers table has a CC or BCC key, looked up in place: keys compared as bytes,
 * values skipped by their size, nothing allocated (this runs for every message with headers).
 * A table it cannot walk (an unknown type, a length past the end) is left to whoever decodes it.
 * `length` is where the property section ends in `raw` (it starts at `start`).
 */
function hasRoutingHeader(raw: Buffer, start: number, length: number): boolean {
  let p = propertyAt(raw, start, length, HEADERS);
  if (p < 0 || p + 4 > length) return false;
  const end = p + 4 + u32(raw, p);
  if (end > length) return false;
  p += 4;
  while (p < end) {
    const keyLength = raw[p]!;
    if (keyLength === 2 && raw[p + 1] === C && raw[p + 2] === C) return true;
    if (keyLength === 3 && raw[p + 1] === B && raw[p + 2] === C && raw[p + 3] === C) return true;
    p += 1 + keyLength;
    if (p >= end) return false;
    const size = valueSize(raw, p + 1, raw[p]!);
    if (size < 0) return false;
    p += 1 + size;
  }
  return false;
}

/** The unsigned 32-bit big-endian integer at `at` (in bounds), read without Buffer's checks. */
function u32(raw: Buffer, at: number): number {
  return raw[at]! * 0x100_0000 + ((raw[at + 1]! << 16) | (raw[at + 2]! << 8) | raw[at + 3]!);
}

/** The bytes of a field value of type `type` starting at `at`; -1 for a type RabbitMQ does not have. */
function valueSize(raw: Buffer, at: number, type: number): number {
  switch (type) {
    case 0x74: // t
    case 0x62: // b
    case 0x42: // B
      return 1;
    case 0x73: // s
    case 0x75: // u
      return 2;
    case 0x49: // I
    case 0x69: // i
    case 0x66: // f
      return 4;
    case 0x44: // D
      return 5;
    case 0x6c: // l
    case 0x4c: // L
    case 0x64: // d
    case 0x54: // T
      return 8;
    case 0x56: // V
      return 0;
    case 0x53: // S
    case 0x78: // x
    case 0x41: // A
    case 0x46: // F
      return at + 4 <= raw.length ? 4 + u32(raw, at) : -1;
    default:
      return -1;
  }
}

function applyRoutingHeaders(message: Message): Message {
  const raw = message.rawProperties;
  const r = reader.reset(raw, 0, raw.length);
  const flags = r.u16();
  // Property flags continue in further words while the lowest bit is set.
  for (let word = flags; (word & 1) !== 0; ) word = r.u16();
  if ((flags & 0x8000) !== 0) r.shortStr(); // content-type
  if ((flags & 0x4000) !== 0) r.shortStr(); // content-encoding
  const lengthAt = r.pos;
  const tableEnd = lengthAt + 4 + r.u32();
  let cc: RoutingHeader | undefined;
  let bcc: RoutingHeader | undefined;
  while (r.pos < tableEnd) {
    const start = r.pos;
    const key = r.shortStr();
    const type = String.fromCharCode(raw[r.pos] ?? 0);
    const value = r.fieldValue();
    // The first of duplicate keys counts, as RabbitMQ's table lookup takes the first.
    if (key === "CC") cc ??= { type, value, start, end: r.pos };
    else if (key === "BCC") bcc ??= { type, value, start, end: r.pos };
  }
  const keys: string[] = [];
  if (cc !== undefined) collectKeys("CC", cc, keys);
  if (bcc !== undefined) collectKeys("BCC", bcc, keys);
  const routed = bcc === undefined ? message : withoutEntry(message, lengthAt, bcc);
  if (keys.length > 0) routed.extraRoutingKeys = keys;
  return routed;
}

/** The longstr elements of a CC or BCC array; any other type of header is refused. */
function collectKeys(header: string, entry: RoutingHeader, keys: string[]): void {
  if (entry.type !== "A") throw refuse.routingHeaderType(header, fieldTypeNameOf(entry.type));
  const values = entry.value as FieldArray;
  const types = arrayTypes.get(values) ?? "";
  for (let i = 0; i < values.length; i++) {
    if (types[i] === "S") keys.push(values[i] as string);
  }
}

/** A copy of the message whose headers table lacks one entry (its length adjusted). */
function withoutEntry(message: Message, lengthAt: number, entry: RoutingHeader): Message {
  const raw = message.rawProperties;
  const removed = entry.end - entry.start;
  const properties = Buffer.allocUnsafe(raw.length - removed);
  raw.copy(properties, 0, 0, entry.start);
  raw.copy(properties, entry.start, entry.end);
  properties.writeUInt32BE(raw.readUInt32BE(lengthAt) - removed, lengthAt);
  return new Message(message.exchange, message.routingKey, properties, message.body, message.address);
}
