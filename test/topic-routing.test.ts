/**
 * Topic routing cost and correctness: the trie against an obviously correct reference matcher on
 * many random keys and patterns, and binding keys whose backtracking match would take ~10^13
 * steps (`#.#.#…#.z` against 60 words) routed in milliseconds while other clients are served.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChannelModel } from "amqplib";
import { normalisePattern, TopicTrie } from "../src/broker/exchange/topic-trie.js";
import { startBroker, type BrokerHandle } from "./helpers/broker.js";
import { closeAllConnections, openChannel, openConfirmChannel, openConnection, publishConfirmed, within } from "./helpers/amqp.js";
import { seededRandom as random } from "./helpers/seeded-random.js";

/**
 * RabbitMQ's topic matching, written for clarity, not speed: '*' is exactly one word, '#' zero or
 * more; the empty string has zero words; empty words between dots are words.
 */
function referenceMatch(pattern: string, key: string): boolean {
  const p = pattern === "" ? [] : pattern.split(".");
  const k = key === "" ? [] : key.split(".");
  const m = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === "#") return m(i + 1, j) || (j < k.length && m(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === "*" || p[i] === k[j]) && m(i + 1, j + 1);
  };
  return m(0, 0);
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function joinWords(rand: () => number, alphabet: readonly string[], maxWords: number): string {
  const n = Math.floor(rand() * (maxWords + 1));
  // Zero words is the empty string; one empty word is "" too, so "" stands for both.
  return Array.from({ length: n }, () => pick(rand, alphabet)).join(".");
}

describe("topic trie", () => {
  it("matches as the reference matcher on random keys and patterns", () => {
    const rand = random(0x5eed);
    const keyWords = ["a", "b", ""];
    const patternWords = ["a", "b", "", "*", "#"];
    for (let round = 0; round < 300; round++) {
      const trie = new TopicTrie<number>();
      const patterns = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => joinWords(rand, patternWords, 6));
      patterns.forEach((p, i) => trie.add(p, i));
      // Remove some again (with a duplicate binding of the same value kept), so pruning is tested too.
      const removed = new Set<number>();
      patterns.forEach((p, i) => {
        if (rand() < 0.25) {
          trie.remove(p, i);
          removed.add(i);
        }
      });
      for (let k = 0; k < 40; k++) {
        const key = joinWords(rand, keyWords, 7);
        const expected = patterns.flatMap((p, i) => (!removed.has(i) && referenceMatch(p, key) ? [i] : [])).sort((x, y) => x - y);
        const actual = trie.match(key).sort((x, y) => x - y);
        assert.deepEqual(actual, expected, `key ${JSON.stringify(key)} against ${JSON.stringify(patterns)} (removed ${[...removed]})`);
      }
    }
  });

  it("normalises runs of wildcards without changing what they match", () => {
    assert.deepEqual(normalisePattern("#.#.#.z"), ["#", "z"]);
    assert.deepEqual(normalisePattern("#.*.#.a.*.*"), ["*", "#", "a", "*", "*"]);
    assert.deepEqual(normalisePattern(""), []);
    assert.deepEqual(normalisePattern("a..#.#"), ["a", "", "#"]);
    const rand = random(7);
    for (let i = 0; i < 2000; i++) {
      const pattern = joinWords(rand, ["a", "*", "#"], 6);
      const key = joinWords(rand, ["a", "b"], 6);
      assert.equal(referenceMatch(normalisePattern(pattern).join("."), key), referenceMatch(pattern, key), `${pattern} / ${key}`);
    }
  });

  it("counts duplicate bindings and removes through equivalent spellings", () => {
    const trie = new TopicTrie<string>();
    trie.add("#.#.a", "q");
    trie.add("#.a", "q");
    assert.deepEqual(trie.match("x.a"), ["q"]);
    trie.remove("#.#.a", "q");
    assert.deepEqual(trie.match("x.a"), ["q"]);
    trie.remove("#.a", "q");
    assert.deepEqual(trie.match("x.a"), []);
  });

  it("matches a pathological pattern set in bounded time", () => {
    const trie = new TopicTrie<number>();
    // Runs of '#' collapse; '#.a' repeated does not, and needs the (node, word) bound.
    trie.add(Array(30).fill("#").join(".") + ".z", 1);
    trie.add(Array(15).fill("#.a").join(".") + ".#.z", 2);
    trie.add(Array(15).fill("*.#").join(".") + ".z", 3);
    const key = Array(60).fill("a").join(".");
    const started = performance.now();
    assert.deepEqual(trie.match(key), []);
    assert.deepEqual(trie.match(key + ".z").sort(), [1, 2, 3]);
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
  });
});

describe("pathological topic bindings over AMQP", () => {
  let broker: BrokerHandle;
  let conn: ChannelModel;
  let other: ChannelModel;

  before(async () => {
    // RabbitMQ 3.10 itself melts on this (one core at 100% for minutes): Warren only.
    broker = await startBroker({ forceLocal: true });
    conn = await openConnection(broker.url);
    other = await openConnection(broker.url);
  });

  after(async () => {
    await closeAllConnections();
    await broker.stop();
  });

  it("routes 60-word keys through #.#.…#.z bindings in milliseconds, serving other clients meanwhile", async () => {
    const ch = await openConfirmChannel(conn);
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "amq.topic", "#.#.#.#.#.#.#.#.#.#.#.#.z");
    await ch.bindQueue(queue, "amq.topic", Array(12).fill("#.a").join(".") + ".#.z");
    const otherCh = await openChannel(other);
    const { queue: otherQueue } = await otherCh.assertQueue("", { exclusive: true });
    await otherCh.sendToQueue(otherQueue, Buffer.from("meanwhile"));

    const words = Array(60).fill("a").join(".");
    const started = performance.now();
    const published = publishConfirmed(ch, "amq.topic", words, ["no match"]).then(() => publishConfirmed(ch, "amq.topic", `${words}.z`, ["match"]));
    // Another client's request, sent while the broker routes.
    const got = await within(otherCh.get(otherQueue, { noAck: true }), "basic.get of another client");
    await published;
    const elapsed = performance.now() - started;
    assert.ok(got !== false && got.content.toString() === "meanwhile");
    assert.ok(elapsed < 1000, `routing took ${elapsed} ms`);

    const m = await ch.get(queue, { noAck: true });
    assert.ok(m !== false && m.content.toString() === "match" && m.fields.routingKey === `${words}.z`);
    assert.equal(await ch.get(queue, { noAck: true }), false);
  });
});
