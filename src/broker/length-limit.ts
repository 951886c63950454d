import type { FieldTable } from "../amqp/field-types.js";
import { fieldTypeName } from "../amqp/field-types.js";
import { refuse } from "../amqp/refusals.js";

/** What a queue does with a publish that would take it past its limit (x-overflow). */
export type Overflow = "drop-head" | "reject-publish" | "reject-publish-dlx";

const OVERFLOWS: readonly string[] = ["drop-head", "reject-publish", "reject-publish-dlx"];

/** RabbitMQ's names of the integer field types: the types x-max-length and x-max-length-bytes accept. */
const INTEGER_TYPES = new Set(["byte", "unsignedbyte", "short", "unsignedshort", "signedint", "unsignedint", "long", "unsignedlong"]);

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
 * checkLengthLimitArguments would refuse is ignored): queues recovered from disk or imported from
 * definitions are not refused here.
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

/**
 * 406 for length-limit arguments RabbitMQ 3.10 refuses when a queue is declared, with its texts:
 * "invalid arg 'x-max-length' for queue 'q' in vhost '/': {value_negative,-1}".
 */
export function checkLengthLimitArguments(args: FieldTable, resource: string): void {
  for (const key of ["x-max-length", "x-max-length-bytes"]) {
    const v = args[key];
    if (v === undefined) continue;
    const type = fieldTypeName(args, key);
    if (!INTEGER_TYPES.has(type)) throw refuse.invalidArg(key, resource, `"expected integer, got ${type}"`);
    if ((typeof v === "number" || typeof v === "bigint") && v < 0) throw refuse.invalidArg(key, resource, `{value_negative,${v}}`);
  }
  const overflow = args["x-overflow"];
  if (overflow === undefined) return;
  const type = fieldTypeName(args, "x-overflow");
  if (type !== "longstr") throw refuse.invalidArg("x-overflow", resource, `{unacceptable_type,${type}}`);
  if (!OVERFLOWS.includes(String(overflow))) throw refuse.invalidArg("x-overflow", resource, "invalid_overflow");
}
