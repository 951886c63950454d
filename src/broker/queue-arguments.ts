import type { FieldTable, FieldValue } from "../amqp/field-types.js";
import { fieldTypeName } from "../amqp/field-types.js";
import { MAX_EXPIRY_MS } from "../amqp/expiration.js";
import { refuse } from "../amqp/refusals.js";
import { OVERFLOWS } from "./length-limit.js";
import { MAX_AGE_CRASH, maxAgeProblem } from "./stream-arguments.js";

/** The highest x-max-priority RabbitMQ accepts (?MAX_SUPPORTED_PRIORITY). */
export const MAX_SUPPORTED_PRIORITY = 255;

/** The field types RabbitMQ takes as integers in queue arguments. */
const INTEGER_TYPES = new Set(["byte", "short", "signedint", "long", "unsignedbyte", "unsignedshort", "unsignedint"]);

/**
 * One argument's check: undefined when the value is acceptable, else what RabbitMQ prints after
 * the colon of its 406 text (an Erlang term, such as `{value_negative,-1}`).
 */
type ArgumentCheck = (value: FieldValue, type: string, args: FieldTable) => string | undefined;

function isInteger(value: FieldValue, type: string): value is number | bigint {
  return INTEGER_TYPES.has(type) && (typeof value === "number" || typeof value === "bigint");
}

/** An integer, 0 or more (RabbitMQ's check_non_neg_int_arg). */
function nonNegativeInteger(value: FieldValue, type: string): string | undefined {
  if (!isInteger(value, type)) return `"expected integer, got ${type}"`;
  return value < 0 ? `{value_negative,${value}}` : undefined;
}

function maxPriority(value: FieldValue, type: string): string | undefined {
  const refused = nonNegativeInteger(value, type);
  if (refused !== undefined) return refused;
  return (value as number | bigint) > MAX_SUPPORTED_PRIORITY ? `{max_value_exceeded,${value as number | bigint}}` : undefined;
}

/** A whole number of ms no longer than ten years (rabbit_misc:check_expiry); zero refused too for x-expires. */
function expiry(refuseZero: boolean): ArgumentCheck {
  return (value, type) => {
    if (!isInteger(value, type)) return `"expected integer, got ${type}"`;
    if (refuseZero && Number(value) === 0) return `{value_zero,${value}}`;
    if (value > MAX_EXPIRY_MS) return `{value_too_large,${value}}`;
    if (value < 0) return `{value_negative,${value}}`;
    return undefined;
  };
}

/** A string, and only beside x-dead-letter-exchange. */
function deadLetterRoutingKey(_value: FieldValue, type: string, args: FieldTable): string | undefined {
  if (type !== "longstr") return `{unacceptable_type,${type}}`;
  return args["x-dead-letter-exchange"] === undefined ? "routing_key_but_no_dlx_defined" : undefined;
}

/** One of the x-overflow behaviours (length-limit.ts). */
function overflow(value: FieldValue, type: string): string | undefined {
  if (type !== "longstr") return `{unacceptable_type,${type}}`;
  return OVERFLOWS.includes(String(value)) ? undefined : "invalid_overflow";
}

function boolean(value: FieldValue, type: string): string | undefined {
  return typeof value === "boolean" ? undefined : `{unacceptable_type,${type}}`;
}

/** x-dead-letter-strategy: how a quorum queue dead-letters (at-least-once needs x-overflow reject-publish to take effect). */
function deadLetterStrategy(value: FieldValue, type: string): string | undefined {
  if (type !== "longstr") return `{unacceptable_type,${type}}`;
  return value === "at-most-once" || value === "at-least-once" ? undefined : "invalid_dlx_strategy";
}

/** x-quorum-initial-group-size: a positive integer (members of the Raft group; one node has one). */
function groupSize(value: FieldValue, type: string): string | undefined {
  const refused = nonNegativeInteger(value, type);
  if (refused !== undefined) return refused;
  return Number(value) === 0 ? `{value_zero,${value as number | bigint}}` : undefined;
}

/** x-queue-leader-locator: where a replicated queue's leader goes (RabbitMQ 3.10 also takes the older names). */
function leaderLocator(value: FieldValue, type: string): string | undefined {
  if (type !== "longstr") return `{unacceptable_type,${type}}`;
  return LEADER_LOCATORS.includes(String(value)) ? undefined : "invalid_queue_locator_arg";
}

const LEADER_LOCATORS = ["client-local", "balanced", "random", "least-leaders"];

/**
 * The arguments checked when a queue is created, in RabbitMQ 3.10's order (rabbit_amqqueue's
 * declare_args): when several are wrong, the first one in this list is the one reported.
 */
const CHECKED: ReadonlyArray<[string, ArgumentCheck]> = [
  ["x-expires", expiry(true)],
  ["x-message-ttl", expiry(false)],
  ["x-dead-letter-routing-key", deadLetterRoutingKey],
  ["x-dead-letter-strategy", deadLetterStrategy],
  ["x-max-length", nonNegativeInteger],
  ["x-max-length-bytes", nonNegativeInteger],
  ["x-max-in-memory-length", nonNegativeInteger],
  ["x-max-in-memory-bytes", nonNegativeInteger],
  ["x-max-priority", maxPriority],
  ["x-overflow", overflow],
  ["x-single-active-consumer", boolean],
  ["x-max-age", maxAgeProblem],
  ["x-stream-max-segment-size-bytes", nonNegativeInteger],
  ["x-quorum-initial-group-size", groupSize],
  ["x-queue-leader-locator", leaderLocator],
];

