import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import type { Queue } from "../queue.js";
import { Exchange } from "./exchange.js";
import type { RouteList } from "../route-list.js";

/**
 * The nameless default exchange: every queue is implicitly bound to it by its own name. It holds
 * no bindings of its own (binding to it is refused before it gets here).
 */
export class DefaultExchange extends Exchange {
  readonly type = "direct";

  constructor(
    vhost: string,
    private readonly queues: Map<string, Queue>,
  ) {
    super("", vhost, { durable: true, autoDelete: false, internal: false, arguments: {} });
  }

  route(_message: Message, routingKey: string, out: RouteList<Destination>): void {
    const queue = this.queues.get(routingKey);
    if (queue !== undefined) out.push(queue);
  }

  protected indexAdd(_binding: Binding): void {}
  protected indexRemove(_binding: Binding): void {}
}
