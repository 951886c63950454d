/**
 * import_definitions and load_definitions: a file in RabbitMQ's JSON format (rabbitmqctl, the
 * management API) into the broker. A file exported from RabbitMQ 3.10 imports into Warren.
 *
 * Import adds and updates, never deletes. Like RabbitMQ it replaces users and permissions, and
 * skips exchanges and queues that already exist, whatever their properties. Unlike RabbitMQ it
 * checks the whole file (shapes, references, exchange types, patterns) before changing anything.
 * Vhost limits travel as RabbitMQ 3.10 writes them: "vhost-limits" parameters, and [key, value]
 * pairs under each vhost (an object in later versions; both are read). Policies come from
 * "policies", operator policies from "operator_policy" parameters (RabbitMQ 3.10 exports them
 * there, their definitions as [key, value] pairs), each checked as set_policy checks it. Other
 * parameters (which Warren does not have) are skipped with a warning.
 */
import { expandVariables } from "../access/topic-permissions.js";
import type { Broker } from "../broker/broker.js";
import { VHost } from "../broker/vhost.js";
import { limitOf } from "../broker/vhost-limits.js";
import { queueArgumentProblem } from "../broker/queue-arguments.js";
import {
  bindingDef,
  checkPattern,
  exchangeDef,
  limitsDef,
  list,
  operatorPolicyDef,
  policyDef,
  permissionDef,
  queueDef,
  topicPermissionDef,
  userDef,
  vhostDef,
  type QueueDef,
} from "./definition-entries.js";
import { bad, DefinitionsError } from "./definitions-error.js";
import { isObject } from "./json.js";

/** The exchanges every vhost is created with (the default exchange aside). */
const PREDECLARED_EXCHANGES = new Set([...new VHost("").exchanges.keys()].filter((name) => name !== ""));

/** What an import did, for the log. */
export interface ImportSummary {
  users: number;
  vhosts: number;
  permissions: number;
  topicPermissions: number;
  exchanges: number;
  queues: number;
  bindings: number;
  /** Policies and operator policies. */
  policies: number;
  /** Categories present in the file that Warren does not support and skipped. */
  skipped: string[];
}

/**
 * Import parsed definitions. Throws DefinitionsError("bad_definitions") naming the first problem, in
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
  const skipped = ["parameters", "global_parameters"].filter((k) => list(input, k).length > 0);
  const parameters = list(input, "parameters");
  const limitDefs = parameters.flatMap((p, i) => limitsDef(p, `parameters[${i}]`));
  const policyDefs = [
    ...list(input, "policies").map((p, i) => policyDef(p, `policies[${i}]`)),
    ...parameters.flatMap((p, i) => operatorPolicyDef(p, `parameters[${i}]`)),
  ];
  // vhost-limits and operator_policy parameters are imported; only other components are skipped.
  const imported = limitDefs.length + policyDefs.filter((p) => p.kind === "operator_policy").length;
  if (imported === parameters.length && skipped.includes("parameters")) skipped.splice(skipped.indexOf("parameters"), 1);

  // References: everything must exist already or be defined in the file.
  const vhostNames = new Set([...broker.vhosts.keys(), ...vhosts.map((v) => v.name)]);
  const userNames = new Set([...broker.users.list().map((u) => u.name), ...users.map((u) => u.name)]);
  const needVhost = (name: string) => {
    // RabbitMQ's answer, and nothing has changed yet.
    if (!vhostNames.has(name)) throw new DefinitionsError("no_such_vhost", `Virtual host '${name}' does not exist`, name);
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
  policyDefs.forEach((p) => needVhost(p.policy.vhost));
  checkQueueLimits(broker, queues);
  checkQueueArgumentsOf(broker, queues);
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
  // Before the exchanges and queues, as RabbitMQ imports them: each is declared under its policies.
  for (const { kind, policy } of policyDefs) broker.vhosts.get(policy.vhost)!.setPolicy(kind, policy);
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
    policies: policyDefs.length,
    skipped,
  };
}

/** RabbitMQ refuses an import that would take a vhost past its max-queues (checked before any change). */
/**
 * The arguments of the queues the file adds, checked as a declare checks them; RabbitMQ's import
 * fails with the declare's error, which rabbitmqctl prints as an Elixir tuple.
 */
function checkQueueArgumentsOf(broker: Broker, queues: QueueDef[]): void {
  for (const q of queues) {
    if (broker.vhosts.get(q.vhost)?.queues.has(q.name)) continue;
    const problem = queueArgumentProblem(q.arguments);
    if (problem === undefined) continue;
    const text = `invalid arg '${problem.key}' for queue '${q.name}' in vhost '${q.vhost}'${problem.tail}`;
    throw bad(`{:amqp_error, :precondition_failed, '${text.replace(/'/g, "\\'")}', :none}`);
  }
}

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
    throw new DefinitionsError(
      "vhost_limit_exceeded",
      `Adding ${names.size} queue(s) to virtual host "${name}" would exceed the limit of ${limit} queue(s).\n\nThis virtual host currently has ${vhost.queues.size} queue(s) defined.\n\nImport aborted!`,
    );
  }
}
