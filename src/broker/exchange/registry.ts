import { DelayedMessageExchange } from "./delayed-message.js";
import { DirectExchange } from "./direct.js";
import type { Exchange, ExchangeOptions } from "./exchange.js";
import { FanoutExchange } from "./fanout.js";
import { HeadersExchange } from "./headers.js";
import { TopicExchange } from "./topic.js";

type ExchangeClass = new (name: string, vhost: string, options: ExchangeOptions) => Exchange;

/** The exchange types a client may declare, by their AMQP type name. */
export const exchangeTypes: ReadonlyMap<string, ExchangeClass> = new Map<string, ExchangeClass>([
  ["direct", DirectExchange],
  ["fanout", FanoutExchange],
  ["topic", TopicExchange],
  ["headers", HeadersExchange],
  ["x-delayed-message", DelayedMessageExchange],
]);
