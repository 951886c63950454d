import { AmqpReader } from "../amqp/field-reader.js";
import { decodeBasicProperties, type BasicProperties } from "../amqp/generated.js";
import { shortStrBytes } from "../amqp/name-bytes.js";
import { priorityIn } from "../amqp/raw-priority.js";

const reader = new AmqpReader();

/**
 * A published message. Immutable once routed: every queue it reaches shares this object, and
 * its body and raw properties go back on the wire exactly as they arrived.
 */
export class Message {
  private decoded: BasicProperties | undefined;
  /**
   * The keys of its CC and BCC headers (sender-selected distribution, src/broker/sender-selected.ts):
   * routed on the same exchange besides `routingKey`. Undefined for almost every message.
   */
  extraRoutingKeys: readonly string[] | undefined = undefined;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** The content header's property section (flags and values) as the publisher sent it. */
    readonly rawProperties: Buffer,
    readonly body: Buffer,
    /** Exchange and routing key as two consecutive shortstrs, when the publish frame had them. */
    private addressBytes?: Buffer,
  ) {}

  /** Exchange and routing key encoded as two shortstrs, the way deliver, get-ok and return carry them. */
  get address(): Buffer {
    if (this.addressBytes === undefined) {
      const ex = shortStrBytes(this.exchange);
      const rk = shortStrBytes(this.routingKey);
      const b = Buffer.allocUnsafe(ex.length + rk.length);
      ex.copy(b, 0);
      rk.copy(b, ex.length);
      this.addressBytes = b;
    }
    return this.addressBytes;
  }

  /** The properties, decoded on first use (most messages are never looked into). */
  get properties(): BasicProperties {
    if (this.decoded === undefined) {
      this.decoded = decodeBasicProperties(reader.reset(this.rawProperties, 0, this.rawProperties.length));
    }
    return this.decoded;
  }

  /** The priority property (0 when absent), read from the raw properties: priority queues ask it of every message. */
  get priority(): number {
    return priorityIn(this.rawProperties, 0, this.rawProperties.length);
  }

  /** delivery_mode 2. Read straight from the raw properties: this is asked of every message. */
  get persistent(): boolean {
    const raw = this.rawProperties;
    if (raw.length < 3) return false;
    const flags = raw.readUInt16BE(0);
    if ((flags & 0x1000) === 0) return false; // no delivery-mode property
    // Skip content-type and content-encoding (shortstr) and headers (table) when present.
    let p = 2;
    if (flags & 0x8000) p += 1 + raw[p]!;
    if (flags & 0x4000) p += 1 + raw[p]!;
    if (flags & 0x2000) {
      if (p + 4 > raw.length) return false; // malformed: not ours to judge here
      p += 4 + raw.readUInt32BE(p);
    }
    return raw[p] === 2;
  }
}
