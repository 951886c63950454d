import type { AccessJournal } from "./journal.js";
import { ByUserAndVhost } from "./by-user-and-vhost.js";
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
  /** Per user and vhost: the topic permissions by exchange (never an empty map). */
  private readonly table = new ByUserAndVhost<Map<string, TopicPermission>>();

  constructor(private readonly journal?: AccessJournal) {}

  /** Bumped by every change. */
  get version(): number {
    return this.table.version;
  }

  /** The user's topic permissions on a vhost, by exchange; undefined when there are none. */
  forVhost(user: string, vhost: string): ReadonlyMap<string, TopicPermission> | undefined {
    return this.table.get(user, vhost);
  }

  /** Set (or replace) one; throws, changing nothing, on a pattern that cannot be taken. */
  set(user: string, vhost: string, exchange: string, write: string, read: string): TopicPermission {
    const permission = new TopicPermission(user, vhost, exchange, write, read);
    const exchanges = new Map(this.table.get(user, vhost));
    exchanges.set(exchange, permission);
    this.table.set(user, vhost, exchanges);
    this.journal?.topicPermissionSet(permission);
    return permission;
  }

  /** Clear one exchange's, or (exchange undefined) all of the user's on the vhost; clearing none succeeds. */
  clear(user: string, vhost: string, exchange?: string): void {
    const exchanges = this.table.get(user, vhost);
    if (exchanges === undefined) return;
    const cleared = exchange === undefined ? [...exchanges.keys()] : exchanges.has(exchange) ? [exchange] : [];
    if (cleared.length === 0) return;
    const left = new Map(exchanges);
    for (const name of cleared) {
      left.delete(name);
      this.journal?.topicPermissionCleared(user, vhost, name);
    }
    if (left.size === 0) this.table.delete(user, vhost);
    else this.table.set(user, vhost, left);
  }

  /** Every topic permission, ordered by user, vhost, exchange. */
  list(): TopicPermission[] {
    const out: TopicPermission[] = [];
    for (const { value: exchanges } of this.table.sorted()) {
      for (const exchange of [...exchanges.keys()].sort()) out.push(exchanges.get(exchange)!);
    }
    return out;
  }

  /** Forget a deleted user's or vhost's (not journaled: see ByUserAndVhost). */
  forgetUser(user: string): void {
    this.table.forgetUser(user);
  }

  forgetVhost(vhost: string): void {
    this.table.forgetVhost(vhost);
  }
}
