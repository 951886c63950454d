import type { Binding } from "./binding.js";
import type { Exchange } from "./exchange/exchange.js";
import type { Queue } from "./queue.js";

/**
 * Told of every change to exchanges, queues and bindings; the definitions store implements it and
 * keeps the durable ones. The broker model does not know what is durable on disk.
 */
export interface DefinitionsJournal {
  vhostAdded(name: string): void;
  exchangeDeclared(exchange: Exchange): void;
  exchangeDeleted(exchange: Exchange): void;
  queueDeclared(queue: Queue): void;
  queueDeleted(queue: Queue): void;
  bindingAdded(binding: Binding): void;
  bindingRemoved(binding: Binding): void;
}
