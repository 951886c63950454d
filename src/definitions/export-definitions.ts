/**
 * export_definitions: everything in the broker in RabbitMQ's JSON format (rabbitmqctl
 * export_definitions, the management API). A file exported from Warren imports into RabbitMQ 3.10.
 *
 * What is exported follows rabbit_definitions: every user, vhost and permission; exchanges that
 * are not internal, not the default and not amq.*; queues that are not exclusive; bindings that
 * are not the default exchange's. Warren leaves out bindings to exclusive queues, which RabbitMQ
 * exports but cannot import back. Vhost limits go out as RabbitMQ 3.10 writes them:
 * "vhost-limits" parameters, and [key, value] pairs under each vhost. Policies go in "policies",
 * operator policies in "operator_policy" parameters, as RabbitMQ 3.10 exports them.
 */
import type { Broker } from "../broker/broker.js";
import { isQueue } from "../broker/binding.js";
import { formatVhostLimits, type VhostLimits } from "../broker/vhost-limits.js";
import { tableToJson } from "./field-table-json.js";
import type { JsonObject } from "./json.js";

/** The RabbitMQ version Warren's behaviour and exports follow. */
export const RABBITMQ_COMPAT_VERSION = "3.10.8";

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
    parameters: [
      ...[...broker.vhosts.values()]
        .filter((v) => v.limits !== undefined)
        // No limits left (the last one cleared through the HTTP API): RabbitMQ writes an empty list.
        .map((v) => ({ component: "vhost-limits", name: "limits", value: Object.keys(v.limits!).length === 0 ? [] : sortedLimits(v.limits!), vhost: v.name })),
      // RabbitMQ 3.10 exports operator policies as parameters, their definitions as [key, value] pairs.
      ...[...broker.vhosts.values()].flatMap((v) =>
        v.operatorPolicies.list().map((p) => ({
          component: "operator_policy",
          name: p.name,
          value: { "apply-to": p.applyTo, definition: Object.entries(p.definition), pattern: p.pattern, priority: p.priority },
          vhost: v.name,
        })),
      ),
    ],
    permissions,
    policies: [...broker.vhosts.values()].flatMap((v) =>
      v.policies
        .list()
        .map((p) => ({ "apply-to": p.applyTo, definition: { ...p.definition }, name: p.name, pattern: p.pattern, priority: p.priority, vhost: v.name })),
    ),
    queues,
    rabbit_version: RABBITMQ_COMPAT_VERSION,
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    topic_permissions: topicPermissions,
    users,
    vhosts,
  };
}

/** The limits with their keys in order, as RabbitMQ exports them. */
function sortedLimits(limits: VhostLimits): JsonObject {
  return JSON.parse(formatVhostLimits(limits)) as JsonObject;
}
