import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import { Exchange } from "./exchange.js";
import type { RouteList } from "../route-list.js";

/** Routes to every binding, whatever the routing key. */
export class FanoutExchange extends Exchange {
  readonly type = "fanout";
  override readonly routesByKey = false;
  private readonly destinations: Destination[] = [];

  route(_message: Message, _routingKey: string, out: RouteList<Destination>): void {
    const dests = this.destinations;
    for (let i = 0; i < dests.length; i++) out.push(dests[i]!);
  }

  protected indexAdd(binding: Binding): void {
    this.destinations.push(binding.destination);
  }

  protected indexRemove(binding: Binding): void {
    const i = this.destinations.indexOf(binding.destination);
    if (i >= 0) this.destinations.splice(i, 1);
  }
}
