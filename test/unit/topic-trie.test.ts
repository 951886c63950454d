/**
 * Unit tests of topic matching (src/broker/exchange/topic-trie.ts): RabbitMQ's rules ('*' exactly
 * one word, '#' zero or more, words split on every '.', so empty words count and the empty key has
 * none), the trie's bookkeeping of bindings, pattern normalisation, and a comparison with a plain
 * recursive matcher on random patterns and keys.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalisePattern, TopicTrie } from "../../src/broker/exchange/topic-trie.js";
import { Message } from "../../src/broker/message.js";
import { VHost } from "../../src/broker/vhost.js";
import { memoryStorage } from "../../src/store/memory-storage.js";
import type { Queue } from "../../src/broker/queue.js";
import { RouteList } from "../../src/broker/route-list.js";

/** RabbitMQ's split_topic_key: "" has no words; every '.' separates two (possibly empty) words. */
function words(key: string): string[] {
  return key === "" ? [] : key.split(".");
}

/** The definition, written as plainly as possible (exponential, fine for short inputs). */
function referenceMatch(pattern: string[], key: string[]): boolean {
  if (pattern.length === 0) return key.length === 0;
  const [head, ...rest] = pattern;
  if (head === "#") {
    for (let i = 0; i <= key.length; i++) if (referenceMatch(rest, key.slice(i))) return true;
    return false;
  }
  if (key.length === 0) return false;
  return (head === "*" || head === key[0]) && referenceMatch(rest, key.slice(1));
}

function matches(pattern: string, key: string): boolean {
  const trie = new TopicTrie<string>();
  trie.add(pattern, "q");
  return trie.match(key).length === 1;
}

describe("topic matching", () => {
  // [pattern, key, matches]
  const cases: Array<[string, string, boolean]> = [
    // '#' matches zero or more words
    ["#", "", true],
    ["#", "a", true],
    ["#", "a.b.c", true],
    ["#", ".", true],
    ["a.#", "a", true],
    ["a.#", "a.b", true],
    ["a.#", "a.b.c", true],
    ["a.#", "b.a", false],
    ["a.#", "ab", false],
    ["#.a", "a", true],
    ["#.a", "x.y.a", true],
    ["#.a", "a.x", false],
    ["a.#.b", "a.b", true],
    ["a.#.b", "a.x.y.b", true],
    ["a.#.b", "a.b.c", false],
    ["#.a.#", "a", true],
    ["#.a.#", "x.a.y", true],
    ["#.a.#", "x.b.y", false],
    // '*' matches exactly one word, an empty one included
    ["*", "a", true],
    ["*", "", false],
    ["*", "a.b", false],
    ["*", ".", false],
    ["*.*", ".", true],
    ["a.*", "a.", true],
    ["a.*", "a", false],
    ["*.b", ".b", true],
    ["a.*.b", "a..b", true],
    ["a.*.b", "a.b", false],
    ["*.*", "a.b.c", false],
    // runs of wildcards
    ["#.#", "", true],
    ["#.#", "a.b", true],
    ["*.#", "", false],
    ["*.#", "a", true],
    ["*.#", "a.b.c", true],
    ["#.*", "", false],
    ["#.*", "a", true],
    ["#.*.#", "a.b", true],
    ["#.*.*", "a", false],
    ["#.*.*", "a.b", true],
    ["a.#.#.b", "a.b", true],
    ["a.#.*.#.b", "a.b", false],
    ["a.#.*.#.b", "a.x.b", true],
    // empty words and dots at the ends
    ["a.", "a.", true],
    ["a.", "a", false],
    [".a", ".a", true],
    [".a", "a", false],
    ["a..b", "a..b", true],
    ["a..b", "a.b", false],
    [".", ".", true],
    [".", "", false],
    ["", "", true],
    ["", "a", false],
    ["", ".", false],
    ["#.", "a.", true],
    ["#.", "", false],
    [".#", ".", true],
    [".#", "", false],
    // wildcards only as whole words; everything else is literal
    ["a*", "a*", true],
    ["a*", "ab", false],
    ["a#", "a#", true],
    ["a#", "a", false],
    ["*a", "ba", false],
    ["a.b", "a.b", true],
    ["a.b", "A.b", false],
    ["a.b", "a.b.", false],
    ["名.*", "名.字", true],
  ];

  for (const [pattern, key, expected] of cases) {
    it(`${JSON.stringify(pattern)} ${expected ? "matches" : "does not match"} ${JSON.stringify(key)}`, () => {
      assert.equal(matches(pattern, key), expected);
      assert.equal(referenceMatch(words(pattern), words(key)), expected, "the reference agrees");
    });
  }

  it("random patterns and keys over a small alphabet agree with the reference matcher", () => {
    const word = fc.constantFrom("a", "b", "", "*", "#");
    const keyWord = fc.constantFrom("a", "b", "");
    const pattern = fc.array(word, { maxLength: 7 }).map((w) => w.join("."));
    const key = fc.array(keyWord, { maxLength: 7 }).map((w) => w.join("."));
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 6 }), key, (patterns, k) => {
        const trie = new TopicTrie<number>();
        patterns.forEach((p, i) => trie.add(p, i));
        const expected = patterns.flatMap((p, i) => (referenceMatch(words(p), words(k)) ? [i] : []));
        assert.deepEqual(
          trie.match(k).sort((x, y) => x - y),
          expected,
        );
      }),
      { numRuns: 3000 },
    );
  });
});

