import { refuse } from "../amqp/refusals.js";
import { fieldTypeName, type FieldTable } from "../amqp/field-types.js";
import type { Queue, QueueOptions } from "./queue.js";
import { argumentsOfType, queueTypeOf } from "./queue-arguments.js";
import { valuesEqual } from "./exchange/headers-match.js";

/** Throws 406 (or 405 for exclusivity) when a redeclare does not match the existing queue. */
export function checkQueueEquivalence(queue: Queue, options: QueueOptions, what: string): void {
  const current = queue.options;
  const inequivalent = (arg: string, received: unknown, now: unknown) => refuse.inequivalentValue(what, arg, received, now);
  if (current.durable !== options.durable) throw inequivalent("durable", options.durable, current.durable);
  if (current.autoDelete !== options.autoDelete) throw inequivalent("auto_delete", options.autoDelete, current.autoDelete);
  if (queue.exclusiveOwner !== (options.exclusive ? options.owner : undefined)) {
    throw refuse.exclusiveLocked(what);
  }
  // Only the arguments the queue's type takes (a stream ignores x-message-ttl on a redeclare, as RabbitMQ 3.10).
  for (const key of argumentsOfType(queue.type)) {
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
