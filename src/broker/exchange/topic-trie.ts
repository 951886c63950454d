/**
 * A trie of topic binding patterns: words separated by '.', '*' matching one word and '#' zero or
 * more. Matching walks the routing key's words once per trie branch that fits, so the cost follows
 * the key and the patterns that can match it, not the number of bindings.
 */
/** The words of a key or pattern; the empty string has none (so "*" does not match it, "#" does). */
function words(key: string): string[] {
  return key === "" ? [] : key.split(".");
}

class TopicNode<T> {
  readonly children = new Map<string, TopicNode<T>>();
  star: TopicNode<T> | undefined;
  hash: TopicNode<T> | undefined;
  /** Values of patterns that end at this node, with how many bindings put each there. */
  readonly values = new Map<T, number>();

  isEmpty(): boolean {
    return this.children.size === 0 && !this.star && !this.hash && this.values.size === 0;
  }
}

export class TopicTrie<T> {
  private readonly root = new TopicNode<T>();

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const word of words(pattern)) {
      if (word === "*") node = node.star ??= new TopicNode<T>();
      else if (word === "#") node = node.hash ??= new TopicNode<T>();
      else {
        let next = node.children.get(word);
        if (!next) node.children.set(word, (next = new TopicNode<T>()));
        node = next;
      }
    }
    node.values.set(value, (node.values.get(value) ?? 0) + 1);
  }

  remove(pattern: string, value: T): void {
    const patternWords = words(pattern);
    const path: TopicNode<T>[] = [this.root];
    let node: TopicNode<T> | undefined = this.root;
    for (const word of patternWords) {
      node = word === "*" ? node.star : word === "#" ? node.hash : node.children.get(word);
      if (!node) return;
      path.push(node);
    }
    const n = node.values.get(value);
    if (n === undefined) return;
    if (n > 1) node.values.set(value, n - 1);
    else node.values.delete(value);
    // Prune empty nodes so long-lived exchanges with churning bindings do not grow.
    for (let i = patternWords.length; i > 0; i--) {
      const child = path[i]!;
      if (!child.isEmpty()) break;
      const parent = path[i - 1]!;
      const word = patternWords[i - 1]!;
      if (word === "*") parent.star = undefined;
      else if (word === "#") parent.hash = undefined;
      else parent.children.delete(word);
    }
  }

  /** Every value whose pattern matches the routing key, each once. */
  match(routingKey: string): T[] {
    const found = new Set<T>();
    this.walk(this.root, words(routingKey), 0, found);
    return [...found];
  }

  private walk(node: TopicNode<T>, words: string[], i: number, found: Set<T>): void {
    if (node.hash) {
      // '#' swallows zero or more words: try every split point.
      for (let j = i; j <= words.length; j++) this.walk(node.hash, words, j, found);
    }
    if (i === words.length) {
      for (const v of node.values.keys()) found.add(v);
      return;
    }
    const child = node.children.get(words[i]!);
    if (child) this.walk(child, words, i + 1, found);
    if (node.star) this.walk(node.star, words, i + 1, found);
  }
}
