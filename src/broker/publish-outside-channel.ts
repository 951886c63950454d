import type { Exchange } from "./exchange/exchange.js";
import type { Message } from "./message.js";
import type { Queue } from "./queue.js";
import { RouteList } from "./route-list.js";
import type { VHost } from "./vhost.js";

/** What a publish from outside any channel came to. */
export interface OutsidePublish {
  /** A queue took the message. */
  routed: boolean;
  /** A delayed-message exchange stored it for later (not routed yet, as with the plugin). */
  held: boolean;
}

/**
 * Route a message through `exchange` and enqueue it in every queue it reaches, counting the
 * exchange's publish statistics, as a channel's publish does but with no publisher to confirm,
 * return or hold: the management API's publish and the embedded library's `publish` share it.
 */
export function publishOutsideChannel(vhost: VHost, exchange: Exchange, message: Message): OutsidePublish {
  const queues = new RouteList<Queue>();
  vhost.route(exchange, message, queues);
  exchange.stats.publish++;
  if (queues.length > 0) exchange.stats.publishOut++;
  for (let i = 0; i < queues.length; i++) queues.at(i).enqueue(message);
  const held = message.held !== undefined && message.held !== "refused";
  message.held = undefined;
  return { routed: queues.length > 0, held };
}
