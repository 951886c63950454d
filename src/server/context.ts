import type { FieldTable } from "../amqp/field-types.js";
import type { Broker } from "../broker/broker.js";
import type { Options } from "../config/options.js";
import type { Logger } from "../logger.js";
import type { Persister } from "../store/persister.js";
import type { ConsumerTimeoutClock } from "./consumer-timeout.js";
import type { FlowControl } from "./flow-control.js";
import type { ConnectionLimits } from "./connection-limits.js";
import type { DirectReplyTo } from "./direct-reply-to.js";

/** What every connection shares: the broker model, the settings, the log. */
export interface ServerContext {
  broker: Broker;
  options: Options;
  log: Logger;
  /** Group commit of the message store: confirms wait on it. */
  persister?: Persister;
  /** Direct reply-to consumers of every connection, by key. */
  directReplies: DirectReplyTo;
  /** consumer_timeout's clock; undefined when the timeout is off. */
  consumerTimeouts?: ConsumerTimeoutClock;
  /** connection.start server-properties, built once. */
  serverProperties: FieldTable;
  /** Open connections against connection_max and the vhosts' max-connections. */
  connectionLimits: ConnectionLimits;
  /** Holds publishers into queues that are not keeping up; absent in tools that do not want it. */
  flow?: FlowControl;
  /** The memory alarm's watcher: told how many bytes arrive, so a fast publisher is checked often. */
  memoryMonitor?: { noteInput(bytes: number): void };
}
