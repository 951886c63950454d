import type { Broker } from "../broker/broker.js";
import type { Logger } from "../logger.js";
import type { DefinitionOp } from "./definitions-store.js";
import {
  bindingOp,
  decodeTable,
  exchangeOp,
  permissionOp,
  policyOp,
  queueOp,
  topicPermissionOp,
  userOp,
  vhostLimitsOp,
  vhostOp,
} from "./definitions-journal.js";
import { restoreAccessOp } from "../access/restore.js";

const key = (...parts: string[]) => parts.join("\u0000");

/** The durable definitions a log describes, after every change in it is applied. */
export function foldDefinitions(ops: DefinitionOp[]): DefinitionOp[] {
  const vhosts = new Map<string, DefinitionOp>();
  const exchanges = new Map<string, DefinitionOp>();
  const queues = new Map<string, DefinitionOp>();
  const bindings = new Map<string, DefinitionOp>();
  const users = new Map<string, DefinitionOp>();
  const permissions = new Map<string, DefinitionOp>();
  const topicPermissions = new Map<string, DefinitionOp>();
  const limits = new Map<string, DefinitionOp>();
  const policies = new Map<string, DefinitionOp>();
  for (const op of ops) {
    switch (op.op) {
      case "vhost.add":
        vhosts.set(op.name, op);
        break;
      case "user.put":
        users.set(op.name, op);
        break;
      case "user.delete":
        users.delete(op.name);
        for (const map of [permissions, topicPermissions]) {
          for (const [k, v] of map) if ("user" in v && v.user === op.name) map.delete(k);
        }
        break;
      case "permission.set":
        permissions.set(key(op.user, op.vhost), op);
        break;
      case "permission.clear":
        permissions.delete(key(op.user, op.vhost));
        break;
      case "topic_permission.set":
        topicPermissions.set(key(op.user, op.vhost, op.exchange), op);
        break;
      case "topic_permission.clear":
        topicPermissions.delete(key(op.user, op.vhost, op.exchange));
        break;
      case "vhost.limits":
        if (op.limits === undefined) limits.delete(op.name);
        else limits.set(op.name, op);
        break;
      case "vhost.delete":
        vhosts.delete(op.name);
        limits.delete(op.name);
        for (const map of [exchanges, queues, bindings, permissions, topicPermissions, policies]) {
          for (const [k, v] of map) if ("vhost" in v && v.vhost === op.name) map.delete(k);
        }
        break;
      case "policy.set":
        policies.set(key(op.vhost, op.kind, op.name), op);
        break;
      case "policy.clear":
        policies.delete(key(op.vhost, op.kind, op.name));
        break;
      case "exchange.declare":
        exchanges.set(key(op.vhost, op.name), op);
        break;
      case "exchange.delete":
        exchanges.delete(key(op.vhost, op.name));
        break;
      case "queue.declare":
        queues.set(key(op.vhost, op.name), op);
        break;
      case "queue.delete":
        queues.delete(key(op.vhost, op.name));
        break;
      case "bind":
      case "unbind": {
        const k = key(op.vhost, op.source, op.destinationKind, op.destination, op.routingKey, op.arguments);
        if (op.op === "bind") bindings.set(k, op);
        else bindings.delete(k);
        break;
      }
    }
  }
  return [
    ...vhosts.values(),
    ...users.values(),
    ...permissions.values(),
    ...topicPermissions.values(),
    // Before the exchanges and queues: each is declared with its policies (and recovers under them).
    ...policies.values(),
    ...exchanges.values(),
    ...queues.values(),
    ...bindings.values(),
    // Last: a limit set below what already exists must not refuse the restored queues.
    ...limits.values(),
  ];
}

/**
 * Recreate the durable definitions in an empty broker (with its journal off), and recover each
 * durable queue's messages from its store.
 */
export function restoreDefinitions(broker: Broker, ops: DefinitionOp[], log: Logger): void {
  let messages = 0;
  let queues = 0;
  let delayed = 0;
  for (const op of foldDefinitions(ops)) {
    if (op.op === "vhost.add") {
      broker.addVhost(op.name, op.description !== undefined ? { description: op.description, tags: op.tags ?? [] } : undefined);
      continue;
    }
    if (op.op === "vhost.limits") {
      broker.vhosts.get(op.name)?.setLimits(op.limits);
      continue;
    }
    if (restoreAccessOp(broker, op, log)) continue;
    const vhost = "vhost" in op ? broker.vhosts.get(op.vhost) : undefined;
    if (vhost === undefined) continue;
    switch (op.op) {
      case "policy.set": {
        const { kind, name, pattern, applyTo, definition, priority } = op;
        vhost.setPolicy(kind, { vhost: vhost.name, name, pattern, applyTo, definition, priority });
        break;
      }
      case "exchange.declare": {
        const exchange = vhost.declareExchange(op.name, op.type, {
          durable: true,
          autoDelete: op.autoDelete,
          internal: op.internal,
          arguments: decodeTable(op.arguments),
        });
        // A delayed-message exchange's held messages.
        delayed += exchange.recover();
        break;
      }
      case "queue.declare": {
        const { queue } = vhost.declareQueue(op.name, {
          durable: true,
          exclusive: false,
          autoDelete: op.autoDelete,
          arguments: decodeTable(op.arguments),
        });
        messages += queue.recover();
        queues++;
        break;
      }
      case "bind": {
        const source = vhost.exchanges.get(op.source);
        const destination = op.destinationKind === "queue" ? vhost.queues.get(op.destination) : vhost.exchanges.get(op.destination);
        if (source && destination) vhost.bind(source, destination, op.routingKey, decodeTable(op.arguments));
        break;
      }
    }
  }
  log.info({ event: "store.recovered", queues, messages, delayed }, `recovered ${queues} durable queues with ${messages} messages`);
}

/** The current durable definitions as a compact list of ops (the snapshot written at startup). */
export function snapshotDefinitions(broker: Broker): DefinitionOp[] {
  const ops: DefinitionOp[] = [];
  for (const vhost of broker.vhosts.values()) ops.push(vhostOp(vhost.name, vhost.metadata));
  for (const user of broker.users.list()) ops.push(userOp(user));
  for (const { user, vhost, permission } of broker.permissions.list()) ops.push(permissionOp(user, vhost, permission));
  for (const permission of broker.topicPermissions.list()) ops.push(topicPermissionOp(permission));
  for (const vhost of broker.vhosts.values()) {
    for (const policy of vhost.policies.list()) ops.push(policyOp("policy", policy));
    for (const policy of vhost.operatorPolicies.list()) ops.push(policyOp("operator_policy", policy));
  }
  for (const vhost of broker.vhosts.values()) {
    for (const x of vhost.exchanges.values()) {
      if (x.options.durable && x.name !== "" && !x.name.startsWith("amq.")) ops.push(exchangeOp(x));
    }
    for (const q of vhost.queues.values()) if (q.isDurable) ops.push(queueOp(q));
    for (const x of vhost.exchanges.values()) {
      for (const b of x.bindings.values()) {
        const d = b.destination;
        const durable = x.options.durable && (d.kind === "queue" ? d.isDurable : d.options.durable);
        if (durable) ops.push(bindingOp("bind", b));
      }
    }
  }
  for (const vhost of broker.vhosts.values()) if (vhost.limits !== undefined) ops.push(vhostLimitsOp(vhost.name, vhost.limits));
  return ops;
}
