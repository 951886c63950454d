import { compilePattern, type AccessPattern } from "./pattern.js";
import type { AccessJournal } from "./journal.js";
import { ByUserAndVhost } from "./by-user-and-vhost.js";

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
  private readonly table = new ByUserAndVhost<Permission>();

  constructor(private readonly journal?: AccessJournal) {}

  /** Bumped by every change. */
  get version(): number {
    return this.table.version;
  }

  get size(): number {
    return this.table.size;
  }

  get(user: string, vhost: string): Permission | undefined {
    return this.table.get(user, vhost);
  }

  /** Set (or replace) a user's permissions on a vhost. Throws on a pattern that does not compile. */
  set(user: string, vhost: string, configure: string, write: string, read: string): Permission {
    const permission = new Permission(configure, write, read);
    this.table.set(user, vhost, permission);
    this.journal?.permissionSet(user, vhost, permission);
    return permission;
  }

  /** Remove a user's permissions on a vhost; clearing what is not set succeeds (as RabbitMQ). */
  clear(user: string, vhost: string): void {
    if (this.table.delete(user, vhost)) this.journal?.permissionCleared(user, vhost);
  }

  /** Every (user, vhost, permission), ordered by user then vhost. */
  list(): Array<{ user: string; vhost: string; permission: Permission }> {
    return [...this.table.sorted()].map(({ user, vhost, value }) => ({ user, vhost, permission: value }));
  }

  /** Forget a deleted user's or vhost's permissions (not journaled: see ByUserAndVhost). */
  forgetUser(user: string): void {
    this.table.forgetUser(user);
  }

  forgetVhost(vhost: string): void {
    this.table.forgetVhost(vhost);
  }
}
