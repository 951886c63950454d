/** What the management API reads and changes: the running Warren's parts. */
import type { Broker } from "../broker/broker.js";
import type { MemoryMonitor } from "../broker/memory-monitor.js";
import type { Options } from "../config/options.js";
import type { NodeIdentity } from "../ctl/server/node-identity.js";
import type { Logger } from "../logger.js";
import type { Connection } from "../server/connection.js";
import type { DiskMonitor } from "../store/disk-monitor.js";
import type { Rates } from "./rates.js";

/** One listener as /api/overview lists it. */
export interface ListenerInfo {
  protocol: "amqp" | "amqp/ssl" | "http";
  port: number;
  /** The address it is bound to ("" for every address). */
  host: string;
}

export interface ManagementContext {
  broker: Broker;
  connections: Iterable<Connection>;
  /** The same names warrenctl prints, so a pid from one is found by the other. */
  ids: NodeIdentity;
  options: Options;
  log: Logger;
  /** Warren's version (product_version). */
  version: string;
  startedAt: number;
  memory?: MemoryMonitor;
  disk?: DiskMonitor;
  /** The listeners actually bound (AMQP, AMQPS, this HTTP one). */
  listeners(): ListenerInfo[];
  /** Message rates, sampled once a second. */
  rates: Rates;
}
