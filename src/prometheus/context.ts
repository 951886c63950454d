/** What the Prometheus endpoint reads: the running Warren's parts. Nothing here is changed by a scrape. */
import type { Broker } from "../broker/broker.js";
import type { Options } from "../config/options.js";
import type { NodeIdentity } from "../ctl/server/node-identity.js";
import type { Logger } from "../logger.js";
import type { Connection } from "../server/connection.js";

export interface PrometheusContext {
  broker: Broker;
  /** Every accepted AMQP connection (those still in the handshake too). */
  connections: ReadonlySet<Connection>;
  /** The node and pid-shaped names warrenctl and the management API use. */
  ids: NodeIdentity;
  options: Pick<Options, "connectionMax" | "dataDir">;
  log: Logger;
  /** Warren's version. */
  version: string;
  /** When the broker started (ms since the epoch). */
  startedAt: number;
  /** The memory high watermark in bytes (the memory alarm's limit). */
  memoryLimit(): number;
  /** The free disk space limit in bytes (the disk alarm's). */
  diskFreeLimit(): number;
}
