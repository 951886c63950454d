import type { Queue } from "../broker/queue.js";

/** A queue and its counts, as `warrenctl list_queues name messages_ready messages_unacknowledged consumers` shows them. */
export interface QueueSummary {
  vhost: string;
  name: string;
  /** Ready and unacknowledged together (RabbitMQ's `messages`). */
  messages: number;
  /** Waiting to be delivered (what queue.declare-ok's message-count says). */
  messagesReady: number;
  /** Delivered to a consumer or basic.get, not yet acknowledged. */
  messagesUnacknowledged: number;
  consumers: number;
}

export function summarize(queue: Queue): QueueSummary {
  return {
    vhost: queue.vhost,
    name: queue.name,
    messages: queue.messageCount + queue.unacked,
    messagesReady: queue.messageCount,
    messagesUnacknowledged: queue.unacked,
    consumers: queue.consumerCount,
  };
}
