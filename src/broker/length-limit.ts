import type { FieldTable } from "../amqp/field-types.js";

/** What a queue does with a publish that would take it past its limit (x-overflow). */
export type Overflow = "drop-head" | "reject-publish" | "reject-publish-dlx";

export const OVERFLOWS: readonly string[] = ["drop-head", "reject-publish", "reject-publish-dlx"];

/**
 * A queue's length limit (x-max-length, x-max-length-bytes, x-overflow), as RabbitMQ 3.10's
 * classic queues apply it: it counts ready messages and their body bytes (unacked ones are not
 * counted); drop-head drops (and dead-letters, reason maxlen) the oldest ready messages once a new
 * one takes the queue past the limit; reject-publish refuses a publish that would (the publisher
 * gets basic.nack if it asked for confirms), and reject-publish-dlx dead-letters it as well.
 */
export interface LengthLimit {
  /** Most ready messages; Infinity when only the bytes are limited. */
  readonly maxLength: number;
  /** Most body bytes of ready messages; Infinity when only the count is limited. */
  readonly maxBytes: number;
  readonly overflow: Overflow;
}

/**
 * The limit a queue's arguments set, or undefined when they set none. Lenient (a value that
 * a declare would refuse is ignored: queue-arguments.ts): queues recovered from disk are not
 * refused here.
 */
export function lengthLimitOf(args: FieldTable): LengthLimit | undefined {
  const maxLength = limitValue(args["x-max-length"]);
  const maxBytes = limitValue(args["x-max-length-bytes"]);
  if (maxLength === Infinity && maxBytes === Infinity) return undefined;
  const overflow = args["x-overflow"];
  return {
    maxLength,
    maxBytes,
    overflow: typeof overflow === "string" && OVERFLOWS.includes(overflow) ? (overflow as Overflow) : "drop-head",
  };
}

function limitValue(v: unknown): number {
  if (typeof v === "bigint") return v >= 0n ? Number(v) : Infinity;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : Infinity;
}
