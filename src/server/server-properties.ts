import { hostname } from "node:os";
import type { FieldTable } from "../amqp/field-types.js";

/** connection.start server-properties: what clients read to learn who we are and what we support. */
export function serverProperties(version: string): FieldTable {
  return {
    product: "Warren",
    version,
    platform: `Node.js ${process.version}`,
    cluster_name: `warren@${hostname()}`,
    copyright: "Warren contributors",
    information: "A RabbitMQ-compatible AMQP 0-9-1 broker",
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
