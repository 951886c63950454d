/**
 * The time, read once per event-loop task: the publishes and acks of one received chunk share
 * one Date.now() (the store stamps every message; TTL checks compare against it), and the stamp
 * and the check of one task agree, so a message with a TTL of 0 is still deliverable to a consumer
 * in the task that enqueued it, as RabbitMQ delivers it before its TTL is looked at.
 */
let cached = 0;
let fresh = false;

function expire(): void {
  fresh = false;
}

/** Milliseconds since the epoch, as of the start of the current task's first call. */
export function coarseNow(): number {
  if (!fresh) {
    cached = Date.now();
    fresh = true;
    // Runs once the current task's synchronous work is done: the next task reads the clock again.
    queueMicrotask(expire);
  }
  return cached;
}
