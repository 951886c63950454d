import { MAX_EXPIRY_MS } from "../amqp/expiration.js";
import { fieldTypeName, tableTypes, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import { refuse } from "../amqp/refusals.js";

/** What a check of one argument says: undefined when it is fine, else RabbitMQ's reason as Erlang prints it. */
type ArgumentCheck = (value: FieldValue, table: FieldTable, key: string) => string | undefined;

/** The wire types RabbitMQ takes as integers (its INTEGER_ARG_TYPES). */
const INTEGER_TYPES = new Set(["b", "B", "s", "u", "I", "i", "l"]);

function isInteger(value: FieldValue, table: FieldTable, key: string): boolean {
  const letter = tableTypes.get(table)?.[key];
  if (letter !== undefined) return INTEGER_TYPES.has(letter);
  return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
}

/** A whole number of ms no longer than ten years (rabbit_misc:check_expiry); `zero` refused too for x-expires. */
function expiryCheck(refuseZero: boolean): ArgumentCheck {
  return (value, table, key) => {
    if (!isInteger(value, table, key)) return `"expected integer, got ${fieldTypeName(table, key)}"`;
    const n = value as number | bigint;
    if (refuseZero && Number(n) === 0) return `{value_zero,${n}}`;
    if (n > MAX_EXPIRY_MS) return `{value_too_large,${n}}`;
    if (n < 0) return `{value_negative,${n}}`;
    return undefined;
  };
}

/**
 * The queue arguments RabbitMQ 3.10 checks when a queue is declared, in the order it checks them
 * (rabbit_amqqueue's declare_args): the first one refused is the one its 406 names.
 */
const DECLARE_CHECKS: ReadonlyArray<[key: string, check: ArgumentCheck]> = [
  ["x-expires", expiryCheck(true)],
  ["x-message-ttl", expiryCheck(false)],
];

/**
 * 406 "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}" when an
 * argument of a new queue is one RabbitMQ refuses. `resource` names the queue as RabbitMQ does.
 */
export function checkQueueArguments(args: FieldTable, resource: string): void {
  for (const [key, check] of DECLARE_CHECKS) {
    const value = args[key];
    if (value === undefined) continue;
    const reason = check(value, args, key);
    if (reason !== undefined) throw refuse.invalidArg(key, resource, reason);
  }
}
