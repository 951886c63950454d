import { fieldTypeName, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import { refuse } from "../amqp/refusals.js";

/** Milliseconds in each unit of RabbitMQ's durations ("7D", "1h"): a month is 30 days, a year 365. */
const UNIT_MS: Readonly<Record<string, number>> = {
  Y: 365 * 24 * 3_600_000,
  M: 30 * 24 * 3_600_000,
  D: 24 * 3_600_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/**
 * A duration as RabbitMQ 3.10 reads x-max-age and interval offsets: digits, then one unit of
 * Y M D h m s. Returns the milliseconds; "invalid" for a zero or an unknown unit; "crash" when
 * there are no digits at all, where RabbitMQ's parser fails (its channel dies: 541 INTERNAL_ERROR).
 */
export function parseDuration(text: string): number | "invalid" | "crash" {
  let digits = 0;
  while (digits < text.length && text.charCodeAt(digits) >= 48 && text.charCodeAt(digits) <= 57) digits++;
  if (digits === 0) return "crash";
  const value = Number(text.slice(0, digits));
  const unit = UNIT_MS[text.slice(digits)];
  if (value <= 0 || unit === undefined) return "invalid";
  return value * unit;
}

/** x-max-age at declare (queue-arguments.ts): a longstr that parses as a duration. */
export function maxAgeProblem(value: FieldValue, type: string): string | undefined {
  if (type !== "longstr") return `{unacceptable_type,${type}}`;
  const parsed = parseDuration(String(value));
  if (parsed === "crash") return MAX_AGE_CRASH;
  return parsed === "invalid" ? "invalid_max_age" : undefined;
}

/** maxAgeProblem's answer for a value RabbitMQ's parser fails on: the declare gets 541 INTERNAL_ERROR. */
export const MAX_AGE_CRASH = "invalid_max_age (crash)";

/** The queue's x-max-age in ms; undefined when it has none (or one that never passed a declare). */
export function maxAgeOf(args: FieldTable): number | undefined {
  const value = args["x-max-age"];
  if (typeof value !== "string") return undefined;
  const parsed = parseDuration(value);
  return typeof parsed === "number" ? parsed : undefined;
}

/** An integer queue argument (x-max-length-bytes, x-stream-max-segment-size-bytes), or undefined. */
export function integerArgument(args: FieldTable, key: string): number | undefined {
  const value = args[key];
  if (typeof value === "bigint") return Number(value);
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Where a stream consumer starts (its x-stream-offset): the first message kept, the start of the
 * last chunk, the next message to arrive, an offset, the first message appended at or after a
 * time (ms since the epoch), or at or after `now - interval` (ms).
 */
export type StreamStart =
  | { kind: "first" }
  | { kind: "last" }
  | { kind: "next" }
  | { kind: "offset"; offset: number }
  | { kind: "timestamp"; at: number }
  | { kind: "interval"; ms: number };

const NEXT: StreamStart = { kind: "next" };

/**
 * A stream consumer's x-stream-offset, checked as RabbitMQ 3.10 checks it (before the prefetch
 * and no-ack checks): "first", "last", "next", an integer, a timestamp, or an interval ("1h"; a
 * zero or an unknown unit is 406). Values RabbitMQ's parser fails on (a string with no digits, a
 * float, a boolean...) close the connection with 541 INTERNAL_ERROR, as RabbitMQ's do.
 */
export function streamStartOf(args: FieldTable, resource: string): StreamStart {
  const value = args["x-stream-offset"];
  if (value === undefined) return NEXT;
  if (typeof value === "number" && Number.isInteger(value)) return { kind: "offset", offset: Math.max(0, value) };
  if (typeof value === "bigint") return { kind: "offset", offset: value < 0n ? 0 : Number(value) };
  if (value instanceof Date) return { kind: "timestamp", at: value.getTime() };
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    const text = typeof value === "string" ? value : value.toString("latin1");
    if (text === "first" || text === "last" || text === "next") return { kind: text };
    const parsed = parseDuration(text);
    if (parsed === "crash") throw refuse.internalError();
    if (parsed === "invalid") {
      const bytes = typeof value === "string" ? value : value.toString("utf8");
      throw refuse.invalidArg(
        resource,
        "x-stream-offset",
        `: {invalid_stream_offset_arg,{${fieldTypeName(args, "x-stream-offset")},<<${erlangString(bytes)}>>}}`,
      );
    }
    return { kind: "interval", ms: parsed };
  }
  throw refuse.internalError();
}

/** A string as Erlang prints a binary's contents: quoted, with `"` and `\` escaped. */
function erlangString(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
