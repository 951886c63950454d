import type { FieldTable } from "../amqp/field-types.js";
import { OVERFLOWS, type LengthLimit, type Overflow } from "./length-limit.js";
import type { Policy, PolicyDefinition, PolicyValue } from "./policy-definition.js";
import { queueTypeOf, type QueueType } from "./queue-arguments.js";
import { deliveryLimitOf, quorumLengthLimit } from "./quorum-semantics.js";
import { integerArgument, maxAgeOf, parseDuration } from "./stream-arguments.js";

/**
 * What a queue does, once its arguments, its policy and its operator policy are put together:
 * the settings a Queue applies (Queue.applySettings), again whenever its policies change. Frozen
 * and shared by the queues whose settings are the same (queueSettings).
 */
export interface QueueSettings {
  /** Message TTL in ms; -1 for none. */
  messageTtl: number;
  /** x-expires in ms; 0 for none. */
  expires: number;
  lengthLimit: LengthLimit | undefined;
  /** Where dropped messages are dead-lettered; undefined when they are not. */
  deadLetterExchange: string | undefined;
  deadLetterRoutingKey: string | undefined;
  /** Quorum queues' delivery limit; -1 for none. */
  deliveryLimit: number;
  /** How dropped messages are dead-lettered (at-least-once: held until their targets have them). */
  deadLetterStrategy: DeadLetterStrategy;
  /**
   * Why a quorum queue configured for at-least-once dead-letters at most once (RabbitMQ logs it):
   * its overflow is drop-head, or it has no dead-letter exchange. Undefined otherwise.
   */
  deadLetterFallback: "drop-head" | "no-exchange" | undefined;
}

/**
 * RabbitMQ 3.10's dead-letter strategies: at-most-once (every queue type) republishes a dropped
 * message and forgets it; at-least-once (quorum queues) keeps it until every queue it is routed to
 * has it (rabbit_fifo_dlx).
 */
export type DeadLetterStrategy = "at-most-once" | "at-least-once";

/** The settings of a queue that no argument and no policy gives any: shared by most queues. */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = Object.freeze({
  messageTtl: -1,
  expires: 0,
  lengthLimit: undefined,
  deadLetterExchange: undefined,
  deadLetterRoutingKey: undefined,
  deliveryLimit: -1,
  deadLetterStrategy: "at-most-once",
  deadLetterFallback: undefined,
});

/** Settings objects kept for sharing at most; past it the table starts over (a client declaring ever new TTLs grows nothing). */
const SHARED_SETTINGS_MAX = 1024;
const sharedSettings = new Map<string, QueueSettings>();

/**
 * One frozen object for every queue with the same settings (issue 9: memory per queue): the
 * default for the queues nothing sets anything for, one of a bounded table for the others.
 */
function shared(settings: QueueSettings): QueueSettings {
  const {
    messageTtl,
    expires,
    lengthLimit: limit,
    deadLetterExchange: dlx,
    deadLetterRoutingKey: dlrk,
    deliveryLimit,
    deadLetterStrategy,
    deadLetterFallback,
  } = settings;
  if (
    messageTtl === -1 &&
    expires === 0 &&
    limit === undefined &&
    dlx === undefined &&
    dlrk === undefined &&
    deliveryLimit === -1 &&
    deadLetterStrategy === "at-most-once" &&
    deadLetterFallback === undefined
  ) {
    return DEFAULT_QUEUE_SETTINGS;
  }
  // Numbers first; the names JSON-quoted, so no two settings share a key.
  const key = `${messageTtl},${expires},${deliveryLimit},${limit?.maxLength},${limit?.maxBytes},${limit?.overflow},${JSON.stringify(dlx ?? null)},${JSON.stringify(dlrk ?? null)},${deadLetterStrategy},${deadLetterFallback}`;
  let found = sharedSettings.get(key);
  if (found === undefined) {
    if (sharedSettings.size >= SHARED_SETTINGS_MAX) sharedSettings.clear();
    sharedSettings.set(key, (found = Object.freeze(settings)));
  }
  return found;
}

/** How a key's policy value and argument value combine when both are given (rabbit_queue_type_util:args_policy_lookup's Resolve). */
type Resolve = "min" | "argument" | "policy";

