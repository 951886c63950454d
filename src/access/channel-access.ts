import { refuse } from "../amqp/refusals.js";
import type { AccessKind, Permission, PermissionStore } from "./permissions.js";
import type { TopicPermission, TopicPermissionStore } from "./topic-permissions.js";

/** The resources permissions apply to. */
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
 *
 * Topic permissions (checked only for topic exchanges) are looked up the same way: a user with
 * none on the vhost costs one comparison per publish; with some, the last exchange and routing
 * key that passed are kept, so a stream of publishes with one key costs no regex either.
 */
export class ChannelAccess {
  private permission: Permission | undefined;
  private version = -1;
  private lastExchange: string | undefined;
  private lastExchangeVersion = -1;
  private topicPermissions: ReadonlyMap<string, TopicPermission> | undefined;
  private topicVersion = -1;
  private lastTopicExchange: string | undefined;
  private lastTopicKey: string | undefined;

  constructor(
    private readonly store: PermissionStore,
    readonly user: string,
    readonly vhost: string,
    private readonly topicStore: TopicPermissionStore,
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

  /**
   * basic.publish to a topic exchange: the user's topic write pattern for it against the routing
   * key. 403 "access to topic ..." (channel closed) when it does not match.
   */
  publishTopic(exchange: string, routingKey: string): void {
    if (this.topicVersion !== this.topicStore.version) this.refreshTopic();
    if (this.topicPermissions === undefined) return;
    if (exchange === this.lastTopicExchange && routingKey === this.lastTopicKey) return;
    this.checkTopic("write", exchange, routingKey);
    this.lastTopicExchange = exchange;
    this.lastTopicKey = routingKey;
  }

  /** queue.bind/unbind and exchange.bind/unbind from a topic exchange: the read pattern against the binding key. */
  bindTopic(exchange: string, routingKey: string): void {
    if (this.topicVersion !== this.topicStore.version) this.refreshTopic();
    if (this.topicPermissions !== undefined) this.checkTopic("read", exchange, routingKey);
  }

  private refreshTopic(): void {
    this.topicPermissions = this.topicStore.forVhost(this.user, this.vhost);
    this.topicVersion = this.topicStore.version;
    this.lastTopicExchange = undefined;
    this.lastTopicKey = undefined;
  }

  private checkTopic(kind: "write" | "read", exchange: string, routingKey: string): void {
    const permission = this.topicPermissions?.get(exchange);
    if (permission === undefined || permission.allows(kind, routingKey)) return;
    throw refuse.topicAccess(routingKey, exchange, this.vhost, this.user);
  }

  private check(access: AccessKind, kind: ResourceKind, name: string): void {
    if (this.version !== this.store.version) {
      this.permission = this.store.get(this.user, this.vhost);
      this.version = this.store.version;
    }
    const resource = kind === "exchange" && name === "" ? "amq.default" : name;
    if (this.permission !== undefined && this.permission.allows(access, resource)) return;
    throw refuse.resourceAccess(kind, resource, this.vhost, this.user);
  }
}
