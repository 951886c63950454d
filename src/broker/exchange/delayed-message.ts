import { fail } from "../../amqp/errors.js";
import type { FieldTable } from "../../amqp/field-types.js";
import { refuse } from "../../amqp/refusals.js";
import type { Binding, Destination } from "../binding.js";
import { DelayedMessages } from "../delayed-messages.js";
import type { Message } from "../message.js";
import type { RouteList } from "../route-list.js";
import { DirectExchange } from "./direct.js";
import { Exchange, type ExchangeHost, type ExchangeOptions } from "./exchange.js";
import { FanoutExchange } from "./fanout.js";
import { HeadersExchange } from "./headers.js";
import { TopicExchange } from "./topic.js";

export const DELAYED_TYPE_ARG = "x-delayed-type";

/** The types an x-delayed-message exchange can route as (the ones Warren has, but itself). */
const ROUTING_TYPES = new Map<string, new (name: string, vhost: string, options: ExchangeOptions) => Exchange>([
  ["direct", DirectExchange],
  ["fanout", FanoutExchange],
  ["topic", TopicExchange],
  ["headers", HeadersExchange],
]);

/**
 * The `x-delayed-message` exchange of rabbitmq-delayed-message-exchange: it routes as the type its
 * `x-delayed-type` argument names (an exchange of that type inside it keeps the bindings' index),
 * except that a message whose `x-delay` header asks for a delay (1 to 2^32 - 1 ms) is held
 * (delayed-messages.ts) and routed when due. Held, it routes nowhere now: as with the plugin, a
 * mandatory publish comes back (NO_ROUTE) and an alternate exchange gets it at once.
 *
 * The argument is checked when the exchange is created, with the plugin's errors; as RabbitMQ
 * checks only alternate-exchange on a redeclare, another x-delayed-type then is not an error.
 */
export class DelayedMessageExchange extends Exchange {
  readonly type = "x-delayed-message";
  override readonly routesByKey: boolean;
  /** An exchange of the x-delayed-type: its index of the bindings does the routing. */
  private readonly inner: Exchange;
  /** Set once the vhost holds the exchange (and has storage). */
  private delayed: DelayedMessages | undefined;
  /** The routing pass (Exchange.routeEpoch) whose message was last looked at, and whether it was held. */
  private lookedAtEpoch = -1;
  private heldInPass = false;

  constructor(name: string, vhost: string, options: ExchangeOptions) {
    super(name, vhost, options);
    const Inner = ROUTING_TYPES.get(routingTypeOf(options.arguments[DELAYED_TYPE_ARG]));
    this.inner = new Inner!(name, vhost, options);
    this.routesByKey = this.inner.routesByKey;
  }

  override get routingType(): string {
    return this.inner.type;
  }

  /** Messages held now (the plugin's messages_delayed). */
  get messagesDelayed(): number {
    return this.delayed?.count ?? 0;
  }

  override attach(host: ExchangeHost): void {
    if (host.storage !== undefined) this.delayed ??= new DelayedMessages({ exchange: this, storage: host.storage, router: host });
  }

  override recover(): number {
    return this.delayed !== undefined && this.options.durable ? this.delayed.recover() : 0;
  }

  override detach(): void {
    this.delayed?.destroy();
  }

  override stopTimers(): void {
    this.delayed?.stopTimers();
  }

  route(message: Message, routingKey: string, out: RouteList<Destination>): void {
    // Called once per routing key (CC, BCC) in a pass: the message is looked at, and held, once.
    if (this.lookedAtEpoch !== this.routeEpoch) {
      this.lookedAtEpoch = this.routeEpoch;
      this.heldInPass = this.delayed !== undefined && this.delayed.hold(message);
    }
    if (!this.heldInPass) this.inner.route(message, routingKey, out);
  }

  protected indexAdd(binding: Binding): void {
    this.inner.addBinding(binding);
  }

  protected indexRemove(binding: Binding): void {
    this.inner.removeBinding(binding.key);
  }
}

/**
 * Check a new x-delayed-message exchange's arguments as the plugin does (throws its AmqpError):
 * for a definitions import, which checks everything before it changes anything.
 */
export function checkDelayedExchangeArguments(args: FieldTable): void {
  routingTypeOf(args[DELAYED_TYPE_ARG]);
}

/** The x-delayed-type, checked as the plugin's validate/1 checks it (a binary naming an exchange type, not its own). */
function routingTypeOf(arg: unknown): string {
  const type = Buffer.isBuffer(arg) ? arg.toString("utf8") : arg;
  if (typeof type !== "string") throw fail.preconditionFailed("Invalid argument, 'x-delayed-type' must be an existing exchange type");
  if (type === "x-delayed-message") throw fail.preconditionFailed("Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
  if (!ROUTING_TYPES.has(type)) throw refuse.unknownExchangeType(type);
  return type;
}