/**
 * Each queue type's resolution, as RabbitMQ 3.10: classic queues (rabbit_amqqueue_process) take
 * the lower of the limits and TTLs and the argument for the rest; quorum queues
 * (rabbit_quorum_queue) let the policy win for overflow and expires; streams let the policy win.
 */
const RESOLVE: Readonly<Record<QueueType, Readonly<Record<string, Resolve>>>> = {
  classic: {
    expires: "min",
    "dead-letter-exchange": "argument",
    "dead-letter-routing-key": "argument",
    "message-ttl": "min",
    "max-length": "min",
    "max-length-bytes": "min",
    overflow: "argument",
  },
  quorum: {
    "max-length": "min",
    overflow: "policy",
    "max-length-bytes": "min",
    "delivery-limit": "min",
    expires: "policy",
    "message-ttl": "min",
    "dead-letter-exchange": "argument",
    "dead-letter-routing-key": "argument",
    "dead-letter-strategy": "argument",
  },
  stream: { "max-length-bytes": "policy", "max-age": "policy", "stream-max-segment-size-bytes": "policy" },
};

/** The keys where an operator policy's value and a user policy's combine to the lower (rabbit_policies' merge strategy). */
const LOWER_WINS = new Set(["expires", "message-ttl", "max-length", "max-length-bytes", "max-in-memory-length", "max-in-memory-bytes", "delivery-limit"]);

/**
 * One key of the policy and operator policy together (rabbit_policy:get): the one that has it,
 * or, when both do, the lower for the limits; for other keys the operator policy's.
 */
export function policyValue(key: string, policy: Policy | undefined, operatorPolicy: Policy | undefined): PolicyValue | undefined {
  const mine = policy?.definition[key];
  const operator = operatorPolicy?.definition[key];
  if (mine === undefined) return operator;
  if (operator === undefined) return mine;
  return LOWER_WINS.has(key) && typeof mine === "number" && typeof operator === "number" ? Math.min(mine, operator) : operator;
}

/** The policy and operator policy merged, keys in order (the management API's effective_policy_definition); undefined when neither applies. */
export function effectiveDefinition(policy: Policy | undefined, operatorPolicy: Policy | undefined): PolicyDefinition | undefined {
  if (policy === undefined && operatorPolicy === undefined) return undefined;
  const keys = new Set([...Object.keys(policy?.definition ?? {}), ...Object.keys(operatorPolicy?.definition ?? {})]);
  const out: Record<string, PolicyValue> = {};
  for (const key of [...keys].sort()) out[key] = policyValue(key, policy, operatorPolicy)!;
  return out;
}

/** An integer argument or policy value, 0 or more; undefined otherwise (arguments were checked at declare; a recovered or imported one may not be). */
function count(v: unknown): number | undefined {
  if (typeof v === "bigint") return v >= 0n ? Number(v) : undefined;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;
}

function resolved<T>(how: Resolve | undefined, fromPolicy: T | undefined, fromArgument: T | undefined, lower: (a: T, b: T) => T): T | undefined {
  if (how === undefined) return fromArgument;
  if (fromPolicy === undefined) return fromArgument;
  if (fromArgument === undefined) return fromPolicy;
  return how === "min" ? lower(fromPolicy, fromArgument) : how === "policy" ? fromPolicy : fromArgument;
}

