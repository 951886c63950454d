import { compilePattern, type AccessPattern } from "./pattern.js";
import type { AccessJournal } from "./journal.js";

/** The three kinds of access RabbitMQ grants on a resource. */
export type AccessKind = "configure" | "write" | "read";

/**
 * A user's permissions on one vhost: three regular expressions matched against resource names.
 *
 * Matching is RabbitMQ's (rabbit_auth_backend_internal:check_resource_access): `re:run(Name,
 * Pattern)`, which is NOT anchored, so "foo" grants "my-foo-queue"; anchor with ^ and $ to be
 * strict. An empty pattern is replaced by "^$", which matches no real resource name. The patterns
 * are compiled once, here, for a linear-time engine (./pattern.ts), so a check cannot backtrack.
 */
export class Permission {
  private readonly configureRe: AccessPattern;
  private readonly writeRe: AccessPattern;
  private readonly readRe: AccessPattern;

  constructor(
    readonly configure: string,
    readonly write: string,
    readonly read: string,
  ) {
    this.configureRe = compilePattern(configure);
    this.writeRe = compilePattern(write);
    this.readRe = compilePattern(read);
  }

  allows(kind: AccessKind, name: string): boolean {
    const re = kind === "configure" ? this.configureRe : kind === "write" ? this.writeRe : this.readRe;
    return re.test(name);
  }
}

/**
 * Permissions by user and vhost. `version` changes on every change, so a channel can cache what
 * it looked up and notice when it is stale without a lookup per message.
 */
export class PermissionStore {
  private readonly byUser = new Map<string, Map<string, Permission>>();
  /** Bumped by every change. */
  version = 0;

  constructor(private readonly journal?: AccessJournal) {}

  get size(): number {
    let n = 0;
    for (const vhosts of this.byUser.values()) n += vhosts.size;
    return n;
  }

  get(user: string, vhost: string): Permission | undefined {
    return this.byUser.get(user)?.get(vhost);
  }

  /** Set (or replace) a user's permissions on a vhost. Throws on a pattern that does not compile. */
  set(user: string, vhost: string, configure: string, write: string, read: string): Permission {
    const permission = new Permission(configure, write, read);
    let vhosts = this.byUser.get(user);
    if (vhosts === undefined) this.byUser.set(user, (vhosts = new Map()));
    vhosts.set(vhost, permission);
    this.version++;
    this.journal?.permissionSet(user, vhost, permission);
    return permission;
  }

  /** Remove a user's permissions on a vhost; clearing what is not set succeeds (as RabbitMQ). */
  clear(user: string, vhost: string): void {
    const vhosts = this.byUser.get(user);
    if (vhosts === undefined || !vhosts.delete(vhost)) return;
    if (vhosts.size === 0) this.byUser.delete(user);
    this.version++;
    this.journal?.permissionCleared(user, vhost);
  }

  /** Every (user, vhost, permission), ordered by user then vhost. */
  list(): Array<{ user: string; vhost: string; permission: Permission }> {
    const out: Array<{ user: string; vhost: string; permission: Permission }> = [];
    for (const user of [...this.byUser.keys()].sort()) {
      const vhosts = this.byUser.get(user)!;
      for (const vhost of [...vhosts.keys()].sort()) out.push({ user, vhost, permission: vhosts.get(vhost)! });
    }
    return out;
  }

  /**
   * Forget a deleted user's or vhost's permissions. Not journaled: the user.delete and
   * vhost.delete records imply it when the log is replayed.
   */
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
