import type { AccessJournal } from "../access/journal.js";
import type { Binding } from "./binding.js";
import type { Exchange } from "./exchange/exchange.js";
import type { Policy, PolicyKind } from "./policy-definition.js";
import type { Queue } from "./queue.js";
import type { VhostMetadata } from "./vhost.js";
import type { VhostLimits } from "./vhost-limits.js";

/**
 * Told of every change to vhosts, exchanges, queues, bindings, users and permissions; the
 * definitions store implements it and keeps the durable ones. The broker model does not know
 * what is durable on disk.
 */
export interface DefinitionsJournal extends AccessJournal {
  vhostAdded(name: string, metadata?: VhostMetadata): void;
  vhostDeleted(name: string): void;
  /** A vhost's limits were set, or cleared (undefined). */
  vhostLimitsSet(name: string, limits: VhostLimits | undefined): void;
  exchangeDeclared(exchange: Exchange): void;
  exchangeDeleted(exchange: Exchange): void;
  queueDeclared(queue: Queue): void;
  queueDeleted(queue: Queue): void;
  bindingAdded(binding: Binding): void;
  bindingRemoved(binding: Binding): void;
  /** A policy or operator policy was set (added or replaced by name). */
  policySet(kind: PolicyKind, policy: Policy): void;
  policyCleared(vhost: string, kind: PolicyKind, name: string): void;
}
