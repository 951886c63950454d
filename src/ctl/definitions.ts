/**
 * Definitions in RabbitMQ's JSON format (rabbitmqctl export_definitions / import_definitions,
 * the management API, `load_definitions`): users, vhosts, permissions, topic permissions,
 * exchanges, queues and bindings. A file exported from RabbitMQ 3.10 imports into Warren and the other way round.
 *
 * What is exported follows rabbit_definitions: every user, vhost and permission; exchanges that
 * are not internal, not the default and not amq.*; queues that are not exclusive; bindings that
 * are not the default exchange's. Warren leaves out bindings to exclusive queues, which RabbitMQ
 * exports but cannot import back.
 *
 * Import adds and updates, never deletes. Like RabbitMQ it replaces users and permissions, and
 * skips exchanges and queues that already exist, whatever their properties. Unlike RabbitMQ it
 * checks the whole file (shapes, references, exchange types, patterns) before changing anything.
 * Vhost limits travel as RabbitMQ 3.10 writes them: "vhost-limits" parameters, and [key, value]
 * pairs under each vhost (an object in later versions; both are read). Policies and other
 * parameters (which Warren does not have) are skipped with a warning.
 */
import { patternProblem } from "../access/pattern.js";
import { expandVariables } from "../access/topic-permissions.js";
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isHashingAlgorithm, type HashingAlgorithm } from "../access/password.js";
import { Decimal, tableTypes, type FieldTable, type FieldValue } from "../amqp/field-types.js";
import type { Broker } from "../broker/broker.js";
import { isQueue } from "../broker/binding.js";
import { exchangeTypes } from "../broker/exchange/registry.js";
import { VHost } from "../broker/vhost.js";
import { formatVhostLimits, limitOf, validateVhostLimits, VhostLimitsError, type VhostLimits } from "../broker/vhost-limits.js";
import { ControlError } from "./protocol.js";

/** The exchanges every vhost is created with (the default exchange aside). */
const PREDECLARED_EXCHANGES = new Set([...new VHost("").exchanges.keys()].filter((name) => name !== ""));

/** The RabbitMQ version Warren's behaviour and exports follow. */
export const RABBITMQ_COMPAT_VERSION = "3.10.8";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Everything in the broker, as RabbitMQ's all_definitions (keys sorted as RabbitMQ prints them). */
export function exportDefinitions(broker: Broker): JsonObject {
  const users = broker.users.list().map((u) => ({
    hashing_algorithm: u.hashingAlgorithm,
    limits: {},
    name: u.name,
    password_hash: u.passwordHash,
    tags: [...u.tags],
  }));
  const vhosts = [...broker.vhosts.values()].map((v) => ({
    // RabbitMQ 3.10 lists a vhost's limits as [key, value] pairs here, and as a parameter below.
    limits: Object.entries(sortedLimits(v.limits ?? {})),
    metadata: { description: v.metadata.description, tags: [...v.metadata.tags] },
    name: v.name,
  }));
  const permissions = broker.permissions.list().map(({ user, vhost, permission: p }) => ({
    configure: p.configure,
    read: p.read,
    user,
    vhost,
    write: p.write,
  }));
  const topicPermissions = broker.topicPermissions.list().map((p) => ({
    exchange: p.exchange,
    read: p.read,
    user: p.user,
    vhost: p.vhost,
    write: p.write,
  }));
  const exchanges: JsonObject[] = [];
  const queues: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  for (const vhost of broker.vhosts.values()) {
    for (const x of vhost.exchanges.values()) {
      if (x.name === "" || x.name.startsWith("amq.") || x.options.internal) continue;
      exchanges.push({
        arguments: tableToJson(x.options.arguments),
        auto_delete: x.options.autoDelete,
        durable: x.options.durable,
        name: x.name,
        type: x.type,
        vhost: vhost.name,
      });
    }
    for (const q of vhost.queues.values()) {
      if (q.options.exclusive) continue;
      queues.push({
        arguments: tableToJson(q.options.arguments),
        auto_delete: q.options.autoDelete,
        durable: q.options.durable,
        name: q.name,
        type: "classic",
        vhost: vhost.name,
      });
    }
    for (const x of vhost.exchanges.values()) {
      for (const b of x.bindings.values()) {
        if (isQueue(b.destination) && b.destination.options.exclusive) continue;
        bindings.push({
          arguments: tableToJson(b.args),
          destination: b.destination.name,
          destination_type: isQueue(b.destination) ? "queue" : "exchange",
          routing_key: b.routingKey,
          source: x.name,
          vhost: vhost.name,
        });
      }
    }
  }
  return {
    bindings,
    exchanges,
    global_parameters: [],
    parameters: [...broker.vhosts.values()]
      .filter((v) => v.limits !== undefined)
      .map((v) => ({ component: "vhost-limits", name: "limits", value: sortedLimits(v.limits!), vhost: v.name })),
    permissions,
    policies: [],
    queues,
    rabbit_version: RABBITMQ_COMPAT_VERSION,
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    topic_permissions: topicPermissions,
    users,
    vhosts,
  };
}

