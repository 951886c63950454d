import type { FieldTable } from "../amqp/field-types.js";
import type { QueueOptions } from "./queue.js";

/** The arguments of a queue declared without any: one frozen table for all of them. */
const NO_ARGUMENTS: FieldTable = Object.freeze({});

/** One frozen options object per combination of the three flags, for queues without arguments or an owner. */
const SHARED = new Map<number, QueueOptions>();

/**
 * The options a new queue keeps: most queues are declared without arguments and without an
 * exclusive owner, and those share one frozen object per combination of durable, exclusive and
 * auto-delete instead of each holding its own options and empty arguments table (issue 9: memory
 * per queue). Others keep theirs as given.
 */
export function sharedQueueOptions(options: QueueOptions): QueueOptions {
  if (options.owner !== undefined) return options;
  for (const _ in options.arguments) return options;
  const key = (options.durable ? 1 : 0) | (options.exclusive ? 2 : 0) | (options.autoDelete ? 4 : 0);
  let shared = SHARED.get(key);
  if (shared === undefined) {
    shared = Object.freeze({ durable: options.durable, exclusive: options.exclusive, autoDelete: options.autoDelete, arguments: NO_ARGUMENTS });
    SHARED.set(key, shared);
  }
  return shared;
}
