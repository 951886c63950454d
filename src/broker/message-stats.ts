/**
 * Message counters of one queue, exchange or channel, as RabbitMQ's management plugin reports
 * them (message_stats). Plain integer fields on an object made once with its owner: counting is
 * an add in place on the hot path, nothing allocated. The management API samples them once a
 * second into rates (src/mgmt/rates.ts).
 */
export class MessageStats {
  /** Published: by a channel, into a queue (enqueued), or to an exchange (publish_in). */
  publish = 0;
  /** An exchange's publishes that were routed somewhere (publish_out). */
  publishOut = 0;
  /** Publisher confirms a channel sent. */
  confirm = 0;
  /** Unroutable mandatory publishes returned, and unroutable others dropped. */
  returnUnroutable = 0;
  dropUnroutable = 0;
  /** Deliveries to consumers, with and without acks. */
  deliver = 0;
  deliverNoAck = 0;
  /** basic.get answered with a message, with and without acks, and basic.get-empty. */
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  /** Deliveries acknowledged. */
  ack = 0;
  /** Deliveries and gets of messages delivered before. */
  redeliver = 0;
}

/** Every counter's name, in the order samplers read them. */
export const MESSAGE_STAT_KEYS = [
  "publish",
  "publishOut",
  "confirm",
  "returnUnroutable",
  "dropUnroutable",
  "deliver",
  "deliverNoAck",
  "get",
  "getNoAck",
  "getEmpty",
  "ack",
  "redeliver",
] as const satisfies ReadonlyArray<keyof MessageStats>;