/** What an import did, for the log. */
export interface ImportSummary {
  users: number;
  vhosts: number;
  permissions: number;
  topicPermissions: number;
  exchanges: number;
  queues: number;
  bindings: number;
  /** Categories present in the file that Warren does not support and skipped. */
  skipped: string[];
}

interface UserDef {
  name: string;
  passwordHash: string;
  hashingAlgorithm: HashingAlgorithm;
  tags: string[];
}
interface VhostDef {
  name: string;
  description: string;
  tags: string[];
  limits?: VhostLimits;
}
/** A "vhost-limits" parameter (what set_vhost_limits sets). */
interface LimitsDef {
  vhost: string;
  limits: VhostLimits;
}
interface PermissionDef {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
interface TopicPermissionDef {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
interface ExchangeDef {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}
interface QueueDef {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
}
interface BindingDef {
  vhost: string;
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
  arguments: FieldTable;
}

/**
 * Import parsed definitions. Throws ControlError("bad_definitions") naming the first problem, in
 * which case nothing has changed.
 */
export function importDefinitions(broker: Broker, input: unknown): ImportSummary {
  if (!isObject(input)) throw bad("the definitions must be a JSON object");
  const users = list(input, "users").map((u, i) => userDef(u, `users[${i}]`));
  const vhosts = list(input, "vhosts").map((v, i) => vhostDef(v, `vhosts[${i}]`));
  const permissions = list(input, "permissions").map((p, i) => permissionDef(p, `permissions[${i}]`));
  const topicPermissions = list(input, "topic_permissions").map((p, i) => topicPermissionDef(p, `topic_permissions[${i}]`));
  const exchanges = list(input, "exchanges").map((x, i) => exchangeDef(x, `exchanges[${i}]`));
  const queues = list(input, "queues").map((q, i) => queueDef(q, `queues[${i}]`));
  const bindings = list(input, "bindings").map((b, i) => bindingDef(b, `bindings[${i}]`));
  const skipped = ["policies", "parameters", "global_parameters"].filter((k) => list(input, k).length > 0);
  const parameters = list(input, "parameters");
  const limitDefs = parameters.flatMap((p, i) => limitsDef(p, `parameters[${i}]`));
  // vhost-limits parameters are imported; only other components are skipped.
  if (limitDefs.length === parameters.length && skipped.includes("parameters")) skipped.splice(skipped.indexOf("parameters"), 1);

  // References: everything must exist already or be defined in the file.
  const vhostNames = new Set([...broker.vhosts.keys(), ...vhosts.map((v) => v.name)]);
  const userNames = new Set([...broker.users.list().map((u) => u.name), ...users.map((u) => u.name)]);
  const needVhost = (name: string) => {
    // RabbitMQ's answer, and nothing has changed yet.
    if (!vhostNames.has(name)) throw new ControlError("no_such_vhost", `Virtual host '${name}' does not exist`, name);
  };
  permissions.forEach((p, i) => {
    needVhost(p.vhost);
    if (!userNames.has(p.user)) throw bad(`permissions[${i}]: user '${p.user}' does not exist`);
  });
  topicPermissions.forEach((p, i) => {
    needVhost(p.vhost);
    if (!userNames.has(p.user)) throw bad(`topic_permissions[${i}]: user '${p.user}' does not exist`);
    // {username} and {vhost} are put in before matching: the expanded pattern must be taken too.
    checkPattern(expandVariables(p.write, p.user, p.vhost), `topic_permissions[${i}]`);
    checkPattern(expandVariables(p.read, p.user, p.vhost), `topic_permissions[${i}]`);
  });
  exchanges.forEach((x) => needVhost(x.vhost));
  queues.forEach((q) => needVhost(q.vhost));
  limitDefs.forEach((l) => needVhost(l.vhost));
  checkQueueLimits(broker, queues);
  const defined = new Set([...exchanges.map((x) => `exchange\u0000${x.vhost}\u0000${x.name}`), ...queues.map((q) => `queue\u0000${q.vhost}\u0000${q.name}`)]);
  const exists = (kind: "queue" | "exchange", vhost: string, name: string) => {
    const v = broker.vhosts.get(vhost);
    // A vhost this file creates will have the predeclared exchanges (amq.direct, ...).
    if (v === undefined && kind === "exchange" && PREDECLARED_EXCHANGES.has(name)) return true;
    const there = kind === "queue" ? v?.queues.has(name) : v?.exchanges.has(name);
    return there === true || defined.has(`${kind}\u0000${vhost}\u0000${name}`);
  };
  bindings.forEach((b, i) => {
    needVhost(b.vhost);
    if (b.source === "" || !exists("exchange", b.vhost, b.source)) throw bad(`bindings[${i}]: no exchange '${b.source}' in vhost '${b.vhost}'`);
    if (!exists(b.destinationType, b.vhost, b.destination)) {
      throw bad(`bindings[${i}]: no ${b.destinationType} '${b.destination}' in vhost '${b.vhost}'`);
    }
  });

  for (const u of users) broker.users.put(u);
  for (const v of vhosts) {
    const existing = broker.vhosts.get(v.name);
    if (existing === undefined) broker.addVhost(v.name, { description: v.description, tags: v.tags });
    else existing.metadata = { description: v.description, tags: v.tags };
  }
  for (const v of vhosts) if (v.limits !== undefined) broker.vhosts.get(v.name)!.setLimits(v.limits);
  for (const l of limitDefs) broker.vhosts.get(l.vhost)!.setLimits(l.limits);
  for (const p of permissions) broker.permissions.set(p.user, p.vhost, p.configure, p.write, p.read);
  for (const p of topicPermissions) broker.topicPermissions.set(p.user, p.vhost, p.exchange, p.write, p.read);
  let exchangeCount = 0;
  for (const x of exchanges) {
    const vhost = broker.vhosts.get(x.vhost)!;
    if (x.name === "" || x.name.startsWith("amq.") || vhost.exchanges.has(x.name)) continue;
    vhost.declareExchange(x.name, x.type, { durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
    exchangeCount++;
  }
  let queueCount = 0;
  for (const q of queues) {
    const vhost = broker.vhosts.get(q.vhost)!;
    if (q.name.startsWith("amq.") || vhost.queues.has(q.name)) continue;
    vhost.declareQueue(q.name, { durable: q.durable, exclusive: false, autoDelete: q.autoDelete, arguments: q.arguments });
    queueCount++;
  }
  let bindingCount = 0;
  for (const [i, b] of bindings.entries()) {
    const vhost = broker.vhosts.get(b.vhost)!;
    const source = vhost.exchanges.get(b.source);
    const destination = b.destinationType === "queue" ? vhost.queues.get(b.destination) : vhost.exchanges.get(b.destination);
    // Checked above; an exchange or queue skipped as amq.* is the only way to miss one here.
    if (source === undefined || destination === undefined) throw bad(`bindings[${i}]: cannot bind '${b.source}' to '${b.destination}'`);
    vhost.bind(source, destination, b.routingKey, b.arguments);
    bindingCount++;
  }
  return {
    users: users.length,
    vhosts: vhosts.length,
    permissions: permissions.length,
    topicPermissions: topicPermissions.length,
    exchanges: exchangeCount,
    queues: queueCount,
    bindings: bindingCount,
    skipped,
  };
}

// ---- reading the file's entries ----

function bad(message: string): ControlError {
  return new ControlError("bad_definitions", message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function list(input: Record<string, unknown>, key: string): unknown[] {
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
  if (v === undefined || v === null || v === "") return [];
  if (typeof v === "string")
    return v
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== "");
  if (Array.isArray(v) && v.every((t) => typeof t === "string")) return v as string[];
  throw bad(`${where}: 'tags' must be a list of strings`);
}

function userDef(v: unknown, where: string): UserDef {
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

function vhostDef(v: unknown, where: string): VhostDef {
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
function limitsDef(v: unknown, where: string): LimitsDef[] {
  const o = object(v, where);
  if (o.component !== "vhost-limits") return [];
  return [{ vhost: str(o, "vhost", where), limits: checkedLimits(o.value, `${where}: value`) }];
}

function checkedLimits(v: unknown, where: string): VhostLimits {
  try {
    return validateVhostLimits(v);
  } catch (err) {
    if (err instanceof VhostLimitsError) throw bad(`${where}: ${err.message.replace(/^Validation failed\n\n/, "").trim()}`);
    throw err;
  }
}

/** The limits with their keys in order, as RabbitMQ exports them. */
function sortedLimits(limits: VhostLimits): JsonObject {
  return JSON.parse(formatVhostLimits(limits)) as JsonObject;
}

/** RabbitMQ refuses an import that would take a vhost past its max-queues (checked before any change). */
function checkQueueLimits(broker: Broker, queues: QueueDef[]): void {
  const added = new Map<string, Set<string>>();
  for (const q of queues) {
    if (broker.vhosts.get(q.vhost)?.queues.has(q.name)) continue;
    const names = added.get(q.vhost) ?? new Set<string>();
    added.set(q.vhost, names.add(q.name));
  }
  for (const [name, names] of added) {
    const vhost = broker.vhosts.get(name);
    const limit = limitOf(vhost?.limits, "max-queues");
    if (vhost === undefined || limit === undefined || vhost.queues.size + names.size <= limit) continue;
    throw new ControlError(
      "vhost_limit_exceeded",
      `Adding ${names.size} queue(s) to virtual host "${name}" would exceed the limit of ${limit} queue(s).\n\nThis virtual host currently has ${vhost.queues.size} queue(s) defined.\n\nImport aborted!`,
    );
  }
}

function permissionDef(v: unknown, where: string): PermissionDef {
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

function topicPermissionDef(v: unknown, where: string): TopicPermissionDef {
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

/** Refuse the file when a pattern cannot be taken (nothing has changed yet). */
function checkPattern(pattern: string, where: string): void {
  const why = patternProblem(pattern);
  if (why !== undefined) throw bad(`${where}: regular expression '${pattern}' is invalid: ${why}`);
}

function exchangeDef(v: unknown, where: string): ExchangeDef {
  const o = object(v, where);
  const type = str(o, "type", where);
  if (!exchangeTypes.has(type)) throw bad(`${where}: unknown exchange type '${type}'`);
  return {
    vhost: str(o, "vhost", where),
    name: str(o, "name", where),
    type,
    durable: bool(o, "durable", where, true),
    autoDelete: bool(o, "auto_delete", where, false),
    internal: bool(o, "internal", where, false),
    arguments: jsonToTable(o.arguments ?? {}, `${where}.arguments`),
  };
}

function queueDef(v: unknown, where: string): QueueDef {
  const o = object(v, where);
  return {
    vhost: str(o, "vhost", where),
    name: str(o, "name", where),
    durable: bool(o, "durable", where, true),
    autoDelete: bool(o, "auto_delete", where, false),
    arguments: jsonToTable(o.arguments ?? {}, `${where}.arguments`),
  };
}

function bindingDef(v: unknown, where: string): BindingDef {
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

// ---- arguments: JSON <-> AMQP field tables ----

/**
 * JSON arguments to a field table, typed as RabbitMQ types them on import
 * (rabbit_misc:to_amqp_table): integers are long, other numbers double, strings longstr.
 */
export function jsonToTable(v: unknown, where: string): FieldTable {
  if (!isObject(v)) throw bad(`${where} must be an object`);
  const table: FieldTable = {};
  const types: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    table[key] = jsonToField(value, `${where}.${key}`);
    if (typeof value === "number" && Number.isInteger(value)) types[key] = "l";
  }
  tableTypes.set(table, types);
  return table;
}

function jsonToField(v: unknown, where: string): FieldValue {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (Array.isArray(v)) return v.map((e, i) => jsonToField(e, `${where}[${i}]`));
  if (isObject(v)) return jsonToTable(v, where);
  throw bad(`${where}: unsupported value`);
}

/** A field table as the JSON RabbitMQ exports. */
export function tableToJson(table: FieldTable): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(table)) out[key] = fieldToJson(value);
  return out;
}

function fieldToJson(v: FieldValue): Json {
  if (v === null || typeof v === "string" || typeof v === "boolean" || typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (v instanceof Decimal) return v.value / 10 ** v.scale;
  if (Array.isArray(v)) return v.map(fieldToJson);
  return tableToJson(v);
}
