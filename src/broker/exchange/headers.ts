import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import { Exchange } from "./exchange.js";
import { compilePattern, headersMatch, type HeadersPattern } from "./headers-match.js";
import type { RouteList } from "../route-list.js";

/** Routes by comparing message headers with each binding's arguments (x-match all / any). */
export class HeadersExchange extends Exchange {
  readonly type = "headers";
  override readonly routesByKey = false;
  private readonly patterns = new Map<Binding, HeadersPattern>();

  route(message: Message, _routingKey: string, out: RouteList<Destination>): void {
    if (this.patterns.size === 0) return;
    const headers = message.properties.headers;
    for (const [binding, pattern] of this.patterns) {
      if (headersMatch(pattern, headers)) out.push(binding.destination);
    }
  }

  protected indexAdd(binding: Binding): void {
    this.patterns.set(binding, compilePattern(binding.args));
  }

  protected indexRemove(binding: Binding): void {
    this.patterns.delete(binding);
  }
}
