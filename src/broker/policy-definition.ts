import { RE2JS } from "re2js";
import { elixirJson, erlangJson, erlangPairs, isJsonObject, JsonFloat, parseJsonTerm, type JsonTerm } from "./json-term.js";

/** A user policy (set_policy) or an operator policy (set_operator_policy): RabbitMQ's two runtime-parameter components. */
export type PolicyKind = "policy" | "operator_policy";

/** What a policy applies to, as RabbitMQ 3.10 takes it (the per-queue-type values came in 3.12). */
export type ApplyTo = "queues" | "exchanges" | "all";

/** A JSON value as a checked definition holds it (no floats: no key takes one). */
export type PolicyValue = string | number | boolean | null | PolicyValue[] | { [key: string]: PolicyValue };

/** A policy's definition once checked: its keys and their JSON values (strings, integers, lists of strings). */
export type PolicyDefinition = Readonly<Record<string, PolicyValue>>;

/** A policy as set: RabbitMQ's policy runtime parameter. */
export interface Policy {
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: ApplyTo;
  readonly definition: PolicyDefinition;
  readonly priority: number;
}

/** A policy RabbitMQ refuses; the message is rabbitmqctl's text after "Error:\n". */
export class PolicyError extends Error {}

type KeyCheck = (value: JsonTerm) => string | undefined;

const isInteger = (v: JsonTerm): v is number => typeof v === "number" && Number.isInteger(v);

function integerAtLeast(min: number, what: string): KeyCheck {
  return (v) => (isInteger(v) && v >= min ? undefined : `${erlangJson(v)} is not a valid ${what}`);
}

function oneOf(values: readonly JsonTerm[], what: string): KeyCheck {
  return (v) => (values.includes(v) ? undefined : `${erlangJson(v)} is not a valid ${what}`);
}

function text(what: string): KeyCheck {
  return (v) => (typeof v === "string" ? undefined : `${erlangJson(v)} is not a valid ${what}`);
}

/** Where rabbit_amqqueue:check_max_age fails, after the term it failed on (RabbitMQ 3.10.8's stack, as rabbitmqctl prints it). */
const MAX_AGE_STACK =
  "{:rabbit_policies, :validate_policy0, 2, [file: 'rabbit_policies.erl', line: 162]}, {:lists, :foldl, 3, [file: 'lists.erl', line: 1350]}, " +
  "{:rabbit_policy, :\"-validation0/2-fun-1-\", 3, [file: 'rabbit_policy.erl', line: 603]}, {:lists, :foldl_1, 3, [file: 'lists.erl', line: 1355]}, " +
  "{:rabbit_policy, :validation0, 2, [file: 'rabbit_policy.erl', line: 597]}, {:rabbit_parameter_validation, :\"-proplist/3-fun-0-\", 3, [file: 'rabbit_parameter_validation.erl', line: 80]}]}";

/**
 * A stream's max-age: a positive number and one of the units Y, M, D, h, m, s ("7D"). RabbitMQ
 * 3.10's check crashes on a value that is not a string (re:run) and on one that does not start
 * with a digit (list_to_integer): set_policy then prints the crash, which is thrown here as is.
 */
const maxAge: KeyCheck = (v) => {
  if (typeof v === "string") {
    if (!/^[0-9]/.test(v)) {
      throw new PolicyError(
        `{:badarg, [{:erlang, :list_to_integer, [[]], [error_info: %{module: :erl_erts_errors}]}, {:rabbit_amqqueue, :check_max_age, 1, [file: 'rabbit_amqqueue.erl', line: 964]}, ${MAX_AGE_STACK}`,
      );
    }
    return /^0*[1-9][0-9]*[YMDhms]$/.test(v) ? undefined : `${erlangJson(v)} is not a valid max age`;
  }
  if (Array.isArray(v) || isJsonObject(v)) return `${erlangJson(v)} is not a valid max age`; // iodata or a map: not matched here
  throw new PolicyError(
    `{:badarg, [{:re, :run, [${elixirJson(v)}, '(^[0-9]*)(.*)', [{:capture, :all_but_first, :list}]], [error_info: %{module: :erl_stdlib_errors}]}, {:rabbit_amqqueue, :check_max_age, 1, [file: 'rabbit_amqqueue.erl', line: 962]}, ${MAX_AGE_STACK}`,
  );
};

/**
 * The keys of RabbitMQ 3.10's rabbit_policies and their checks, with its texts. Operator policies
 * take only the limits (OPERATOR_KEYS). max-priority and single-active-consumer are not policy keys
 * in 3.10: a definition with them is refused as unrecognised.
 */
