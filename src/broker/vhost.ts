import type { FieldTable } from "../amqp/field-types.js";
import { fail } from "../amqp/errors.js";
import { refuse, resourceName } from "../amqp/refusals.js";
import { Binding, bindingKey, isQueue, type Destination } from "./binding.js";
import { DeadLetterer } from "./dead-letter.js";
import { exchangeAlternate, queueSettings, streamRetention, type QueueSettings } from "./effective-settings.js";
import { DEFAULT_RETRY_INTERVAL, HeldDeadLetters } from "./held-dead-letters.js";
import type { Logger } from "../logger.js";
import { DefaultExchange } from "./exchange/default.js";
import type { Exchange, ExchangeHost, ExchangeOptions } from "./exchange/exchange.js";
import { parseMatchKind } from "./exchange/headers-match.js";
import { exchangeTypes } from "./exchange/registry.js";
import type { Message } from "./message.js";
import { Queue, type QueueOptions } from "./queue.js";
import { queueTypeOf } from "./queue-arguments.js";
import { sharedQueueOptions } from "./shared-queue-options.js";
import { StreamQueue } from "./stream-queue.js";
import { checkQueueEquivalence, inequivalence } from "./queue-equivalence.js";
import { valuesEqual } from "./exchange/headers-match.js";
import type { DefinitionsJournal } from "./journal.js";
import type { QueueStorage } from "./message-log.js";
import type { NodeCounters } from "./node-counters.js";
import { limitOf, type VhostLimits } from "./vhost-limits.js";
import { RouteList } from "./route-list.js";
import type { Policy, PolicyKind } from "./policy-definition.js";
import { PolicySet } from "./policy-set.js";

/** The exchanges every vhost starts with, as RabbitMQ declares them. */
const PREDECLARED: Array<[string, string, internal?: boolean]> = [
  ["amq.direct", "direct"],
  ["amq.fanout", "fanout"],
  ["amq.topic", "topic"],
  ["amq.headers", "headers"],
  ["amq.match", "headers"],
  // RabbitMQ's firehose tracer publishes here; it exists (internal) in every vhost.
  ["amq.rabbitmq.trace", "topic", true],
];

/** What a vhost is given besides its storage and journal. */
export interface VhostOptions {
  /** Where the model logs what RabbitMQ's queues log (dead-lettering falling back, held dead letters). */
  log?: Logger;
  /** ms between attempts to forward a quorum queue's held dead letters (at-least-once); RabbitMQ's 3 minutes by default. */
  deadLetterRetryInterval?: number;
  /** The broker's counters, told of each queue deleted. */
  counters?: NodeCounters;
}

/** What RabbitMQ keeps about a vhost besides its contents (shown by list_vhosts, exported). */
export interface VhostMetadata {
  description: string;
  tags: string[];
}

/**
 * A virtual host: its own exchanges, queues and bindings. All checks that depend only on the
 * model (existence, equivalence, if-unused) are made here and raise the AMQP error RabbitMQ gives;
 * access rights and exclusivity are the channel's business.
 */
