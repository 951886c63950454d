import { AmqpReader } from "../amqp/field-reader.js";
import { decodeBasicProperties, type BasicProperties } from "../amqp/generated.js";
import { shortStrBytes } from "../amqp/name-bytes.js";
import { isPersistent, priorityIn } from "../amqp/raw-properties.js";

const reader = new AmqpReader();
const EMPTY = Buffer.alloc(0);
/**
 * The address of a message with no exchange and no routing key (a publisher's reusable Message
 * before its first publish). Shared and never written: encoded per Message it would be a slice of
 * Node's 8 KiB buffer pool, pinning a whole pool chunk for each idle channel.
 */
const EMPTY_ADDRESS = Buffer.alloc(2); // two empty shortstrs; Buffer.alloc takes no pool slice

/**
 * A published message on its way through routing: its exchange and routing key, and where its
 * bytes are. Each part (address, properties, body) is a byte range of a buffer, so a publish
 * read from a socket chunk points into the chunk and costs no Buffer view.
 *
 * A channel's publisher reuses one Message for every publish it receives (no object per
 * message), so a Message is valid only while it is being routed and enqueued: a queue's log
 * copies the bytes at enqueue. Code that keeps a message past that (a transaction until its
 * commit) keeps `copy()`, which owns its bytes. Messages built from scratch (dead-lettering)
 * use the constructor and are never reused.
 */
export class Message {
  exchange: string;
  routingKey: string;
  /** Exchange and routing key as two consecutive shortstrs: bytes [addressStart, addressEnd) of addressBuf. */
  addressBuf: Buffer;
  addressStart = 0;
  addressEnd: number;
  /** The content header's property section (flags and values) as the publisher sent it. */
  propertiesBuf: Buffer;
  propertiesStart = 0;
  propertiesEnd: number;
  bodyBuf: Buffer;
  bodyStart = 0;
  bodyEnd: number;
  private decoded: BasicProperties | undefined = undefined;
  /**
   * The keys of its CC and BCC headers (sender-selected distribution, src/broker/sender-selected.ts):
   * routed on the same exchange besides `routingKey`. Undefined for almost every message.
   */
  extraRoutingKeys: readonly string[] | undefined = undefined;
  /**
   * Set while it is routed when a delayed-message exchange holds the message: what its log did
   * with it ("durable": the publisher's confirm waits for the sync; "refused": nacked).
   */
  held: "memory" | "durable" | "refused" | undefined = undefined;

  /** A message that owns the given buffers whole; `address` is encoded from the names when not given. */
  constructor(exchange = "", routingKey = "", rawProperties: Buffer = EMPTY, body: Buffer = EMPTY, address?: Buffer) {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.addressBuf = address ?? (exchange === "" && routingKey === "" ? EMPTY_ADDRESS : encodeAddress(exchange, routingKey));
    this.addressEnd = this.addressBuf.length;
    this.propertiesBuf = rawProperties;
    this.propertiesEnd = rawProperties.length;
    this.bodyBuf = body;
    this.bodyEnd = body.length;
  }

  /** Reuse: the names and the address bytes of the next publish. */
  setAddress(exchange: string, routingKey: string, buf: Buffer, start: number, end: number): void {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.addressBuf = buf;
    this.addressStart = start;
    this.addressEnd = end;
  }

  /** Reuse: the property section of the next publish. */
  setProperties(buf: Buffer, start: number, end: number): void {
    this.propertiesBuf = buf;
    this.propertiesStart = start;
    this.propertiesEnd = end;
    this.decoded = undefined;
  }

  /** Reuse: the body of the next publish. */
  setBody(buf: Buffer, start: number, end: number): void {
    this.bodyBuf = buf;
    this.bodyStart = start;
    this.bodyEnd = end;
  }

  /** Let go of the buffers (socket chunks) once the message is routed, so that none stays pinned. */
  release(): void {
    this.setAddress("", "", EMPTY, 0, 0);
    this.setProperties(EMPTY, 0, 0);
    this.setBody(EMPTY, 0, 0);
    this.extraRoutingKeys = undefined;
    this.held = undefined;
  }

  /** A message with the same content that owns its bytes: for keeping past the publish. */
  copy(): Message {
    const copied = new Message(this.exchange, this.routingKey, Buffer.from(this.rawProperties), Buffer.from(this.body), Buffer.from(this.address));
    copied.extraRoutingKeys = this.extraRoutingKeys;
    return copied;
  }

  get bodySize(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** Exchange and routing key encoded as two shortstrs, the way deliver, get-ok and return carry them. */
  get address(): Buffer {
    return range(this.addressBuf, this.addressStart, this.addressEnd);
  }

  /** The property section as a Buffer (a view: for the paths that are not per message). */
  get rawProperties(): Buffer {
    return range(this.propertiesBuf, this.propertiesStart, this.propertiesEnd);
  }

  /** The body as a Buffer (a view: for the paths that are not per message). */
  get body(): Buffer {
    return range(this.bodyBuf, this.bodyStart, this.bodyEnd);
  }

  /** The property flags (the masks of amqp/raw-properties.ts); 0 when the section is too short to hold them. */
  get propertyFlags(): number {
    const start = this.propertiesStart;
    if (this.propertiesEnd - start < 2) return 0;
    const raw = this.propertiesBuf;
    return (raw[start]! << 8) | raw[start + 1]!;
  }

  /** The properties, decoded on first use (most messages are never looked into). */
  get properties(): BasicProperties {
    if (this.decoded === undefined) {
      this.decoded = decodeBasicProperties(reader.reset(this.propertiesBuf, this.propertiesStart, this.propertiesEnd));
    }
    return this.decoded;
  }

  /** The priority property (0 when absent), read from the raw properties: priority queues ask it of every message. */
  get priority(): number {
    return priorityIn(this.propertiesBuf, this.propertiesStart, this.propertiesEnd);
  }

  /** delivery_mode 2. Read straight from the raw properties: this is asked of every message. */
  get persistent(): boolean {
    return isPersistent(this.propertiesBuf, this.propertiesStart, this.propertiesEnd);
  }
}

/** buf[start, end) as a Buffer: the buffer itself when the range is all of it. */
function range(buf: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === buf.length ? buf : buf.subarray(start, end);
}

function encodeAddress(exchange: string, routingKey: string): Buffer {
  const ex = shortStrBytes(exchange);
  const rk = shortStrBytes(routingKey);
  const b = Buffer.allocUnsafe(ex.length + rk.length);
  ex.copy(b, 0);
  rk.copy(b, ex.length);
  return b;
}
