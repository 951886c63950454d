/**
 * A trie of topic binding patterns: words separated by '.', '*' matching one word and '#' zero or
 * more (RabbitMQ's semantics: the empty key has no words, empty words between dots count).
 *
 * Matching walks the trie depth first along the key's words. A '#' node remembers, per match, the
 * word indexes it was entered at (a stamp array on '#' nodes only, no allocation per match), so
 * each (node, word) pair is visited at most once and a match costs at most words x trie nodes
 * steps whatever the patterns: `#.a.#.a.#.z` against 60 words cannot explode into every way of
 * splitting the key between the '#'s, as a plain backtracking walk would. A trie without '#'
 * walks as before. Patterns are normalised when added, so `#.#` or `#.*.#` take one chain of nodes.
 */

/** The words of a key or pattern; the empty string has none (so "*" does not match it, "#" does). */
function words(key: string): string[] {
  return key === "" ? [] : key.split(".");
}

/**
 * The pattern's words with every run of wildcards in one canonical form: a run holding k '*' and
 * at least one '#' matches k or more words, which is k '*' followed by a single '#'
 * (`#.#` -> `#`, `#.*` -> `*.#`). A run of '*' alone is left as it is.
 */
export function normalisePattern(pattern: string): string[] {
  const input = words(pattern);
  const out: string[] = [];
  let stars = 0;
  let hash = false;
  const flush = (): void => {
    for (; stars > 0; stars--) out.push("*");
    if (hash) out.push("#");
    hash = false;
  };
  for (const word of input) {
    if (word === "*") stars++;
    else if (word === "#") hash = true;
    else {
      flush();
      out.push(word);
    }
  }
  flush();
  return out;
}

class TopicNode<T> {
  readonly children = new Map<string, TopicNode<T>>();
  star: TopicNode<T> | undefined;
  hash: TopicNode<T> | undefined;
  /** Values of patterns that end at this node, with how many bindings put each there. */
  readonly values = new Map<T, number>();
  /** On '#' nodes only: the match that last entered this node at word index i is seen[i]. */
  seen: number[] | undefined;

  isEmpty(): boolean {
    return this.children.size === 0 && !this.star && !this.hash && this.values.size === 0;
  }
}

export class TopicTrie<T> {
  private readonly root = new TopicNode<T>();
  /** Numbers the matches, so `seen` marks need no clearing. */
  private matchId = 0;

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const word of normalisePattern(pattern)) {
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
    const patternWords = normalisePattern(pattern);
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
    this.matchId++;
    this.walk(this.root, words(routingKey), 0, found);
    return [...found];
  }

  private walk(node: TopicNode<T>, words: string[], i: number, found: Set<T>): void {
    if (node.hash) this.walkHash(node.hash, words, i, found);
    if (i === words.length) {
      for (const v of node.values.keys()) found.add(v);
      return;
    }
    const child = node.children.get(words[i]!);
    if (child) this.walk(child, words, i + 1, found);
    if (node.star) this.walk(node.star, words, i + 1, found);
  }

  /**
   * A '#' node entered at word i: it swallows words i, i+1, ... and the pattern goes on after each.
   * A (node, word) pair already done in this match is not done again: whatever follows from it
   * has been found, and the words after it were done by the same loop.
   */
  private walkHash(node: TopicNode<T>, words: string[], i: number, found: Set<T>): void {
    const seen = (node.seen ??= []);
    for (; i <= words.length; i++) {
      if (seen[i] === this.matchId) return;
      seen[i] = this.matchId;
      this.walk(node, words, i, found);
    }
  }
}