/** A queue's settings from its arguments and the policies that apply to it (none, at declare time before matching): a shared, frozen object. */
export function queueSettings(args: FieldTable, policy?: Policy, operatorPolicy?: Policy, type: QueueType = queueTypeOf(args)): QueueSettings {
  const how = RESOLVE[type];
  const number = (key: string) => resolved(how[key], count(policyValue(key, policy, operatorPolicy)), count(args[`x-${key}`]), Math.min);
  const text = (key: string) => {
    const p = policyValue(key, policy, operatorPolicy);
    const a = args[`x-${key}`];
    return resolved(how[key], typeof p === "string" ? p : undefined, typeof a === "string" ? a : undefined, (x) => x);
  };
  const maxLength = number("max-length");
  const maxBytes = number("max-length-bytes");
  const overflow = text("overflow");
  const ttl = number("message-ttl");
  const expires = number("expires");
  const lengthLimit: LengthLimit | undefined =
    maxLength === undefined && maxBytes === undefined
      ? undefined
      : {
          maxLength: maxLength ?? Infinity,
          maxBytes: maxBytes ?? Infinity,
          overflow: overflow !== undefined && OVERFLOWS.includes(overflow) ? (overflow as Overflow) : "drop-head",
        };
  // x-delivery-limit is read as RabbitMQ reads it (quorum-semantics.ts), not as a checked count.
  const argumentLimit = deliveryLimitOf(args);
  const deliveryLimit = resolved(
    how["delivery-limit"],
    count(policyValue("delivery-limit", policy, operatorPolicy)),
    argumentLimit < 0 ? undefined : argumentLimit,
    Math.min,
  );
  const deadLetterExchange = text("dead-letter-exchange");
  const { strategy, fallback } = deadLetterStrategyOf(type, text("dead-letter-strategy"), overflow, deadLetterExchange);
  return shared({
    messageTtl: ttl ?? -1,
    expires: expires !== undefined && expires > 0 ? expires : 0,
    lengthLimit: type === "quorum" ? quorumLengthLimit(lengthLimit) : lengthLimit,
    deadLetterExchange,
    deadLetterRoutingKey: text("dead-letter-routing-key"),
    deliveryLimit: deliveryLimit ?? -1,
    deadLetterStrategy: strategy,
    deadLetterFallback: fallback,
  });
}

/**
 * The strategy in force, as rabbit_quorum_queue:dead_letter_handler picks it: at-least-once needs
 * a quorum queue, a dead-letter exchange, and the overflow reject-publish (whether or not a length
 * limit is set; reject-publish-dlx counts as drop-head in a quorum queue). Otherwise at most once.
 */
function deadLetterStrategyOf(
  type: QueueType,
  configured: string | undefined,
  overflow: string | undefined,
  exchange: string | undefined,
): { strategy: DeadLetterStrategy; fallback: QueueSettings["deadLetterFallback"] } {
  if (type !== "quorum" || configured !== "at-least-once") return { strategy: "at-most-once", fallback: undefined };
  if (exchange === undefined) return { strategy: "at-most-once", fallback: "no-exchange" };
  if (overflow !== "reject-publish") return { strategy: "at-most-once", fallback: "drop-head" };
  return { strategy: "at-least-once", fallback: undefined };
}

/** What a stream keeps, and the size of its segments: its arguments or, where one sets it, its policy's. */
export interface StreamRetention {
  /** x-max-length-bytes: bytes kept, whole segments dropped from the front past it. */
  maxBytes: number | undefined;
  /** x-max-age in ms: segments whose newest message is older go. */
  maxAge: number | undefined;
  /** x-stream-max-segment-size-bytes. */
  segmentSize: number | undefined;
}

/**
 * A stream's retention and segment size as rabbit_stream_queue:update_stream_conf reads them:
 * for each, the policy's value (the operator policy's lower max-length-bytes included) wins over
 * the argument (policy_precedence), whichever is set. Policy values were checked when set.
 */
export function streamRetention(args: FieldTable, policy?: Policy, operatorPolicy?: Policy): StreamRetention {
  const age = policyValue("max-age", policy, operatorPolicy);
  const parsedAge = typeof age === "string" ? parseDuration(age) : undefined;
  return {
    maxBytes: count(policyValue("max-length-bytes", policy, operatorPolicy)) ?? integerArgument(args, "x-max-length-bytes"),
    maxAge: typeof parsedAge === "number" ? parsedAge : maxAgeOf(args),
    segmentSize: count(policyValue("stream-max-segment-size-bytes", policy, operatorPolicy)) ?? integerArgument(args, "x-stream-max-segment-size-bytes"),
  };
}

/** An exchange's alternate exchange: its argument, else its policy's (rabbit_policy:get_arg). */
export function exchangeAlternate(args: FieldTable, policy: Policy | undefined): string | undefined {
  const arg = args["alternate-exchange"];
  if (typeof arg === "string") return arg;
  const fromPolicy = policy?.definition["alternate-exchange"];
  return typeof fromPolicy === "string" ? fromPolicy : undefined;
}
