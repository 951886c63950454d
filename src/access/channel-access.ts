import { fail } from "../amqp/errors.js";
import type { AccessKind, Permission, PermissionStore } from "./permissions.js";

/** The resources permissions apply to (topic permissions are not supported). */
export type ResourceKind = "queue" | "exchange";

/**
 * The permission checks of one channel, as rabbit_channel makes them: each throws 403
 * ACCESS_REFUSED ("access to queue 'q' in vhost '/' refused for user 'u'"), which closes the
 * channel. The default exchange is checked under the name "amq.default".
 *
 * The user's Permission for the vhost is looked up once and kept until the store changes
 * (`PermissionStore.version`). Publishing keeps the last exchange that passed, so a stream of
 * publishes to one exchange costs two comparisons each and no regex, like RabbitMQ's per-channel
 * permission cache. Unlike RabbitMQ (whose cache outlives a permission change), any change to
 * permissions invalidates the cache at once.
 */
export class ChannelAccess {
  private permission: Permission | undefined;
  private version = -1;
  private lastExchange: string | undefined;
  private lastExchangeVersion = -1;

  constructor(
    private readonly store: PermissionStore,
    readonly user: string,
    readonly vhost: string,
  ) {}

  configure(kind: ResourceKind, name: string): void {
    this.check("configure", kind, name);
  }

  write(kind: ResourceKind, name: string): void {
    this.check("write", kind, name);
  }

  read(kind: ResourceKind, name: string): void {
    this.check("read", kind, name);
  }

  /** basic.publish: write on the exchange, cached for the last exchange published to. */
  publish(exchange: string): void {
    if (exchange === this.lastExchange && this.lastExchangeVersion === this.store.version) return;
    this.check("write", "exchange", exchange);
    this.lastExchange = exchange;
    this.lastExchangeVersion = this.store.version;
  }

  private check(access: AccessKind, kind: ResourceKind, name: string): void {
    if (this.version !== this.store.version) {
      this.permission = this.store.get(this.user, this.vhost);
      this.version = this.store.version;
    }
    const resource = kind === "exchange" && name === "" ? "amq.default" : name;
    if (this.permission !== undefined && this.permission.allows(access, resource)) return;
    throw fail.accessRefused(`access to ${kind} '${resource}' in vhost '${this.vhost}' refused for user '${this.user}'`);
  }
}