describe("normalised patterns", () => {
  const cases: Array<[string, string[]]> = [
    ["", []],
    ["#", ["#"]],
    ["#.#", ["#"]],
    ["#.#.#", ["#"]],
    ["#.*", ["*", "#"]],
    ["*.#", ["*", "#"]],
    ["*.#.*", ["*", "*", "#"]],
    ["*.*", ["*", "*"]],
    ["a.#.#.b", ["a", "#", "b"]],
    ["a.#.*.b.#", ["a", "*", "#", "b", "#"]],
    ["a..b", ["a", "", "b"]],
    ["a.", ["a", ""]],
  ];
  for (const [pattern, expected] of cases) {
    it(`${JSON.stringify(pattern)} -> ${JSON.stringify(expected)}`, () => assert.deepEqual(normalisePattern(pattern), expected));
  }

  it("equivalent spellings share one binding: removing one spelling removes what the other added", () => {
    const trie = new TopicTrie<string>();
    trie.add("a.#.#", "q");
    assert.deepEqual(trie.match("a"), ["q"]);
    trie.remove("a.#", "q");
    assert.deepEqual(trie.match("a"), []);
  });
});

describe("topic trie bindings", () => {
  it("a value reached by several patterns is returned once", () => {
    const trie = new TopicTrie<string>();
    trie.add("a.*", "q1");
    trie.add("#", "q1");
    trie.add("a.b", "q1");
    trie.add("a.#", "q2");
    assert.deepEqual(trie.match("a.b").sort(), ["q1", "q2"]);
  });

  it("the same pattern added twice needs removing twice", () => {
    const trie = new TopicTrie<string>();
    trie.add("a.*", "q");
    trie.add("a.*", "q");
    trie.remove("a.*", "q");
    assert.deepEqual(trie.match("a.b"), ["q"]);
    trie.remove("a.*", "q");
    assert.deepEqual(trie.match("a.b"), []);
  });

  it("removing a pattern or value that is not there changes nothing", () => {
    const trie = new TopicTrie<string>();
    trie.add("a.b", "q");
    trie.remove("a.c", "q");
    trie.remove("a.b", "other");
    trie.remove("a.b.c", "q");
    trie.remove("a", "q");
    trie.remove("#", "q");
    assert.deepEqual(trie.match("a.b"), ["q"]);
  });

  it("removing one pattern keeps the others that share its prefix", () => {
    const trie = new TopicTrie<string>();
    trie.add("a.b.c", "deep");
    trie.add("a.b", "mid");
    trie.add("a.#", "hash");
    trie.remove("a.b.c", "deep");
    assert.deepEqual(trie.match("a.b").sort(), ["hash", "mid"]);
    assert.deepEqual(trie.match("a.b.c"), ["hash"]);
    trie.remove("a.b", "mid");
    trie.remove("a.#", "hash");
    assert.deepEqual(trie.match("a.b"), []);
    trie.add("a.b.c", "again");
    assert.deepEqual(trie.match("a.b.c"), ["again"], "a pruned path can be added again");
  });

  it("matches one after another do not see each other's marks", () => {
    const trie = new TopicTrie<string>();
    trie.add("#.z", "z");
    trie.add("#.y.#", "y");
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(trie.match("a.y.z").sort(), ["y", "z"]);
      assert.deepEqual(trie.match("z"), ["z"]);
      assert.deepEqual(trie.match("y"), ["y"]);
    }
  });

  it("many '#' against a long key takes time linear in words x nodes, not exponential", () => {
    const trie = new TopicTrie<string>();
    const pattern = Array.from({ length: 12 }, () => "#.a").join(".") + ".#.z";
    trie.add(pattern, "q");
    const key = Array.from({ length: 80 }, () => "a").join(".");
    const started = process.hrtime.bigint();
    assert.deepEqual(trie.match(key), [], "no 'z' at the end");
    assert.deepEqual(trie.match(`${key}.z`), ["q"]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // A backtracking walk tries every way to split 80 words between 13 '#': far beyond minutes.
    assert.ok(ms < 1000, `took ${ms} ms`);
  });
});

describe("the topic exchange's cache of routed keys", () => {
  /** A vhost with one topic exchange; `route` names the queues a key reaches. */
  function topicVhost() {
    const vhost = new VHost("/", memoryStorage());
    const x = vhost.declareExchange("t", "topic", { durable: false, autoDelete: false, internal: false, arguments: {} });
    const queue = (name: string) => vhost.declareQueue(name, { durable: false, exclusive: false, autoDelete: false, arguments: {} }).queue;
    const route = (key: string) => {
      const queues = new RouteList<Queue>();
      vhost.route(x, new Message("t", key, Buffer.alloc(2), Buffer.alloc(0)), queues);
      return Array.from({ length: queues.length }, (_, i) => queues.at(i).name).sort();
    };
    return { vhost, x, queue, route };
  }

  it("a binding added or removed after a key was routed changes where that key goes", () => {
    const { vhost, x, queue, route } = topicVhost();
    const q1 = queue("q1");
    const q2 = queue("q2");
    vhost.bind(x, q1, "a.#", {});
    assert.deepEqual(route("a.b"), ["q1"]);
    vhost.bind(x, q2, "*.b", {});
    assert.deepEqual(route("a.b"), ["q1", "q2"]);
    vhost.unbind(x, q1, "a.#", {});
    assert.deepEqual(route("a.b"), ["q2"]);
    vhost.deleteQueue(q2);
    assert.deepEqual(route("a.b"), []);
  });

  it("past the cache's size every key still routes right", () => {
    const { vhost, x, queue, route } = topicVhost();
    vhost.bind(x, queue("even"), "*.0", {});
    vhost.bind(x, queue("all"), "k.#", {});
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) assert.deepEqual(route(`k.${i % 2}`), i % 2 === 0 ? ["all", "even"] : ["all"]);
      for (let i = 0; i < 5000; i++) route(`k.${i}.x`); // many distinct keys: the cache fills and is dropped
      assert.deepEqual(route("k.0"), ["all", "even"]);
    }
  });
});
