/**
 * The entries of a definitions file, read and checked one by one: users, vhosts, limits,
 * permissions, topic permissions, exchanges, queues and bindings. Each reader throws
 * DefinitionsError("bad_definitions") naming the entry (`where`, "queues[3]") and the problem.
 */
import { patternProblem } from "../access/pattern.js";
import { parseTags } from "../access/tags.js";
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isHashingAlgorithm, type HashingAlgorithm } from "../access/password.js";
import type { FieldTable } from "../amqp/field-types.js";
import { checkDelayedExchangeArguments } from "../broker/exchange/delayed-message.js";
import { exchangeTypes } from "../broker/exchange/registry.js";
import { validateVhostLimits, VhostLimitsError, type VhostLimits } from "../broker/vhost-limits.js";
import { checkPolicy, PolicyError, sortedDefinition, type ApplyTo, type Policy, type PolicyKind } from "../broker/policy-definition.js";
import type { JsonTerm } from "../broker/json-term.js";
import { bad } from "./definitions-error.js";
import { jsonToTable } from "./field-table-json.js";
import { isObject } from "./json.js";

export interface UserDef {
  name: string;
  passwordHash: string;
  hashingAlgorithm: HashingAlgorithm;
  tags: string[];
}
export interface VhostDef {
  name: string;
  description: string;
  tags: string[];
  limits?: VhostLimits;
}
/** A "vhost-limits" parameter (what set_vhost_limits sets). */
export interface LimitsDef {
  vhost: string;
  limits: VhostLimits;
}
export interface PermissionDef {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
export interface TopicPermissionDef {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
export interface ExchangeDef {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}
export interface QueueDef {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
}
export interface BindingDef {
  vhost: string;
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
  arguments: FieldTable;
}

export function list(input: Record<string, unknown>, key: string): unknown[] {
  const v = input[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`'${key}' must be a list`);
  return v;
}

function str(o: Record<string, unknown>, key: string, where: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string") throw bad(`${where}: '${key}' must be a string`);
  return v;
}

function bool(o: Record<string, unknown>, key: string, where: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw bad(`${where}: '${key}' must be true or false`);
  return v;
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (!isObject(v)) throw bad(`${where} must be an object`);
  return v;
}

/** Tags as RabbitMQ accepts them: a list, or one comma-separated string (older exports). */
function tags(v: unknown, where: string): string[] {
  const list = parseTags(v);
  if (list === undefined) throw bad(`${where}: 'tags' must be a list of strings`);
  return list;
}

export function userDef(v: unknown, where: string): UserDef {
  const o = object(v, where);
  const name = str(o, "name", where);
  if (name === "") throw bad(`${where}: user name cannot be empty`);
  const algorithm = str(o, "hashing_algorithm", where, DEFAULT_HASHING_ALGORITHM);
  if (!isHashingAlgorithm(algorithm)) throw bad(`${where}: unknown hashing_algorithm '${algorithm}'`);
  let passwordHash: string;
  if (typeof o.password_hash === "string") passwordHash = o.password_hash;
  else if (typeof o.password === "string") passwordHash = hashPassword(o.password, undefined, algorithm);
  else throw bad(`${where}: a user needs 'password_hash' or 'password'`);
  return { name, passwordHash, hashingAlgorithm: algorithm, tags: tags(o.tags, where) };
}

export function vhostDef(v: unknown, where: string): VhostDef {
  const o = object(v, where);
  const metadata = isObject(o.metadata) ? o.metadata : {};
  const description = o.description ?? metadata.description ?? "";
  if (typeof description !== "string") throw bad(`${where}: 'description' must be a string`);
  const def: VhostDef = { name: str(o, "name", where), description, tags: tags(o.tags ?? metadata.tags, where) };
  // [[key, value], ...] in 3.10 exports, {key: value} in later ones; empty means none.
  const raw =
    Array.isArray(o.limits) && o.limits.every((p) => Array.isArray(p) && p.length === 2) ? Object.fromEntries(o.limits as Array<[string, unknown]>) : o.limits;
  if (raw !== undefined && raw !== null && !(isObject(raw) && Object.keys(raw).length === 0) && !(Array.isArray(raw) && raw.length === 0)) {
    def.limits = checkedLimits(raw, `${where}: limits`);
  }
  return def;
}

/** The vhost limits in a parameters entry; other components yield nothing (they are skipped). */
export function limitsDef(v: unknown, where: string): LimitsDef[] {
  const o = object(v, where);
  if (o.component !== "vhost-limits") return [];
  // An empty list is RabbitMQ's export of a vhost whose last limit was cleared through the HTTP API.
  const value = Array.isArray(o.value) && o.value.length === 0 ? {} : o.value;
  return [{ vhost: str(o, "vhost", where), limits: checkedLimits(value, `${where}: value`) }];
}

function checkedLimits(v: unknown, where: string): VhostLimits {
  try {
    return validateVhostLimits(v);
  } catch (err) {
    if (err instanceof VhostLimitsError) throw bad(`${where}: ${err.message.replace(/^Validation failed\n\n/, "").trim()}`);
    throw err;
  }
}

export function permissionDef(v: unknown, where: string): PermissionDef {
  const o = object(v, where);
  const p = {
    user: str(o, "user", where),
    vhost: str(o, "vhost", where),
    configure: str(o, "configure", where),
    write: str(o, "write", where),
    read: str(o, "read", where),
  };
  for (const pattern of [p.configure, p.write, p.read]) checkPattern(pattern, where);
  return p;
}

export function topicPermissionDef(v: unknown, where: string): TopicPermissionDef {
  const o = object(v, where);
  const p = {
    user: str(o, "user", where),
    vhost: str(o, "vhost", where),
    exchange: str(o, "exchange", where),
    write: str(o, "write", where),
    read: str(o, "read", where),
  };
  for (const pattern of [p.write, p.read]) checkPattern(pattern, where);
  return p;
}

/** A policy of the file, checked as set_policy checks one. */
export interface PolicyDef {
  kind: PolicyKind;
  policy: Policy;
}

/**
 * A policy checked as set_policy checks it; RabbitMQ's validation text names the problem. A
 * definition may be an object, or [key, value] pairs (how RabbitMQ 3.10 exports operator policies).
 */
function checkedPolicy(kind: PolicyKind, o: Record<string, unknown>, vhost: string, name: string, where: string): PolicyDef {
  const raw = o.definition;
  const definition = (
    Array.isArray(raw) && raw.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string")
      ? Object.fromEntries(raw as Array<[string, unknown]>)
      : raw
  ) as JsonTerm;
  const priority = o.priority ?? 0;
  if (typeof priority !== "number" || !Number.isInteger(priority)) throw bad(`${where}: 'priority' must be an integer`);
  const applyTo = o["apply-to"] ?? "all";
  if (typeof applyTo !== "string") throw bad(`${where}: 'apply-to' must be a string`);
  const pattern = str(o, "pattern", where);
  try {
    checkPolicy(kind, { pattern, definition, priority, applyTo });
  } catch (err) {
    if (err instanceof PolicyError) throw bad(`${where}: ${err.message.trim()}`);
    throw err;
  }
  return { kind, policy: { vhost, name, pattern, applyTo: applyTo as ApplyTo, definition: sortedDefinition(definition), priority } };
}

/** An entry of "policies": {vhost, name, pattern, definition, priority, apply-to}. */
export function policyDef(v: unknown, where: string): PolicyDef {
  const o = object(v, where);
  return checkedPolicy("policy", o, str(o, "vhost", where), str(o, "name", where), where);
}

/** The operator policy in a parameters entry (component "operator_policy"); other components yield nothing. */
export function operatorPolicyDef(v: unknown, where: string): PolicyDef[] {
  const o = object(v, where);
  if (o.component !== "operator_policy") return [];
  return [checkedPolicy("operator_policy", object(o.value, `${where}: value`), str(o, "vhost", where), str(o, "name", where), where)];
}

/** Refuse the file when a pattern cannot be taken (nothing has changed yet). */
export function checkPattern(pattern: string, where: string): void {
  const why = patternProblem(pattern);
  if (why !== undefined) throw bad(`${where}: regular expression '${pattern}' is invalid: ${why}`);
}

export function exchangeDef(v: unknown, where: string): ExchangeDef {
  const o = object(v, where);
  const type = str(o, "type", where);
  if (!exchangeTypes.has(type)) throw bad(`${where}: unknown exchange type '${type}'`);
  const def = {
    vhost: str(o, "vhost", where),
    name: str(o, "name", where),
    type,
    durable: bool(o, "durable", where, true),
    autoDelete: bool(o, "auto_delete", where, false),
    internal: bool(o, "internal", where, false),
    arguments: jsonToTable(o.arguments ?? {}, `${where}.arguments`),
  };
  // Checked here, before anything is imported: creating it would refuse it halfway.
  if (type === "x-delayed-message") {
    try {
      checkDelayedExchangeArguments(def.arguments);
    } catch (err) {
      throw bad(`${where}: ${(err as Error).message}`);
    }
  }
  return def;
}

export function queueDef(v: unknown, where: string): QueueDef {
  const o = object(v, where);
  return {
    vhost: str(o, "vhost", where),
    name: str(o, "name", where),
    durable: bool(o, "durable", where, true),
    autoDelete: bool(o, "auto_delete", where, false),
    arguments: jsonToTable(o.arguments ?? {}, `${where}.arguments`),
  };
}

export function bindingDef(v: unknown, where: string): BindingDef {
  const o = object(v, where);
  const destinationType = str(o, "destination_type", where);
  if (destinationType !== "queue" && destinationType !== "exchange") throw bad(`${where}: 'destination_type' must be queue or exchange`);
  return {
    vhost: str(o, "vhost", where),
    source: str(o, "source", where),
    destination: str(o, "destination", where),
    destinationType,
    routingKey: str(o, "routing_key", where, ""),
    arguments: jsonToTable(o.arguments ?? {}, `${where}.arguments`),
  };
}
