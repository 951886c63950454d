import { pino } from "pino";
import type { LogOwner, QueueStorage } from "../broker/message-log.js";
import type { Logger } from "../logger.js";
import { Persister } from "./persister.js";
import { QueueStore, type SegmentEnd } from "./queue-store.js";
import { SegmentCache } from "./segment-cache.js";
import { nodeFs } from "./store-fs.js";

/**
 * Storage with no disk at all: every queue's log is a transient segment log whose cache never
 * evicts, so nothing is ever written and nothing survives the process (durable queues included).
 * For brokers built in memory (unit tests; an embedded broker later).
 */
export function memoryStorage(log: Logger = pino({ level: "silent" })): QueueStorage {
  const cache = new SegmentCache(Number.POSITIVE_INFINITY, log);
  const persister = new Persister(log, nodeFs);
  const counters = { corruptRecords: 0 };
  const open = (queue: LogOwner, segmentsEnd: SegmentEnd, segmentSize = 8 * 1024 * 1024) =>
    new QueueStore({
      dir: "", // never used: nothing is evicted, so no file is ever created
      durable: false,
      segmentSize,
      segmentsEnd,
      persister,
      cache,
      fs: nodeFs,
      log,
      counters,
      uncleanRecovery: false,
      tag: 0,
      meta: { vhost: queue.vhost, name: queue.name },
    });
  return {
    currentEpoch: 0,
    // Nothing is written, so nothing is waited for.
    whenSynced: (_epoch: number, callback: (err?: Error) => void) => process.nextTick(callback),
    open: (queue: LogOwner) => open(queue, "before-overflow"),
    openStream: (queue: LogOwner, segmentSize: number | undefined) => open(queue, "once-reached", segmentSize),
    refused: (queue, err) =>
      log.error({ event: "store.record_refused", vhost: queue.vhost, queue: queue.name, err: err.message }, "a queue's log refused a message"),
  };
}
