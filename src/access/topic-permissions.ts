import type { AccessJournal } from "./journal.js";
import { compilePattern, type AccessPattern } from "./pattern.js";

/**
 * A user's topic permission on one exchange of a vhost (RabbitMQ 3.10): a write pattern matched
 * against the routing key of every publish to that (topic) exchange, and a read pattern matched
 * against the binding key of every bind and unbind from it. Unanchored, like permissions; an
 * empty pattern matches no key but the empty one ("^$").
 *
 * RabbitMQ replaces `{username}` and `{vhost}` in a pattern before matching (and `{client_id}` for
 * MQTT clients only: an AMQP 0-9-1 channel has no client id, so it stays as written). Both are
 * fixed for a (user, vhost) pair, so the patterns are expanded and compiled once, here. The values
 * go in as they are, not escaped, as RabbitMQ inserts them.
 */
export class TopicPermission {
  private readonly writeRe: AccessPattern;
  private readonly readRe: AccessPattern;

  constructor(
    readonly user: string,
    readonly vhost: string,
    readonly exchange: string,
    readonly write: string,
    readonly read: string,
  ) {
    // The pattern as set must be valid (RabbitMQ checks it so), and so must its expansion.
    compilePattern(write);
    compilePattern(read);
    this.writeRe = compilePattern(expandVariables(write, user, vhost));
    this.readRe = compilePattern(expandVariables(read, user, vhost));
  }

  allows(kind: "write" | "read", routingKey: string): boolean {
    return (kind === "write" ? this.writeRe : this.readRe).test(routingKey);
  }
}

/** `{username}` and `{vhost}` replaced everywhere in a pattern (rabbit_auth_backend_internal). */
export function expandVariables(pattern: string, user: string, vhost: string): string {
  return pattern.replaceAll("{username}", user).replaceAll("{vhost}", vhost);
}

/**
 * Topic permissions by user, vhost and exchange. `version` changes on every change, so a channel
 * can keep what it looked up. A user with none on a vhost is allowed everything there, and so is
 * a publish or bind to an exchange the user has no topic permission for.
 */
export class TopicPermissionStore {
  private readonly byUser = new Map<string, Map<string, Map<string, TopicPermission>>>();
  /** Bumped by every change. */
  version = 0;

  constructor(private readonly journal?: AccessJournal) {}

  /** The user's topic permissions on a vhost, by exchange; undefined when there are none. */
  forVhost(user: string, vhost: string): ReadonlyMap<string, TopicPermission> | undefined {
    return this.byUser.get(user)?.get(vhost);
  }

  /** Set (or replace) one; throws, changing nothing, on a pattern that cannot be taken. */
  set(user: string, vhost: string, exchange: string, write: string, read: string): TopicPermission {
    const permission = new TopicPermission(user, vhost, exchange, write, read);
    let vhosts = this.byUser.get(user);
    if (vhosts === undefined) this.byUser.set(user, (vhosts = new Map()));
    let exchanges = vhosts.get(vhost);
    if (exchanges === undefined) vhosts.set(vhost, (exchanges = new Map()));
    exchanges.set(exchange, permission);
    this.version++;
    this.journal?.topicPermissionSet(permission);
    return permission;
  }

  /** Clear one exchange's, or (exchange undefined) all of the user's on the vhost; clearing none succeeds. */
  clear(user: string, vhost: string, exchange?: string): void {
    const vhosts = this.byUser.get(user);
    const exchanges = vhosts?.get(vhost);
    if (vhosts === undefined || exchanges === undefined) return;
    const cleared = exchange === undefined ? [...exchanges.keys()] : exchanges.has(exchange) ? [exchange] : [];
    if (cleared.length === 0) return;
    for (const name of cleared) {
      exchanges.delete(name);
      this.journal?.topicPermissionCleared(user, vhost, name);
    }
    if (exchanges.size === 0) vhosts.delete(vhost);
    if (vhosts.size === 0) this.byUser.delete(user);
    this.version++;
  }

  /** Every topic permission, ordered by user, vhost, exchange. */
  list(): TopicPermission[] {
    const out: TopicPermission[] = [];
    for (const user of [...this.byUser.keys()].sort()) {
      const vhosts = this.byUser.get(user)!;
      for (const vhost of [...vhosts.keys()].sort()) {
        const exchanges = vhosts.get(vhost)!;
        for (const exchange of [...exchanges.keys()].sort()) out.push(exchanges.get(exchange)!);
      }
    }
    return out;
  }

  /** Forget a deleted user's or vhost's (not journaled: user.delete and vhost.delete imply it). */
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
