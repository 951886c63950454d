import type { FieldTable } from "../amqp/field-types.js";
import type { Exchange } from "./exchange/exchange.js";
import type { Queue } from "./queue.js";
import { tableKey } from "./table-key.js";

/** Where a binding routes to: a queue, or another exchange (exchange-to-exchange binding). */
export type Destination = Queue | Exchange;

/** One binding: source exchange → destination, with a routing key and arguments. */
export class Binding {
  /** Identity within the source exchange: the same destination, key and arguments bind once. */
  readonly key: string;

  constructor(
    readonly source: Exchange,
    readonly destination: Destination,
    readonly routingKey: string,
    readonly args: FieldTable,
  ) {
    this.key = bindingKey(destination, routingKey, args);
  }
}

export function isQueue(d: Destination): d is Queue {
  return d.kind === "queue";
}

export function bindingKey(destination: Destination, routingKey: string, args: FieldTable): string {
  return `${isQueue(destination) ? "q" : "e"}\u0000${destination.name}\u0000${routingKey}\u0000${tableKey(args)}`;
}
