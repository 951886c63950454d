import { hostname } from "node:os";
import type { FieldTable } from "../amqp/field-types.js";

/**
 * connection.start server-properties: what clients read to learn who we are and what we support.
 * The texts say as much as RabbitMQ's do, so the greeting is as long as its (over 512 bytes):
 * clients' reconnect tests cut connections at byte counts (aio-pika's stairway: 64, 128, 256, 512)
 * and count on those cuts landing inside the greeting, as they do with RabbitMQ.
 */
export function serverProperties(version: string): FieldTable {
  return {
    product: "Warren",
    version,
    platform: `Node.js ${process.version}`,
    cluster_name: `warren@${hostname()}`,
    copyright: "Copyright (c) 2026 the Warren contributors",
    information: "Licensed under the MIT License. A RabbitMQ-compatible AMQP 0-9-1 message broker for Node.js",
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      "basic.nack": true,
      consumer_cancel_notify: true,
      "connection.blocked": true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
  };
}