export class VHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  readonly defaultExchange: DefaultExchange;
  metadata: VhostMetadata = { description: "", tags: [] };
  /** set_policy's policies and set_operator_policy's, by name. */
  readonly policies = new PolicySet();
  readonly operatorPolicies = new PolicySet();
  /** set_vhost_limits' value; undefined when none was set (or it was cleared). */
  private limitsValue: VhostLimits | undefined;
  private epoch = 0;
  /** route()'s list of destinations still to walk, reused: routing runs once per publish. */
  private readonly pendingScratch = new RouteList<Destination>();
  private routing = false;
  private journal: DefinitionsJournal | undefined;
  /** Where the queues that have x-dead-letter-exchange send what they drop. */
  private readonly deadLetterer = new DeadLetterer(this);
  /** Every queue's onUnused (an auto-delete queue lost its last consumer): one function, not one per queue. */
  private readonly deleteUnusedQueue = (queue: Queue): void => {
    this.deleteQueue(queue);
  };
  /** What exchanges that route after a publish (delayed-message) use: the storage, and this vhost's routing. */
  private readonly exchangeHost: ExchangeHost;

  constructor(
    readonly name: string,
    private readonly storage?: QueueStorage,
    journal?: DefinitionsJournal,
    private readonly options: VhostOptions = {},
  ) {
    this.exchangeHost = { storage, route: (exchange, message, queues) => this.route(exchange, message, queues) };
    this.defaultExchange = new DefaultExchange(name, this.queues);
    this.exchanges.set("", this.defaultExchange);
    for (const [xname, type, internal = false] of PREDECLARED) {
      this.createExchange(xname, type, { durable: true, autoDelete: false, internal, arguments: {} });
    }
    // Set after the predeclared exchanges, which every vhost gets anyway and need no record.
    this.journal = journal;
  }

  get limits(): VhostLimits | undefined {
    return this.limitsValue;
  }

  /** Set (or, with undefined, clear) the vhost's limits; existing queues and connections stay. */
  setLimits(limits: VhostLimits | undefined): void {
    this.limitsValue = limits;
    this.journal?.vhostLimitsSet(this.name, limits);
  }

  /** The max-connections limit in force, if any. */
  get connectionLimit(): number | undefined {
    return limitOf(this.limitsValue, "max-connections");
  }

  /** 406 when one more queue would pass max-queues (RabbitMQ checks new queues only). */
  checkQueueLimit(name: string): void {
    const limit = limitOf(this.limitsValue, "max-queues");
    if (limit !== undefined && this.queues.size + 1 > limit) {
      throw refuse.queueLimit(name, this.name, limit);
    }
  }

  /** The user policies or the operator policies. */
  policySet(kind: PolicyKind): PolicySet {
    return kind === "policy" ? this.policies : this.operatorPolicies;
  }

  /**
   * Add or replace a policy (checked by the caller: policy-definition.ts), and apply the policies
   * anew to every queue and exchange, as RabbitMQ does on set_policy.
   */
  setPolicy(kind: PolicyKind, policy: Policy): void {
    this.journal?.policySet(kind, policy); // first: a change the log refuses is not made
    this.policySet(kind).set(policy);
    this.reapplyPolicies();
  }

  /** Remove a policy and apply the policies anew; false when there was none of that name. */
  clearPolicy(kind: PolicyKind, name: string): boolean {
    if (this.policySet(kind).get(name) === undefined) return false;
    this.journal?.policyCleared(this.name, kind, name);
    this.policySet(kind).clear(name);
    this.reapplyPolicies();
    return true;
  }

  /** Match every queue and exchange again; those whose policies changed take their new settings. */
  private reapplyPolicies(): void {
    for (const exchange of [...this.exchanges.values()]) this.applyExchangePolicies(exchange, false);
    for (const queue of [...this.queues.values()]) this.applyQueuePolicies(queue, false);
  }

  /**
   * Give a queue its policies and the settings they make with its arguments (effective-settings.ts).
   * A queue whose policies did not change is left alone, unless `always` (a new queue).
   */
  private applyQueuePolicies(queue: Queue, always: boolean): void {
    let policy: Policy | undefined;
    let operatorPolicy: Policy | undefined;
    if (this.policies.size > 0 || this.operatorPolicies.size > 0) {
      const target = { kind: "queue", name: queue.name, queueType: queueTypeOf(queue.options.arguments) } as const;
      policy = this.policies.match(target);
      operatorPolicy = this.operatorPolicies.match(target);
    }
    if (!always && policy === queue.policy && operatorPolicy === queue.operatorPolicy) return;
    if (always && policy === undefined && operatorPolicy === undefined) {
      // A new queue under no policy: the constructor applied its arguments.
      queue.dropHandler = queue.deadLetterExchange !== undefined ? this.deadLetterer.handler : undefined;
      if (queue.type === "quorum") this.applyDeadLetterStrategy(queue, queueSettings(queue.options.arguments));
      return;
    }
    queue.policy = policy;
    queue.operatorPolicy = operatorPolicy;
    const settings = queueSettings(queue.options.arguments, policy, operatorPolicy);
    // Before the settings: a new length limit may drop messages, dead-lettered with the new exchange.
    queue.dropHandler = settings.deadLetterExchange !== undefined ? this.deadLetterer.handler : undefined;
    queue.applySettings(settings);
    if (queue.type === "quorum") this.applyDeadLetterStrategy(queue, settings);
    if (queue instanceof StreamQueue) queue.setRetention(streamRetention(queue.options.arguments, policy, operatorPolicy));
  }

  /**
   * A quorum queue's dead-letter strategy, as rabbit_quorum_queue and rabbit_fifo_dlx switch it:
   * at-least-once gives the queue its held dead letters; leaving it deletes those it held (logged);
   * staying in it, held letters are tried again at once (the exchange or routing key may have
   * changed). A configured at-least-once not in force is logged with RabbitMQ's words.
   */
  private applyDeadLetterStrategy(queue: Queue, settings: QueueSettings): void {
    const log = this.options.log;
    const what = `queue '${queue.name}' in vhost '${this.name}'`;
    if (settings.deadLetterFallback === "drop-head") {
      log?.warn(
        { event: "dead_letter.strategy_fallback", vhost: this.name, queue: queue.name },
        `Falling back to dead-letter-strategy at-most-once for ${what} because configured dead-letter-strategy at-least-once is incompatible with effective overflow strategy drop-head. To enable dead-letter-strategy at-least-once, set overflow strategy to reject-publish.`,
      );
    } else if (settings.deadLetterFallback === "no-exchange") {
      log?.warn(
        { event: "dead_letter.strategy_disabled", vhost: this.name, queue: queue.name },
        `Disabling dead-lettering for ${what} despite configured dead-letter-strategy 'at-least-once' because dead-letter-exchange is not configured.`,
      );
    }
    const held = queue.heldDeadLetters;
    if (queue.deadLetterStrategy === "at-least-once") {
      if (held !== undefined) held.topologyChanged();
      else if (this.storage !== undefined) {
        queue.heldDeadLetters = new HeldDeadLetters({
          queue,
          storage: this.storage,
          deadLetterer: this.deadLetterer,
          retryInterval: this.options.deadLetterRetryInterval ?? DEFAULT_RETRY_INTERVAL,
          log,
        });
      }
    } else if (held !== undefined) {
      const bytes = held.bytes;
      const count = held.destroy();
      queue.heldDeadLetters = undefined;
      log?.info(
        { event: "dead_letter.held_deleted", vhost: this.name, queue: queue.name, messages: count, bytes },
        `Deleted ${count} dead-lettered messages (with total messages size of ${bytes} bytes) in ${what}`,
      );
    }
  }

  /** Give an exchange its policies: its alternate exchange may come from one. */
  private applyExchangePolicies(exchange: Exchange, always: boolean): void {
    const target = { kind: "exchange", name: exchange.name } as const;
    const policy = this.policies.size === 0 ? undefined : this.policies.match(target);
    const operatorPolicy = this.operatorPolicies.size === 0 ? undefined : this.operatorPolicies.match(target);
    if (!always && policy === exchange.policy && operatorPolicy === exchange.operatorPolicy) return;
    exchange.policy = policy;
    exchange.operatorPolicy = operatorPolicy;
    // The default exchange routes by queue name only and never to an alternate (rabbit_exchange:route).
    if (exchange !== this.defaultExchange) exchange.alternate = exchangeAlternate(exchange.options.arguments, policy);
  }

  private describe(kind: "exchange" | "queue", name: string): string {
    return resourceName(kind, name, this.name);
  }

  getExchange(name: string): Exchange {
    const x = this.exchanges.get(name);
    if (x === undefined) throw refuse.notFound("exchange", name, this.name);
    return x;
  }

  getQueue(name: string): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw refuse.notFound("queue", name, this.name);
    return q;
  }

  /** Declare (or check the equivalence of) an exchange. The type has been checked by the caller. */
  declareExchange(name: string, type: string, options: ExchangeOptions): Exchange {
    const existing = this.exchanges.get(name);
    if (existing === undefined) return this.createExchange(name, type, options);
    const what = this.describe("exchange", name);
    const inequivalent = (arg: string, received: unknown, current: unknown) => refuse.inequivalentValue(what, arg, received, current);
    if (existing.type !== type) throw inequivalent("type", type, existing.type);
    if (existing.options.durable !== options.durable) throw inequivalent("durable", options.durable, existing.options.durable);
    if (existing.options.autoDelete !== options.autoDelete) {
      throw inequivalent("auto_delete", options.autoDelete, existing.options.autoDelete);
    }
    if (existing.options.internal !== options.internal) throw inequivalent("internal", options.internal, existing.options.internal);
    const ae = "alternate-exchange";
    const [a, b] = [options.arguments[ae], existing.options.arguments[ae]];
    if (!(a === undefined && b === undefined) && (a === undefined || b === undefined || !valuesEqual(a, b))) {
      throw refuse.inequivalentArg(what, ae, inequivalence(options.arguments, existing.options.arguments, ae));
    }
    return existing;
  }

  private createExchange(name: string, type: string, options: ExchangeOptions): Exchange {
    const Type = exchangeTypes.get(type);
    if (Type === undefined) throw refuse.unknownExchangeType(type);
    const exchange = new Type(name, this.name, options);
    this.journal?.exchangeDeclared(exchange); // first: a declare the log refuses is not made
    this.exchanges.set(name, exchange);
    exchange.attach(this.exchangeHost);
    if (this.policies.size > 0 || this.operatorPolicies.size > 0) this.applyExchangePolicies(exchange, true);
    return exchange;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    const exchange = this.exchanges.get(name);
    if (exchange === undefined) return; // delete is idempotent, as in RabbitMQ
    // In use means bound as a source; being only a destination does not count (RabbitMQ).
    if (ifUnused && exchange.bindings.size > 0) {
      throw refuse.inUse("exchange", name, this.name);
    }
    this.removeExchange(exchange);
  }

  private removeExchange(exchange: Exchange): void {
    if (exchange.deleted) return;
    exchange.deleted = true;
    this.exchanges.delete(exchange.name);
    for (const binding of [...exchange.bindings.values()]) this.removeBinding(binding);
    for (const binding of [...exchange.incoming]) this.removeBinding(binding);
    this.journal?.exchangeDeleted(exchange);
    exchange.detach();
  }

  /**
   * Declare a queue, or check an existing one is equivalent. Returns the queue and whether it is
   * new. Exclusive ownership of an existing queue is checked here too (405 RESOURCE_LOCKED).
   */
  declareQueue(name: string, options: QueueOptions): { queue: Queue; created: boolean } {
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      checkQueueEquivalence(existing, options, this.describe("queue", name));
      return { queue: existing, created: false };
    }
    if (this.storage === undefined) throw new Error("a vhost without storage cannot hold queues");
    const Type = queueTypeOf(options.arguments) === "stream" ? StreamQueue : Queue;
    const queue = new Type(name, this.name, sharedQueueOptions(options), this.deleteUnusedQueue, this.storage);
    this.journal?.queueDeclared(queue); // first: a declare the log refuses is not made
    this.queues.set(name, queue);
    this.applyQueuePolicies(queue, true);
    return { queue, created: true };
  }

  /** Delete a queue: unbind it, cancel its consumers, drop its messages. Returns the message count. */
  deleteQueue(queue: Queue, conditions: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
    if (queue.deleted) return 0;
    if (conditions.ifUnused && queue.consumerCount > 0) {
      throw refuse.inUse("queue", queue.name, this.name);
    }
    // RabbitMQ 3.10 deletes a stream whatever if-empty says.
    if (conditions.ifEmpty && queue.messageCount > 0 && !(queue instanceof StreamQueue)) {
      throw refuse.notEmpty(queue.name, this.name);
    }
    this.queues.delete(queue.name);
    for (const binding of [...queue.bindings]) this.removeBinding(binding);
    this.journal?.queueDeleted(queue);
    const count = queue.markDeleted();
    this.options.counters?.queueDeleted(queue);
    for (const consumer of [...queue.consumers]) {
      queue.removeConsumer(consumer);
      consumer.owner.consumerCancelled(consumer);
    }
    return count;
  }

  /** Bind a destination to a source exchange; binding twice is a no-op. */
  bind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source.routingType === "headers") {
      const kind = parseMatchKind(args);
      if (typeof kind !== "string") throw fail.preconditionFailed(kind.error);
    }
    const binding = new Binding(source, destination, routingKey, args);
    if (!source.addBinding(binding)) return;
    if (isQueue(destination)) destination.addBinding(binding);
    else destination.incoming.add(binding);
    this.journal?.bindingAdded(binding);
  }

  /** Remove a binding if it exists (unbinding a missing binding succeeds, as in RabbitMQ). */
  unbind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    const binding = source.bindings.get(bindingKey(destination, routingKey, args));
    if (binding !== undefined) this.removeBinding(binding);
  }

  private removeBinding(binding: Binding): void {
    const { source, destination } = binding;
    source.removeBinding(binding.key);
    if (isQueue(destination)) destination.removeBinding(binding);
    else destination.incoming.delete(binding);
    this.journal?.bindingRemoved(binding);
    // An auto-delete exchange goes with its last binding as a source.
    if (source.options.autoDelete && source.bindings.size === 0 && !source.deleted) this.removeExchange(source);
  }

  /**
   * Put into `queues` (emptied first) the queues a message published to `exchange` reaches, each
   * once, following exchange-to-exchange bindings (a loop is walked once). Callers pass a list
   * they reuse: routing runs once per publish and must not allocate.
   */
  route(exchange: Exchange, message: Message, queues: RouteList<Queue>): void {
    queues.clear();
    if (this.routing) {
      // A route() inside a route() (an exchange that publishes while routing) gets its own list.
      this.walk(exchange, message, new RouteList<Destination>(), queues);
      return;
    }
    this.routing = true;
    try {
      this.walk(exchange, message, this.pendingScratch, queues);
    } finally {
      this.pendingScratch.clear(); // holds no destination past the call
      this.routing = false;
    }
  }

  private walk(exchange: Exchange, message: Message, pending: RouteList<Destination>, queues: RouteList<Queue>): void {
    const epoch = ++this.epoch;
    exchange.routeEpoch = epoch;
    this.routeThrough(exchange, message, pending);
    for (let i = 0; i < pending.length; i++) {
      const d = pending.at(i);
      if (d.routeEpoch === epoch) continue;
      d.routeEpoch = epoch;
      if (isQueue(d)) queues.push(d);
      else this.routeThrough(d, message, pending);
    }
  }

  /**
   * One exchange's step of a routing pass: its destinations for the routing key and for the
   * message's CC and BCC keys; when it has none, its alternate exchange, if that exists (each
   * exchange is walked once per pass, so alternates that point at each other end). As RabbitMQ's
   * rabbit_exchange:route1, an exchange reached through a binding uses its own alternate too.
   */
  private routeThrough(exchange: Exchange, message: Message, pending: RouteList<Destination>): void {
    const before = pending.length;
    exchange.route(message, message.routingKey, pending);
    const extraKeys = message.extraRoutingKeys;
    if (extraKeys !== undefined && exchange.routesByKey) {
      for (let i = 0; i < extraKeys.length; i++) exchange.route(message, extraKeys[i]!, pending);
    }
    if (pending.length !== before || exchange.alternate === undefined) return;
    const alternate = this.exchanges.get(exchange.alternate);
    // RabbitMQ 3.10 routes by queue name only for messages published to the default exchange
    // itself: as an alternate exchange it has no bindings and routes nowhere.
    if (alternate !== undefined && alternate !== this.defaultExchange) pending.push(alternate);
  }
}
