import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import { Exchange } from "./exchange.js";
import type { RouteList } from "../route-list.js";

/** Routes to bindings whose key equals the routing key: one map lookup per message. */
export class DirectExchange extends Exchange {
  readonly type = "direct";
  private readonly byKey = new Map<string, Destination[]>();

  route(_message: Message, routingKey: string, out: RouteList<Destination>): void {
    const dests = this.byKey.get(routingKey);
    if (dests !== undefined) for (let i = 0; i < dests.length; i++) out.push(dests[i]!);
  }

  protected indexAdd(binding: Binding): void {
    const list = this.byKey.get(binding.routingKey);
    if (list) list.push(binding.destination);
    else this.byKey.set(binding.routingKey, [binding.destination]);
  }

  protected indexRemove(binding: Binding): void {
    const list = this.byKey.get(binding.routingKey);
    if (!list) return;
    // The same destination can be bound with one key twice only with different arguments.
    const i = list.indexOf(binding.destination);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(binding.routingKey);
  }
}
