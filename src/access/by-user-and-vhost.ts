/**
 * Entries kept per user and vhost, as permissions and topic permissions are. `version` is bumped
 * by every change, so a channel can cache what it looked up and notice when it is stale. Deleting
 * a user or a vhost forgets its entries here (the journal's user.delete and vhost.delete records
 * imply that on replay).
 */
export class ByUserAndVhost<V> {
  private readonly byUser = new Map<string, Map<string, V>>();
  /** Bumped by every change. */
  version = 0;

  get size(): number {
    let n = 0;
    for (const vhosts of this.byUser.values()) n += vhosts.size;
    return n;
  }

  get(user: string, vhost: string): V | undefined {
    return this.byUser.get(user)?.get(vhost);
  }

  set(user: string, vhost: string, value: V): void {
    let vhosts = this.byUser.get(user);
    if (vhosts === undefined) this.byUser.set(user, (vhosts = new Map()));
    vhosts.set(vhost, value);
    this.version++;
  }

  /** True when there was an entry to delete. */
  delete(user: string, vhost: string): boolean {
    const vhosts = this.byUser.get(user);
    if (vhosts === undefined || !vhosts.delete(vhost)) return false;
    if (vhosts.size === 0) this.byUser.delete(user);
    this.version++;
    return true;
  }

  /** Every entry, ordered by user then vhost. */
  *sorted(): Generator<{ user: string; vhost: string; value: V }> {
    for (const user of [...this.byUser.keys()].sort()) {
      const vhosts = this.byUser.get(user)!;
      for (const vhost of [...vhosts.keys()].sort()) yield { user, vhost, value: vhosts.get(vhost)! };
    }
  }

  forgetUser(user: string): void {
    if (this.byUser.delete(user)) this.version++;
  }

  forgetVhost(vhost: string): void {
    for (const [user, vhosts] of this.byUser) {
      if (vhosts.delete(vhost)) {
        this.version++;
        if (vhosts.size === 0) this.byUser.delete(user);
      }
    }
  }
}