const POLICY_KEYS: Readonly<Record<string, KeyCheck>> = {
  "alternate-exchange": text("alternate exchange name"),
  "dead-letter-exchange": text("dead letter exchange name"),
  "dead-letter-routing-key": text("dead letter routing key"),
  "dead-letter-strategy": oneOf(["at-most-once", "at-least-once"], "dead letter strategy"),
  "message-ttl": integerAtLeast(0, "message TTL"),
  expires: integerAtLeast(1, "queue expiry"),
  "max-length": integerAtLeast(0, "maximum length"),
  "max-length-bytes": integerAtLeast(0, "maximum length in bytes"),
  "max-in-memory-length": integerAtLeast(0, "maximum memory in bytes"),
  "max-in-memory-bytes": integerAtLeast(0, "maximum memory in bytes"),
  "queue-mode": oneOf(["default", "lazy"], "queue-mode value"),
  "queue-version": oneOf([1, 2], "queue-version value"),
  overflow: oneOf(["drop-head", "reject-publish", "reject-publish-dlx"], "overflow value"),
  "delivery-limit": integerAtLeast(0, "delivery limit"),
  "max-age": maxAge,
  "queue-leader-locator": oneOf(["client-local", "balanced", "random", "least-leaders"], "queue leader locator value"),
  "initial-cluster-size": integerAtLeast(0, "cluster size"),
  "stream-max-segment-size-bytes": (v) => (isInteger(v) && v >= 0 && v <= 3_000_000_000 ? undefined : `${erlangJson(v)} is not a valid segment size`),
};

const OPERATOR_KEYS = ["expires", "message-ttl", "max-length", "max-length-bytes", "max-in-memory-length", "max-in-memory-bytes", "delivery-limit"];

/** Classic mirroring's keys: taken and checked as RabbitMQ 3.10 does; one node has nothing to mirror to. */
const MIRRORING_KEYS = ["ha-mode", "ha-params", "ha-sync-mode", "ha-sync-batch-size", "ha-promote-on-shutdown", "ha-promote-on-failure"];

/** rabbit_mirror_queue_misc's check of the ha-* keys together. */
function mirroringProblem(def: Readonly<Record<string, JsonTerm>>): string | undefined {
  const [mode, params, syncMode, batch, onShutdown, onFailure] = MIRRORING_KEYS.map((k) => def[k]);
  if ([mode, params, syncMode, batch, onShutdown, onFailure].every((v) => v === undefined)) return undefined;
  if (mode === undefined) return "ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown";
  if (mode !== "all" && mode !== "exactly" && mode !== "nodes") return `${erlangJson(mode)} is not a valid ha-mode value`;
  if (mode === "all" && params !== undefined) return 'ha-mode="all" does not take parameters';
  if (mode === "exactly" && !(isInteger(params ?? null) && (params as number) > 0)) {
    return `ha-mode="exactly" takes an integer, ${params === undefined ? "none" : erlangJson(params)} given`;
  }
  if (mode === "nodes") {
    if (!Array.isArray(params)) return `ha-mode="nodes" takes a list, ${params === undefined ? "none" : erlangJson(params)} given`;
    if (params.length === 0) return 'ha-mode="nodes" list must be non-empty';
    const invalid = params.filter((p) => typeof p !== "string");
    if (invalid.length > 0) return `ha-mode="nodes" takes a list of strings, ${erlangJson(invalid)} was not a string`;
  }
  if (syncMode !== undefined && syncMode !== "automatic" && syncMode !== "manual") {
    return `ha-sync-mode must be "manual" or "automatic", got ${erlangJson(syncMode)}`;
  }
  if (batch !== undefined && !(isInteger(batch) && batch > 0)) return `ha-sync-batch-size takes an integer greater than 0, ${erlangJson(batch)} given`;
  for (const [key, v] of [
    ["ha-promote-on-shutdown", onShutdown],
    ["ha-promote-on-failure", onFailure],
  ] as const) {
    if (v !== undefined && v !== "always" && v !== "when-synced") return `${key} must be "always" or "when-synced", got ${erlangJson(v)}`;
  }
  return undefined;
}

/** The definition's problem, or undefined: RabbitMQ's order, the rabbit_policies keys first (sorted), then mirroring, then the locator. */
function definitionProblem(kind: PolicyKind, def: JsonTerm): string | undefined {
  if (!isJsonObject(def)) return `definition must be a dictionary: ${erlangJson(def)}`;
  const keys = Object.keys(def).sort();
  if (keys.length === 0) return "no policy provided";
  const known = kind === "policy" ? Object.keys(POLICY_KEYS) : OPERATOR_KEYS;
  for (const key of keys) {
    if (!known.includes(key)) continue;
    const problem = POLICY_KEYS[key]!(def[key]!);
    if (problem !== undefined) return problem;
  }
  const validated = new Set(known);
  if (kind === "policy") {
    const mirroring = mirroringProblem(def);
    if (mirroring !== undefined) return mirroring;
    for (const k of MIRRORING_KEYS) validated.add(k);
    const locator = def["queue-master-locator"];
    if (locator !== undefined && locator !== "min-masters" && locator !== "client-local" && locator !== "random") {
      return `${erlangJson(locator)} invalid queue-master-locator value`;
    }
    validated.add("queue-master-locator");
  }
  const unknown = keys.filter((k) => !validated.has(k));
  if (unknown.length > 0) return `${erlangPairs(unknown.map((k) => [k, def[k]!]))} are not recognised policy settings`;
  return undefined;
}

