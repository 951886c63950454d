import { AmqpReader } from "../amqp/field-reader.js";
import { arrayTypes, fieldTypeNameOf, type FieldArray, type FieldValue } from "../amqp/field-types.js";
import { refuse } from "../amqp/refusals.js";
import { Message } from "./message.js";

/**
 * Sender-selected distribution (RabbitMQ's extension): a message whose headers hold `CC` or `BCC`,
 * arrays of longstrs, is routed on its exchange with each of those keys besides its routing key,
 * and `BCC` is taken out of the message every queue gets (and of a mandatory return).
 *
 * Almost no message has them, so the common path costs a flag test, and for messages with headers
 * a byte search; only a message that may hold them is parsed. A BCC header is cut out of the
 * property bytes, so the rest stays byte for byte as published; other messages keep their bytes.
 */

/** The headers property's bit in the first octet of the property flags. */
const HEADERS_FLAG = 0x20;
/** The two keys as their shortstr bytes appear in an encoded table. */
const CC_KEY = Buffer.from("\x02CC", "latin1");
const BCC_KEY = Buffer.from("\x03BCC", "latin1");

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
  const raw = message.rawProperties;
  if (raw.length < 2 || (raw[0]! & HEADERS_FLAG) === 0) return message;
  if (raw.indexOf(CC_KEY, 2) < 0 && raw.indexOf(BCC_KEY, 2) < 0) return message;
  return applyRoutingHeaders(message);
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
