import { PermissionStore } from "../access/permissions.js";
import { TopicPermissionStore } from "../access/topic-permissions.js";
import { UserStore } from "../access/user-store.js";
import { Alarms } from "./alarms.js";
import type { DefinitionsJournal } from "./journal.js";
import type { QueueStorage } from "./message-log.js";
import { NodeCounters } from "./node-counters.js";
import { VHost, type VhostMetadata, type VhostOptions } from "./vhost.js";

/** The broker's whole model: vhosts, users and permissions. Knows nothing about sockets or files. */
export class Broker {
  readonly vhosts = new Map<string, VHost>();
  readonly users: UserStore;
  readonly permissions: PermissionStore;
  readonly topicPermissions: TopicPermissionStore;
  readonly alarms = new Alarms();
  /** Churn and retired message counters (Prometheus). */
  readonly counters = new NodeCounters();

  constructor(
    private readonly storage?: QueueStorage,
    private readonly journal?: DefinitionsJournal,
    /** What every vhost is given (vhost.ts). */
    private readonly vhostOptions: VhostOptions = {},
  ) {
    this.users = new UserStore(journal);
    this.permissions = new PermissionStore(journal);
    this.topicPermissions = new TopicPermissionStore(journal);
  }

  addVhost(name: string, metadata?: VhostMetadata): VHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) {
      this.vhosts.set(name, (vhost = new VHost(name, this.storage, this.journal, { ...this.vhostOptions, counters: this.counters })));
      if (metadata !== undefined) vhost.metadata = metadata;
      this.journal?.vhostAdded(name, metadata);
    }
    return vhost;
  }

  /** Stop every queue's timers (message expiry, x-expires): the broker is stopping. */
  stopTimers(): void {
    for (const vhost of this.vhosts.values()) {
      for (const queue of vhost.queues.values()) queue.stopTimers();
      for (const exchange of vhost.exchanges.values()) exchange.stopTimers();
    }
  }

  /**
   * Delete a vhost and everything in it: queues (with their stored messages), exchanges,
   * bindings, and the permissions granted on it. The one vhost.delete record stands for all of it
   * in the definitions log; only the queues need deleting one by one (consumers, stores). Its connections must be closed first (the
   * server's business). Returns false when there is no such vhost.
   */
  deleteVhost(name: string): boolean {
    const vhost = this.vhosts.get(name);
    if (vhost === undefined) return false;
    for (const queue of [...vhost.queues.values()]) vhost.deleteQueue(queue);
    for (const exchange of vhost.exchanges.values()) exchange.detach(); // delayed messages held in them
    this.vhosts.delete(name);
    this.permissions.forgetVhost(name);
    this.topicPermissions.forgetVhost(name);
    this.journal?.vhostDeleted(name);
    return true;
  }
}
