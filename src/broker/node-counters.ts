import { MESSAGE_STAT_KEYS, MessageStats } from "./message-stats.js";
import type { Queue } from "./queue.js";
import type { QueueType } from "./queue-arguments.js";

/**
 * Node-wide counters that only ever grow, for Prometheus (rabbitmq_prometheus's churn and
 * rabbitmq_global_* metrics): connections, channels and queues opened, closed, declared, created
 * and deleted, and what closed channels and deleted queues had counted, so that a total over the
 * live objects plus the retired ones keeps counting after they go. Every change is an add at an
 * open, close, declare or delete: nothing runs per message.
 */
export class NodeCounters {
  /** Connections that completed connection.open. */
  connectionsOpened = 0;
  /** Every accepted connection that ended, opened or not (RabbitMQ counts a probe that sends nothing too). */
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** Non-passive queue.declare (and management PUT) calls, new queue or not. */
  queuesDeclared = 0;
  /** Declares that made a new queue. */
  queuesCreated = 0;
  /** Queues deleted, however: queue.delete, exclusive owner gone, auto-delete, x-expires, vhost deletion. */
  queuesDeleted = 0;
  /** The message counters of the channels that have closed, added up. */
  readonly closedChannels = new MessageStats();
  /** The message counters of deleted queues, by queue type. */
  readonly deletedQueues: Readonly<Record<QueueType, MessageStats>> = {
    classic: new MessageStats(),
    quorum: new MessageStats(),
    stream: new MessageStats(),
  };

  /** A queue is gone: count it and keep what it had counted. */
  queueDeleted(queue: Queue): void {
    this.queuesDeleted++;
    addStats(this.deletedQueues[queue.type], queue.stats);
  }

  /** A channel closed: count it and keep what it had counted. */
  channelClosed(stats: MessageStats): void {
    this.channelsClosed++;
    addStats(this.closedChannels, stats);
  }
}

/** into += from, counter by counter. */
export function addStats(into: MessageStats, from: MessageStats): void {
  for (const key of MESSAGE_STAT_KEYS) into[key] += from[key];
}
