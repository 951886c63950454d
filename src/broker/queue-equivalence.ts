import { refuse } from "../amqp/refusals.js";
import { fieldTypeName, type FieldTable } from "../amqp/field-types.js";
import type { Queue, QueueOptions } from "./queue.js";
import { queueTypeOf, type QueueType } from "./queue-arguments.js";
import { valuesEqual } from "./exchange/headers-match.js";

/** Arguments RabbitMQ 3.10 compares when a queue is declared again, by the queue's type; others are ignored. */
const COMPARED_ARGUMENTS: Readonly<Record<QueueType, readonly string[]>> = {
  classic: [
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-queue-type",
    "x-single-active-consumer",
    "x-queue-master-locator",
    "x-queue-version",
  ],
  quorum: [
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-overflow",
    "x-queue-type",
    "x-single-active-consumer",
    "x-delivery-limit",
    "x-quorum-initial-group-size",
    "x-queue-leader-locator",
  ],
  stream: [
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-queue-type",
    "x-single-active-consumer",
    "x-queue-master-locator",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
    "x-queue-leader-locator",
  ],
};

/** Throws 406 (or 405 for exclusivity) when a redeclare does not match the existing queue. */
export function checkQueueEquivalence(queue: Queue, options: QueueOptions, what: string): void {
  const current = queue.options;
  const inequivalent = (arg: string, received: unknown, now: unknown) => refuse.inequivalentValue(what, arg, received, now);
  if (current.durable !== options.durable) throw inequivalent("durable", options.durable, current.durable);
  if (current.autoDelete !== options.autoDelete) throw inequivalent("auto_delete", options.autoDelete, current.autoDelete);
  if (queue.exclusiveOwner !== (options.exclusive ? options.owner : undefined)) {
    throw refuse.exclusiveLocked(what);
  }
  for (const key of COMPARED_ARGUMENTS[queue.type]) {
    const a = options.arguments[key];
    const b = current.arguments[key];
    if (a === undefined && b === undefined) continue;
    // A classic queue is one whether x-queue-type says so or not.
    if (key === "x-queue-type" && queueTypeOf(options.arguments) === "classic" && queue.type === "classic") continue;
    if (a === undefined || b === undefined || !valuesEqual(a, b)) {
      throw refuse.inequivalentArg(what, key, inequivalence(options.arguments, current.arguments, key));
    }
  }
}

/**
 * RabbitMQ's wording: with a value on both sides "received '20' but current is '10'"; with one
 * side missing "received the value '1000' of type 'short' but current is none".
 */
export function inequivalence(received: FieldTable, current: FieldTable, key: string): string {
  const [a, b] = [received[key], current[key]];
  if (a !== undefined && b !== undefined) return `received '${String(a)}' but current is '${String(b)}'`;
  return `received ${describeArg(received, key)} but current is ${describeArg(current, key)}`;
}

/** "none", or "the value '20' of type 'byte'": how RabbitMQ names an argument in 406 texts. */
export function describeArg(table: FieldTable, key: string): string {
  const v = table[key];
  return v === undefined ? "none" : `the value '${String(v)}' of type '${fieldTypeName(table, key)}'`;
}
