import type { FieldTable } from "../amqp/field-types.js";
import type { LengthLimit } from "./length-limit.js";

/**
 * What a quorum queue (x-queue-type quorum) does differently from a classic one, as a client of
 * RabbitMQ 3.10 sees it on one node. The Queue applies these; replication is not among them.
 */

/**
 * A quorum queue's x-delivery-limit: a message returned (nacked or rejected with requeue, or left
 * unacked by a channel that closed) more times than this is dropped, dead-lettered with reason
 * delivery_limit; -1 for no limit. RabbitMQ 3.10 takes any value at declare and compares the
 * return count with it as an Erlang term: a negative limit acts as 0, a fraction as its whole
 * part (counts are integers), and a value that is not a number never limits.
 */
export function deliveryLimitOf(args: FieldTable): number {
  const value = args["x-delivery-limit"];
  if (typeof value !== "number" && typeof value !== "bigint") return -1;
  const limit = Math.floor(Number(value));
  return Number.isFinite(limit) ? Math.max(0, limit) : -1;
}

/**
 * A quorum queue's length limit: RabbitMQ 3.10 has no reject-publish-dlx for them (it logs a
 * warning and drops from the head instead).
 */
export function quorumLengthLimit(limit: LengthLimit | undefined): LengthLimit | undefined {
  return limit?.overflow === "reject-publish-dlx" ? { ...limit, overflow: "drop-head" } : limit;
}

/**
 * The share of its limit a quorum queue with x-overflow reject-publish must be back to before it
 * takes publishes again: once a publish takes it past the limit, later ones are refused until its
 * ready messages (and their bytes) are down to this share (rabbit_fifo's soft limit).
 */
const SOFT_LIMIT = 0.8;

/** Whether a quorum queue refusing publishes (reject-publish) is back below its soft limit. */
export function belowSoftLimit(limit: LengthLimit, ready: number, readyBytes: number): boolean {
  return ready <= Math.floor(limit.maxLength * SOFT_LIMIT) && readyBytes <= Math.floor(limit.maxBytes * SOFT_LIMIT);
}
