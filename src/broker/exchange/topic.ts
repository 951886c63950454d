import type { Binding, Destination } from "../binding.js";
import type { Message } from "../message.js";
import { Exchange } from "./exchange.js";
import { TopicTrie } from "./topic-trie.js";
import type { RouteList } from "../route-list.js";

/** Cached routing keys per exchange; the cache is dropped whenever bindings change. */
const CACHE_LIMIT = 4096;

/** Routes by pattern ('*' one word, '#' zero or more), through a trie and a per-key cache. */
export class TopicExchange extends Exchange {
  readonly type = "topic";
  private readonly trie = new TopicTrie<Destination>();
  private readonly cache = new Map<string, Destination[]>();

  route(_message: Message, key: string, out: RouteList<Destination>): void {
    let dests = this.cache.get(key);
    if (dests === undefined) {
      dests = this.trie.match(key);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, dests);
    }
    for (let i = 0; i < dests.length; i++) out.push(dests[i]!);
  }

  protected indexAdd(binding: Binding): void {
    this.trie.add(binding.routingKey, binding.destination);
    this.cache.clear();
  }

  protected indexRemove(binding: Binding): void {
    this.trie.remove(binding.routingKey, binding.destination);
    this.cache.clear();
  }
}
