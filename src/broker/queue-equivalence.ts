import { refuse } from "../amqp/refusals.js";
import { erlangTerm } from "../amqp/erlang-term.js";
import { fieldTypeName, tableTypes, writtenTypeLetter, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import type { Queue, QueueOptions } from "./queue.js";
import { argumentsOfType } from "./queue-arguments.js";
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
    // A classic queue is one whether x-queue-type says so or not; any other value is compared (RabbitMQ 3.10.8
    // refuses a redeclare with x-queue-type 5, a table or 'Classic').
    if (key === "x-queue-type" && namesClassic(a) && namesClassic(b)) continue;
    if (a === undefined || b === undefined || !valuesEqual(a, b)) {
      throw refuse.inequivalentArg(what, key, inequivalence(options.arguments, current.arguments, key));
    }
  }
}

/** x-queue-type absent or the longstr 'classic'. */
function namesClassic(value: FieldValue | undefined): boolean {
  return value === undefined || value === "classic";
}

/**
 * RabbitMQ's wording: with a value on both sides "received '20' but current is '10'"; with one
 * side missing "received the value '1000' of type 'short' but current is none".
 */
export function inequivalence(received: FieldTable, current: FieldTable, key: string): string {
  const [a, b] = [received[key], current[key]];
  if (a !== undefined && b !== undefined) return `received '${argumentText(received, key, 1)}' but current is '${argumentText(current, key, 1)}'`;
  return `received ${describeArg(received, key)} but current is ${describeArg(current, key)}`;
}

/** "none", or "the value '20' of type 'byte'": how RabbitMQ names an argument in 406 texts. */
export function describeArg(table: FieldTable, key: string): string {
  if (table[key] === undefined) return "none";
  return `the value '${argumentText(table, key, "the value '".length)}' of type '${fieldTypeName(table, key)}'`;
}

/**
 * An argument's value as RabbitMQ prints it there: a string or byte array as its text (~s), anything
 * else as Erlang's ~p starting at `column`: a table [{<<"k">>,byte,1}], an array [{byte,1}], a float
 * 1.0. A list that does not fit is broken over lines: measured on RabbitMQ 3.10.8, one of 77
 * characters from column 1 stays on its line and one of 78 does not, hence two characters after it.
 */
function argumentText(table: FieldTable, key: string, column: number): string {
  const value = table[key]!;
  const letter = tableTypes.get(table)?.[key] ?? writtenTypeLetter(value);
  if (letter === "S") return value as string;
  if (letter === "x") return (value as Buffer).toString("latin1");
  return erlangTerm(value, letter, column, 2);
}
