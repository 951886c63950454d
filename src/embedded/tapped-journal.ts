import type { Permission } from "../access/permissions.js";
import type { TopicPermission } from "../access/topic-permissions.js";
import type { User } from "../access/user-store.js";
import type { Binding } from "../broker/binding.js";
import type { Exchange } from "../broker/exchange/exchange.js";
import type { DefinitionsJournal } from "../broker/journal.js";
import type { Policy, PolicyKind } from "../broker/policy-definition.js";
import type { Queue } from "../broker/queue.js";
import type { VhostLimits } from "../broker/vhost-limits.js";
import type { VhostMetadata } from "../broker/vhost.js";

/** What a tap wants to hear of besides what the journal it wraps writes. */
export interface JournalTap {
  /** A queue is being declared (told after the inner journal took it, before the vhost holds it). */
  queueDeclared?(queue: Queue): void;
}

/**
 * A definitions journal that passes every change on to the one it wraps (the definitions log, or
 * none in memory) and tells a tap of the ones it asks for. The inner journal goes first, so a
 * change it refuses (it throws) never reaches the tap.
 */
export class TappedJournal implements DefinitionsJournal {
  constructor(
    private readonly inner: DefinitionsJournal | undefined,
    private readonly tap: JournalTap,
  ) {}

  vhostAdded(name: string, metadata?: VhostMetadata): void {
    this.inner?.vhostAdded(name, metadata);
  }
  vhostDeleted(name: string): void {
    this.inner?.vhostDeleted(name);
  }
  vhostLimitsSet(name: string, limits: VhostLimits | undefined): void {
    this.inner?.vhostLimitsSet(name, limits);
  }
  exchangeDeclared(exchange: Exchange): void {
    this.inner?.exchangeDeclared(exchange);
  }
  exchangeDeleted(exchange: Exchange): void {
    this.inner?.exchangeDeleted(exchange);
  }
  queueDeclared(queue: Queue): void {
    this.inner?.queueDeclared(queue);
    this.tap.queueDeclared?.(queue);
  }
  queueDeleted(queue: Queue): void {
    this.inner?.queueDeleted(queue);
  }
  bindingAdded(binding: Binding): void {
    this.inner?.bindingAdded(binding);
  }
  bindingRemoved(binding: Binding): void {
    this.inner?.bindingRemoved(binding);
  }
  policySet(kind: PolicyKind, policy: Policy): void {
    this.inner?.policySet(kind, policy);
  }
  policyCleared(vhost: string, kind: PolicyKind, name: string): void {
    this.inner?.policyCleared(vhost, kind, name);
  }
  userPut(user: User): void {
    this.inner?.userPut(user);
  }
  userDeleted(name: string): void {
    this.inner?.userDeleted(name);
  }
  permissionSet(user: string, vhost: string, permission: Permission): void {
    this.inner?.permissionSet(user, vhost, permission);
  }
  permissionCleared(user: string, vhost: string): void {
    this.inner?.permissionCleared(user, vhost);
  }
  topicPermissionSet(permission: TopicPermission): void {
    this.inner?.topicPermissionSet(permission);
  }
  topicPermissionCleared(user: string, vhost: string, exchange: string): void {
    this.inner?.topicPermissionCleared(user, vhost, exchange);
  }
}