/** Erlang's ~p of a {Text, Offset} tuple, broken as Erlang breaks it when it does not end before column 80 from `column`. */
function erlangTuple(textPart: string, offset: number, column: number): string {
  const flat = `{${JSON.stringify(textPart)},${offset}}`;
  return column + flat.length < 80 ? flat : `{${JSON.stringify(textPart)},\n${" ".repeat(column + 1)}${offset}}`;
}

/** PCRE's words for the RE2 errors that have a counterpart, with PCRE's offsets; RE2's own words otherwise. */
function patternError(pattern: string, err: unknown): [string, number] {
  const message = err instanceof Error ? err.message.replace(/^error parsing regexp: /, "") : String(err);
  const input = (err as { input?: unknown }).input;
  const at = typeof input === "string" ? Math.max(0, pattern.indexOf(input)) : pattern.length;
  if (message.startsWith("missing closing )")) return ["missing )", pattern.length];
  if (message.startsWith("missing closing ]")) return ["missing terminating ] for character class", pattern.length];
  if (message.startsWith("unexpected )")) return ["unmatched parentheses", pattern.lastIndexOf(")")];
  if (message.startsWith("missing argument to repetition operator")) return ["nothing to repeat", at];
  if (message.startsWith("invalid nested repetition operator")) return ["nothing to repeat", at + 1];
  const counts = typeof input === "string" ? /^\{(\d+),(\d+)\}$/.exec(input) : null;
  if (counts !== null && Number(counts[1]) > Number(counts[2])) return ["numbers out of order in {} quantifier", at + counts[0].length - 1];
  return [`${message.replace(/: `.*`$/s, "")} (Warren takes RE2 syntax, matched in linear time)`, at];
}

const PATTERN_PREFIX = "pattern should be regular expression but is invalid: ";

/** Compile a policy's pattern: an unanchored search on the name, as Erlang's re:run (RE2 here, linear in the name). */
export function compilePolicyPattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

/** What set_policy / set_operator_policy are given, before checking. */
export interface PolicyInput {
  pattern: string;
  /** The definition as decoded JSON. */
  definition: JsonTerm;
  priority: number;
  applyTo: string;
}

/**
 * Check a policy as RabbitMQ's parameter validation does: every problem, one line each, in its
 * order (definition, apply-to, pattern). Throws PolicyError("Validation failed ...").
 */
export function checkPolicy(kind: PolicyKind, input: PolicyInput): void {
  const lines: string[] = [];
  const definition = definitionProblem(kind, input.definition);
  if (definition !== undefined) lines.push(definition);
  if (!isApplyTo(input.applyTo)) lines.push(`apply-to '${input.applyTo}' unrecognised; should be 'queues', 'exchanges' or 'all'`);
  try {
    compilePolicyPattern(input.pattern);
  } catch (err) {
    const [why, offset] = patternError(input.pattern, err);
    lines.push(PATTERN_PREFIX + erlangTuple(why, offset, PATTERN_PREFIX.length));
  }
  if (lines.length > 0) throw new PolicyError(`Validation failed\n\n${lines.join("\n")}\n`);
}

export function isApplyTo(v: string): v is ApplyTo {
  return v === "queues" || v === "exchanges" || v === "all";
}

/**
 * The definition argument of set_policy: JSON text of an object. RabbitMQ's texts for text that is
 * not JSON, and (a crash it reports as is) for JSON that is not an object.
 */
export function parsePolicyDefinition(json: string): JsonTerm {
  let term: JsonTerm;
  try {
    term = parseJsonTerm(json);
  } catch (err) {
    throw new PolicyError((err as Error).message);
  }
  if (!isJsonObject(term)) {
    const shown = elixirJson(term);
    throw new PolicyError(
      `{{:badmap, ${shown}}, [{:maps, :to_list, [${shown}], [file: 'maps.erl', line: 581, error_info: %{module: :erl_stdlib_errors}]}, {:rabbit_policy, :parse_set0, 8, [file: 'rabbit_policy.erl', line: 329]}, {:rabbit_policy, :parse_set, 7, []}]}`,
    );
  }
  return term;
}

/** A checked definition with its keys in order (as RabbitMQ keeps and prints it). */
export function sortedDefinition(def: JsonTerm): PolicyDefinition {
  const out: Record<string, PolicyValue> = {};
  if (!isJsonObject(def)) return out;
  for (const key of Object.keys(def).sort()) out[key] = plain(def[key]!);
  return out;
}

function plain(v: JsonTerm): PolicyValue {
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** A definition as list_policies prints it: JSON, keys in order. */
export function formatDefinition(def: PolicyDefinition): string {
  return JSON.stringify(sortedDefinition(def));
}
