import type { FieldTable } from "../amqp/field-types.js";
import type { StoredMessage } from "./message-log.js";
import type { Queue } from "./queue.js";

/**
 * What a queue needs from whoever consumes: the server's channel implements it. Keeping this an
 * interface keeps the broker model free of sockets.
 */
export interface ConsumerOwner {
  /** Room for one more delivery (prefetch, flow, socket backpressure). */
  canDeliver(consumer: Consumer): boolean;
  /** Write the message out now: `message` is valid only during the call. */
  deliver(consumer: Consumer, message: StoredMessage): void;
  /** deliver() for a stream's message, which goes out with `properties` (its own, with the x-stream-offset header) and is never redelivered. */
  deliverWithProperties(consumer: Consumer, message: StoredMessage, properties: Buffer): void;
  /** The queue went away under the consumer (deleted): basic.cancel to the client. */
  consumerCancelled(consumer: Consumer): void;
}

/** A basic.consume subscription of one channel to one queue. */
export class Consumer {
  /** Deliveries not yet acked, for per-consumer prefetch. */
  unacked = 0;
  /** The tag as a shortstr, encoded once (by the channel, at basic.consume) instead of at every delivery. */
  readonly tagBytes: Buffer;

  constructor(
    readonly tag: string,
    readonly queue: Queue,
    readonly owner: ConsumerOwner,
    readonly options: {
      noAck: boolean;
      exclusive: boolean;
      /** basic.qos prefetch_count in force when the consumer started (0: unlimited). */
      prefetch: number;
      priority: number;
      arguments: FieldTable;
      /** The tag as the consumer's deliveries carry it (a shortstr). */
      tagBytes: Buffer;
    },
  ) {
    this.tagBytes = options.tagBytes;
  }

  get hasCapacity(): boolean {
    return this.options.prefetch === 0 || this.unacked < this.options.prefetch;
  }
}
