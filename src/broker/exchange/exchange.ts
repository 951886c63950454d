import { MessageStats } from "../message-stats.js";
import type { FieldTable } from "../../amqp/field-types.js";
import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import type { QueueStorage } from "../message-log.js";
import type { Queue } from "../queue.js";
import type { Policy } from "../policy-definition.js";
import type { RouteList } from "../route-list.js";

/** What an exchange that acts after a publish (the delayed-message type) needs of its vhost. */
export interface ExchangeHost {
  readonly storage: QueueStorage | undefined;
  /** Fill `queues` with the queues a message published to `exchange` reaches now. */
  route(exchange: Exchange, message: Message, queues: RouteList<Queue>): void;
}

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

/**
 * An exchange: a set of bindings and a way to pick destinations for a message.
 *
 * Each type keeps its own index of the bindings (a map for direct, a trie for topic, ...), kept in
 * step with `bindings` by `indexAdd` / `indexRemove`.
 */
export abstract class Exchange {
  readonly kind = "exchange";
  /** Outgoing bindings by identity (destination, key, arguments). */
  readonly bindings = new Map<string, Binding>();
  /** Exchange-to-exchange bindings that route into this exchange. */
  readonly incoming = new Set<Binding>();
  /** Marks the routing pass that last visited this exchange (loops in e2e bindings). */
  routeEpoch = 0;
  deleted = false;
  /** publish_in (publish) and publish_out counters for the management API. */
  readonly stats = new MessageStats();
  /** Where messages this exchange routes nowhere go instead: its `alternate-exchange` argument, or its policy's. */
  alternate: string | undefined;
  /** The policy and operator policy that apply (the vhost matches them: policy-set.ts). */
  policy: Policy | undefined = undefined;
  operatorPolicy: Policy | undefined = undefined;
  /** Whether the routing key picks the destinations (so CC and BCC keys route too): not for fanout and headers. */
  readonly routesByKey: boolean = true;

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: ExchangeOptions,
  ) {
    const ae = options.arguments["alternate-exchange"];
    this.alternate = typeof ae === "string" ? ae : undefined;
  }

  abstract readonly type: string;

  /** The type whose rules its bindings follow: its own, but for a delayed-message exchange's x-delayed-type. */
  get routingType(): string {
    return this.type;
  }

  /** The vhost holds the exchange now (declared or restored); most types need nothing of it. */
  attach(_host: ExchangeHost): void {}

  /** Take back what a previous run left held in the exchange (after a restore); returns how many messages. */
  recover(): number {
    return 0;
  }

  /** The exchange is deleted (or its vhost): let go of what it holds. */
  detach(): void {}

  /** The broker is stopping: stop any timer. */
  stopTimers(): void {}

  /**
   * Push the destinations of a message routed with `routingKey` onto `out` (duplicates are removed
   * by the caller). The key is the message's own, or one of its CC or BCC keys.
   */
  abstract route(message: Message, routingKey: string, out: RouteList<Destination>): void;

  protected abstract indexAdd(binding: Binding): void;
  protected abstract indexRemove(binding: Binding): void;

  /** Adds the binding unless an identical one exists; true when added. */
  addBinding(binding: Binding): boolean {
    if (this.bindings.has(binding.key)) return false;
    this.bindings.set(binding.key, binding);
    this.indexAdd(binding);
    return true;
  }

  removeBinding(key: string): Binding | undefined {
    const binding = this.bindings.get(key);
    if (binding === undefined) return undefined;
    this.bindings.delete(key);
    this.indexRemove(binding);
    return binding;
  }
}
