import type { FieldTable } from "../amqp/field-types.js";
import type { Broker } from "../broker/broker.js";
import type { Options } from "../config/options.js";
import type { Logger } from "../logger.js";

/** What every connection shares: the broker model, the settings, the log. */
export interface ServerContext {
  broker: Broker;
  options: Options;
  log: Logger;
  /** connection.start server-properties, built once. */
  serverProperties: FieldTable;
}
