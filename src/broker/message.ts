import { AmqpReader } from "../amqp/reader.js";
import { decodeBasicProperties, type BasicProperties } from "../amqp/generated.js";

const reader = new AmqpReader();

/**
 * A published message. Immutable once routed: every queue it reaches shares this object, and
 * its body and raw properties go back on the wire exactly as they arrived.
 */
export class Message {
  private decoded: BasicProperties | undefined;

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
      const ex = Buffer.from(this.exchange);
      const rk = Buffer.from(this.routingKey);
      const b = Buffer.allocUnsafe(2 + ex.length + rk.length);
      b[0] = ex.length;
      ex.copy(b, 1);
      b[1 + ex.length] = rk.length;
      rk.copy(b, 2 + ex.length);
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

  get persistent(): boolean {
    // delivery-mode is the 4th property; skip decoding when its flag bit is clear.
    return (this.rawProperties.length > 0 && (this.rawProperties[0]! & 0x10) !== 0 && this.properties.deliveryMode === 2);
  }
}

/** A message's place in one queue. */
export class QueuedMessage {
  redelivered = false;
  /** Where the queue's store holds it, or NOT_STORED (-1). */
  position = -1;

  constructor(
    readonly message: Message,
    /** Order within the queue; a requeued message goes back by it. */
    readonly seq: number,
  ) {}
}

export const bySeq = (m: QueuedMessage): number => m.seq;