/**
 * The arguments each queue type takes (RabbitMQ 3.10's `queue_arguments` capabilities). An
 * argument that another type takes and this one does not is refused ("... of queue type ..."):
 * `x-max-priority` on a quorum queue, `x-delivery-limit` on a classic one. Others pass untouched.
 */
const TYPE_ARGUMENTS: Readonly<Record<QueueType, readonly string[]>> = {
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
    "x-single-active-consumer",
    "x-queue-type",
    "x-queue-master-locator",
    "x-queue-version",
  ],
  quorum: [
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-expires",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-overflow",
    "x-single-active-consumer",
    "x-queue-type",
    "x-quorum-initial-group-size",
    "x-delivery-limit",
    "x-message-ttl",
    "x-queue-leader-locator",
  ],
  stream: ["x-max-length-bytes", "x-queue-type", "x-max-age", "x-stream-max-segment-size-bytes", "x-initial-cluster-size", "x-queue-leader-locator"],
};

const KNOWN_ARGUMENTS = new Set(Object.values(TYPE_ARGUMENTS).flat());

/** The arguments a queue type takes, in RabbitMQ's order: also the ones a redeclare compares (rabbit_amqqueue:assert_args_equivalence reads the same list). */
export function argumentsOfType(type: QueueType): readonly string[] {
  return TYPE_ARGUMENTS[type];
}

/** The queue types RabbitMQ 3.10 has (x-queue-type). */
export type QueueType = "classic" | "quorum" | "stream";

/** RabbitMQ's module for each type, as its 406 texts name them. */
export const QUEUE_TYPE_MODULE: Readonly<Record<QueueType, string>> = {
  classic: "rabbit_classic_queue",
  quorum: "rabbit_quorum_queue",
  stream: "rabbit_stream_queue",
};

/** The queue's type (x-queue-type; classic when absent or not one RabbitMQ has). */
export function queueTypeOf(args: FieldTable): QueueType {
  const type = args["x-queue-type"];
  return type === "quorum" || type === "stream" ? type : "classic";
}

/** One argument a new queue is refused for, and the end of RabbitMQ's text after "invalid arg 'K' for queue 'q' in vhost 'v'". */
export interface ArgumentProblem {
  key: string;
  /** ": {value_negative,-1}", or " of queue type rabbit_quorum_queue". */
  tail: string;
  /** A value RabbitMQ's parser fails on (an x-max-age without digits): the declare closes the connection, 541. */
  internalError?: boolean;
}

/**
 * Throw RabbitMQ's 406 for the first argument of a new queue it would refuse. `resource` names the
 * queue as the text does ("queue 'q' in vhost '/'"). A redeclare is compared instead (queue-equivalence.ts).
 */
export function checkQueueArguments(args: FieldTable, resource: string): void {
  const problem = queueArgumentProblem(args);
  if (problem?.internalError === true) throw refuse.internalError();
  if (problem !== undefined) throw refuse.invalidArg(resource, problem.key, problem.tail);
}

/**
 * The first argument a new queue would be refused for; undefined when none. RabbitMQ 3.10's order:
 * x-queue-type itself, then the values of the arguments its type takes, then arguments of other types.
 */
export function queueArgumentProblem(args: FieldTable): ArgumentProblem | undefined {
  const typeValue = args["x-queue-type"];
  if (typeValue !== undefined) {
    const typeName = fieldTypeName(args, "x-queue-type");
    if (typeName !== "longstr") return { key: "x-queue-type", tail: `: {unacceptable_type,${typeName}}` };
    if (typeValue !== "classic" && typeValue !== "quorum" && typeValue !== "stream") {
      return { key: "x-queue-type", tail: `: "unsupported queue type '${String(typeValue)}'"` };
    }
  }
  const type = queueTypeOf(args);
  const taken = TYPE_ARGUMENTS[type];
  for (const [key, check] of CHECKED) {
    const value = args[key];
    if (value === undefined || !taken.includes(key)) continue;
    const detail = check(value, fieldTypeName(args, key), args);
    if (detail === MAX_AGE_CRASH) return { key, tail: ": invalid_max_age", internalError: true };
    if (detail !== undefined) return { key, tail: `: ${detail}` };
  }
  for (const key of Object.keys(args)) {
    if (KNOWN_ARGUMENTS.has(key) && !taken.includes(key)) return { key, tail: ` of queue type ${QUEUE_TYPE_MODULE[type]}` };
  }
  return undefined;
}

/**
 * The queue's highest priority level; 0 for a queue without priorities. As RabbitMQ: an
 * x-max-priority that is not an integer makes no priority queue, one above 255 counts as 255
 * (declares refuse both; a queue recovered or imported with them still comes up).
 */
export function maxPriorityOf(args: FieldTable): number {
  const value = args["x-max-priority"];
  if (value === undefined || !isInteger(value, fieldTypeName(args, "x-max-priority"))) return 0;
  return value <= 0 ? 0 : Number(value > MAX_SUPPORTED_PRIORITY ? MAX_SUPPORTED_PRIORITY : value);
}

/** x-single-active-consumer: only one consumer of the queue receives messages at a time. */
export function isSingleActiveConsumer(args: FieldTable): boolean {
  return args["x-single-active-consumer"] === true;
}
