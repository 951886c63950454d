import { AmqpReader } from "../amqp/field-reader.js";
import { AmqpWriter } from "../amqp/field-writer.js";
import type { FieldTable } from "../amqp/field-types.js";
import { isQueue, type Binding } from "../broker/binding.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import type { DefinitionsJournal } from "../broker/journal.js";
import type { Queue } from "../broker/queue.js";
import type { VhostMetadata } from "../broker/vhost.js";
import type { VhostLimits } from "../broker/vhost-limits.js";
import type { Policy, PolicyKind } from "../broker/policy-definition.js";
import type { Permission } from "../access/permissions.js";
import type { TopicPermission } from "../access/topic-permissions.js";
import type { User } from "../access/user-store.js";
import type { DefinitionOp, DefinitionsStore } from "./definitions-store.js";

/** A binding is durable when both of its ends are. */
export function isDurableBinding(binding: Binding): boolean {
  const d = binding.destination;
  return binding.source.options.durable && (isQueue(d) ? d.isDurable : d.options.durable);
}

/** Writes the durable part of every definition change to the definitions log. */
export class DefinitionsLogJournal implements DefinitionsJournal {
  /** Off while the broker replays the log at startup. */
  enabled = true;

  constructor(private readonly store: DefinitionsStore) {}

  private write(op: DefinitionOp): void {
    if (this.enabled) this.store.append(op);
  }

  vhostAdded(name: string, metadata?: VhostMetadata): void {
    this.write(vhostOp(name, metadata));
  }

  vhostDeleted(name: string): void {
    this.write({ op: "vhost.delete", name });
  }

  vhostLimitsSet(name: string, limits: VhostLimits | undefined): void {
    this.write(vhostLimitsOp(name, limits));
  }

  userPut(user: User): void {
    this.write(userOp(user));
  }

  userDeleted(name: string): void {
    this.write({ op: "user.delete", name });
  }

  permissionSet(user: string, vhost: string, p: Permission): void {
    this.write(permissionOp(user, vhost, p));
  }

  permissionCleared(user: string, vhost: string): void {
    this.write({ op: "permission.clear", user, vhost });
  }

  topicPermissionSet(p: TopicPermission): void {
    this.write(topicPermissionOp(p));
  }

  topicPermissionCleared(user: string, vhost: string, exchange: string): void {
    this.write({ op: "topic_permission.clear", user, vhost, exchange });
  }

  exchangeDeclared(x: Exchange): void {
    if (x.options.durable) this.write(exchangeOp(x));
  }

  exchangeDeleted(x: Exchange): void {
    if (x.options.durable) this.write({ op: "exchange.delete", vhost: x.vhost, name: x.name });
  }

  queueDeclared(q: Queue): void {
    if (q.isDurable) this.write(queueOp(q));
  }

  queueDeleted(q: Queue): void {
    if (q.isDurable) this.write({ op: "queue.delete", vhost: q.vhost, name: q.name });
  }

  bindingAdded(b: Binding): void {
    if (isDurableBinding(b)) this.write(bindingOp("bind", b));
  }

  bindingRemoved(b: Binding): void {
    if (isDurableBinding(b)) this.write(bindingOp("unbind", b));
  }

  policySet(kind: PolicyKind, policy: Policy): void {
    this.write(policyOp(kind, policy));
  }

  policyCleared(vhost: string, kind: PolicyKind, name: string): void {
    this.write({ op: "policy.clear", vhost, kind, name });
  }
}

export function policyOp(kind: PolicyKind, p: Policy): DefinitionOp {
  return { op: "policy.set", vhost: p.vhost, kind, name: p.name, pattern: p.pattern, applyTo: p.applyTo, definition: p.definition, priority: p.priority };
}

export function vhostOp(name: string, metadata?: VhostMetadata): DefinitionOp {
  const meta = metadata !== undefined && (metadata.description !== "" || metadata.tags.length > 0);
  return meta ? { op: "vhost.add", name, description: metadata.description, tags: metadata.tags } : { op: "vhost.add", name };
}

export function vhostLimitsOp(name: string, limits: VhostLimits | undefined): DefinitionOp {
  return limits === undefined ? { op: "vhost.limits", name } : { op: "vhost.limits", name, limits: { ...limits } };
}

export function userOp(u: User): DefinitionOp {
  return { op: "user.put", name: u.name, passwordHash: u.passwordHash, hashingAlgorithm: u.hashingAlgorithm, tags: [...u.tags] };
}

export function permissionOp(user: string, vhost: string, p: Permission): DefinitionOp {
  return { op: "permission.set", user, vhost, configure: p.configure, write: p.write, read: p.read };
}

export function topicPermissionOp(p: TopicPermission): DefinitionOp {
  return { op: "topic_permission.set", user: p.user, vhost: p.vhost, exchange: p.exchange, write: p.write, read: p.read };
}

export function exchangeOp(x: Exchange): DefinitionOp {
  return {
    op: "exchange.declare",
    vhost: x.vhost,
    name: x.name,
    type: x.type,
    autoDelete: x.options.autoDelete,
    internal: x.options.internal,
    arguments: encodeTable(x.options.arguments),
  };
}

export function queueOp(q: Queue): DefinitionOp {
  return { op: "queue.declare", vhost: q.vhost, name: q.name, autoDelete: q.options.autoDelete, arguments: encodeTable(q.options.arguments) };
}

export function bindingOp(op: "bind" | "unbind", b: Binding): DefinitionOp {
  return {
    op,
    vhost: b.source.vhost,
    source: b.source.name,
    destination: b.destination.name,
    destinationKind: isQueue(b.destination) ? "queue" : "exchange",
    routingKey: b.routingKey,
    arguments: encodeTable(b.args),
  };
}

/** Field tables are kept AMQP-encoded, so every type survives exactly. */
export function encodeTable(table: FieldTable): string {
  const w = new AmqpWriter(256);
  w.table(table);
  return w.buf.subarray(0, w.pos).toString("base64");
}

export function decodeTable(encoded: string): FieldTable {
  const buf = Buffer.from(encoded, "base64");
  return new AmqpReader().reset(buf, 0, buf.length).table();
}
