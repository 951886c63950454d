import { AmqpError } from "../amqp/errors.js";
import { tableTypes, type FieldTable } from "../amqp/field-types.js";
import { ReplyCode } from "../amqp/generated.js";
import { HEADERS } from "../amqp/raw-properties.js";
import type { Message } from "./message.js";

/** The longest delay the plugin holds a message for (Erlang's longest timer, 2^32 - 1 ms); a longer one routes at once. */
export const MAX_DELAY = 0xffff_ffff;

/** The integer types the plugin takes as they are (RabbitMQ's names: byte, short, signedint, long, unsignedbyte, unsignedshort, unsignedint). */
const INTEGER_TYPES = new Set(["b", "s", "I", "l", "B", "u", "i"]);
/** The float types it truncates (decimal, which it cannot truncate, is left out: see delayIn). */
const FLOAT_TYPES = new Set(["f", "d"]);
const DECIMAL_INTEGER = /^[+-]?\d+$/;

/**
 * The `x-delay` header of a set of headers as rabbitmq-delayed-message-exchange reads it: the
 * integer types as they are, a longstr that is a decimal integer, a float or double truncated;
 * NaN when there is none or it is of another type (the message is then not delayed). The plugin's
 * channel crashes on a longstr that is not an integer and on a decimal (see checkDelayReadable);
 * where the publisher is not there to be told (dead-lettering), Warren routes those at once.
 */
export function delayIn(headers: FieldTable | undefined): number {
  if (headers === undefined) return Number.NaN;
  const value = headers["x-delay"];
  if (value === undefined) return Number.NaN;
  const type = tableTypes.get(headers)?.["x-delay"];
  if (type === undefined) return Number.NaN;
  if (INTEGER_TYPES.has(type)) return Number(value);
  if (FLOAT_TYPES.has(type)) return Math.trunc(value as number);
  if (type === "S" && typeof value === "string" && DECIMAL_INTEGER.test(value)) return Number(value);
  return Number.NaN;
}

/**
 * RabbitMQ's answer to a publish whose `x-delay` the plugin cannot read as a number (a longstr
 * that is not an integer, or a decimal): the plugin's conversion fails in the channel process,
 * which crashes, and RabbitMQ closes the connection with 541 INTERNAL_ERROR naming no method.
 */
export function checkDelayReadable(message: Message): void {
  if ((message.propertyFlags & HEADERS) === 0) return;
  let headers: FieldTable | undefined;
  try {
    headers = message.properties.headers;
  } catch {
    return; // refused where the properties are read
  }
  const type = headers === undefined ? undefined : tableTypes.get(headers)?.["x-delay"];
  if (type === "D" || (type === "S" && !DECIMAL_INTEGER.test(headers!["x-delay"] as string))) {
    throw new AmqpError({ code: ReplyCode.INTERNAL_ERROR, text: "INTERNAL_ERROR", method: 0 });
  }
}

/** Whether the delay holds a message: more than 0 and at most MAX_DELAY ms (anything else routes at once, as the plugin). */
export function isHeldDelay(delay: number): boolean {
  return delay > 0 && delay <= MAX_DELAY;
}

/**
 * The delay of a message published to a delayed-message exchange; NaN when it has none. A
 * message without headers costs one flag test; one with headers has them decoded (once: the
 * message keeps its decoded properties).
 */
export function delayOf(message: Message): number {
  if ((message.propertyFlags & HEADERS) === 0) return Number.NaN;
  try {
    return delayIn(message.properties.headers);
  } catch {
    return Number.NaN; // properties that do not decode: routed as they are, and refused where they are read
  }
}

/**
 * The headers a delayed message is routed with when it falls due: `x-delay` replaced by minus
 * the delay (so it is not delayed again by a delayed-message exchange it passes through), and the
 * table sorted by key, as the plugin's rabbit_misc:set_table_value leaves it. Every other value
 * keeps its wire type.
 */
export function releasedHeaders(headers: FieldTable, delay: number): FieldTable {
  const types = tableTypes.get(headers) ?? {};
  const keys = Object.keys(headers);
  if (!keys.includes("x-delay")) keys.push("x-delay");
  keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const sorted: FieldTable = {};
  const sortedTypes: Record<string, string> = {};
  for (const key of keys) {
    sorted[key] = key === "x-delay" ? -delay : headers[key]!;
    // -delay is written as a signedint, or a long past its range.
    if (key !== "x-delay" && types[key] !== undefined) sortedTypes[key] = types[key]!;
  }
  tableTypes.set(sorted, sortedTypes);
  return sorted;
}
