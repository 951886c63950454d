/** The settings of one warren-perf run, as the command line gives them (see src/cli/warren-perf.ts). */

export const MODES = ["throughput", "connections", "queues", "backlog"] as const;
export type Mode = (typeof MODES)[number];

export interface PerfOptions {
  uri: string;
  mode: Mode;
  producers: number;
  consumers: number;
  /** Body size, bytes. */
  size: number;
  /** Queue name; undefined: server-named queues, deleted at the end. */
  queue?: string;
  queues: number;
  exchange: string;
  type: string;
  autoAck: boolean;
  multiAckEvery: number;
  prefetch: number;
  persistent: boolean;
  confirm: number;
  /** Messages per second per producer; 0: unlimited. */
  rate: number;
  /** Seconds; 0: until the message limits are reached (or Ctrl-C). */
  time: number;
  warmup: number;
  producerMessages: number;
  consumerMessages: number;
  threads: number;
  maxInFlight: number;
  /** connections mode: connections to open. */
  connections: number;
  /** Seconds to wait before reading the broker's memory (connections, queues, backlog). */
  hold: number;
  /**
   * connections and queues modes: open and close (declare and delete) this many first, so that
   * what a broker pays once (code warmed up, pools grown) is left out of the growth measured.
   */
  prime: number;
  brokerPid?: number;
  json: boolean;
  plot?: string;
  quiet: boolean;
}

/** Defaults that depend on the mode: what each mode measures when given no count. */
export const MODE_DEFAULTS = {
  connections: 1000,
  queues: 10_000,
  backlogMessages: 1_000_000,
} as const;

export class UsageError extends Error {}

/** Reject combinations that cannot work, with the reason. */
export function checkOptions(o: PerfOptions): void {
  if (o.producers === 0 && o.consumers === 0 && o.mode === "throughput") throw new UsageError("nothing to do: -x 0 and -y 0");
  if (!o.autoAck && o.prefetch > 0 && o.multiAckEvery > o.prefetch) {
    throw new UsageError(`--multi-ack-every ${o.multiAckEvery} is more than the prefetch (${o.prefetch}): the consumer would wait forever`);
  }
  if (o.mode === "backlog" && o.producers === 0) throw new UsageError("backlog mode needs at least one producer (-x)");
  if (o.mode === "backlog" && o.consumers === 0) throw new UsageError("backlog mode needs at least one consumer (-y) to drain");
  if (o.queue !== undefined && o.queue.length === 0) throw new UsageError("-u: a queue name may not be empty (leave it out for server-named queues)");
  const u = new URL(o.uri);
  if (u.protocol !== "amqp:") throw new UsageError(`--uri: only amqp:// is supported (${u.protocol})`);
}
