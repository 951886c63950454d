/**
 * What an empty queue costs (issue 9: memory per queue). Thousands of queues that hold nothing
 * most of the time (RPC replies, idle work queues) must not each carry message buffers, requeue
 * arrays, a binding set or closures of their own: those come with the first message, requeue or
 * binding. Measured as the growth of the V8 heap (and array buffers) after a full collection, so it is exact enough
 * to assert on: about 405 bytes a queue now (455 with the management API's rate sampler reading it), 620 before stop 19,
 * 710 before the expiry check's message was made lazily, 1,600 before the lazy allocations.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Broker } from "../../src/broker/broker.js";
import { VHost } from "../../src/broker/vhost.js";
import { ReadyIndex } from "../../src/broker/ready-index.js";
import { Rates } from "../../src/mgmt/rates.js";
import { memoryStorage } from "../../src/store/memory-storage.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The JS heap and the typed arrays' buffers (outside it), after a full collection. */
function heapUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const QUEUE_OPTIONS = { durable: false, exclusive: false, autoDelete: false, arguments: {} };

describe("memory per queue", () => {
  // 623 B before the stop-18 features; policies, quorum queues and the management API's
  // MessageStats took it to about 850 B. Stop 19 (issue 9's memory per queue) took it to about
  // 405 B: message_stats counters and the consumer list made on first use, one frozen options
  // object for the queues declared alike without arguments, one frozen settings object
  // (effective-settings.ts) for the queues whose arguments and policies come to the same, the
  // yes/no fields as bits of one, and `kind` on the prototype.
  it("an empty queue costs under 500 bytes of heap (its name and the vhost's table included)", () => {
    // A first run in a vhost of its own compiles the declare path: the code V8 makes for it (up to
    // 100 B a queue over 5,000, which made this first test flaky, 405-503 B) is not the queue's.
    const warmUp = new VHost("warm-up", memoryStorage());
    for (let i = 0; i < 5000; i++) warmUp.declareQueue(`warm-up-${i}`, { ...QUEUE_OPTIONS, arguments: {} });
    const vhost = new VHost("/", memoryStorage());
    const N = 5000;
    // Names made before the first reading, like the client's: only the queue is measured.
    const names = Array.from({ length: N }, (_, i) => `amq.gen-${String(i).padStart(22, "0")}`);
    const before = heapUsed();
    for (const name of names) vhost.declareQueue(name, { ...QUEUE_OPTIONS, arguments: {} });
    const perQueue = (heapUsed() - before) / N;
    assert.equal(vhost.queues.size, N);
    assert.ok(perQueue < 500, `${perQueue.toFixed(0)} bytes per empty queue`);
  });

  it("queues declared with the same arguments share their settings: a TTL and a dead-letter exchange cost only the arguments table", () => {
    const vhost = new VHost("/", memoryStorage());
    const N = 5000;
    const names = Array.from({ length: N }, (_, i) => `amq.gen-${String(i).padStart(22, "0")}`);
    // One arguments table for all, as a client's decoded ones would not be: only the queue's own objects are measured.
    const args = { "x-message-ttl": 60_000, "x-dead-letter-exchange": "dlx", "x-max-length": 1000 };
    const before = heapUsed();
    for (const name of names) vhost.declareQueue(name, { ...QUEUE_OPTIONS, arguments: args });
    const perQueue = (heapUsed() - before) / N;
    assert.ok(perQueue < 560, `${perQueue.toFixed(0)} bytes per empty queue with arguments (about 690 with a settings object each)`);
  });

  // With the management API on (the default), its sampler reads every queue each second. An
  // idle queue gets no rate track (720 B of samples and two typed arrays each, before) until it
  // counts something or holds messages, nor message_stats counters (issue 9's stop 19).
  it("the management API's rate sampling adds nothing to a queue that never held a message", () => {
    const broker = new Broker(memoryStorage());
    const vhost = broker.addVhost("/");
    const rates = new Rates(broker, []);
    const N = 5000;
    const names = Array.from({ length: N }, (_, i) => `amq.gen-${String(i).padStart(22, "0")}`);
    rates.sample(1_000);
    const before = heapUsed();
    for (const name of names) vhost.declareQueue(name, { ...QUEUE_OPTIONS, arguments: {} });
    for (let second = 2; second <= 8; second++) rates.sample(second * 1_000);
    const perQueue = (heapUsed() - before) / N;
    assert.equal(vhost.queues.size, N);
    assert.ok(perQueue < 550, `${perQueue.toFixed(0)} bytes per empty queue, sampled`);
  });

  it("a queue's rates count from the sample before its first message", () => {
    const broker = new Broker(memoryStorage());
    const vhost = broker.addVhost("/");
    const rates = new Rates(broker, []);
    const { queue } = vhost.declareQueue("q", { ...QUEUE_OPTIONS, arguments: {} });
    rates.sample(1_000);
    rates.sample(2_000);
    assert.equal(rates.queueStats(queue), undefined, "nothing counted, no message_stats");
    for (let i = 0; i < 10; i++) queue.stats.publish++;
    rates.sample(3_000);
    const stats = rates.queueStats(queue) as { publish: number; publish_details: { rate: number } };
    assert.equal(stats.publish, 10);
    assert.equal(stats.publish_details.rate, 10, "10 publishes in the second since the last sample");
  });

  it("a ready index emptied by a purge or a delete gives its ring and requeue heap back", async () => {
    const N = 2000;
    const indexes = Array.from({ length: N }, () => new ReadyIndex());
    const empty = heapUsed();
    for (const ready of indexes) {
      for (let p = 100; p < 400; p++) ready.push(p, 0);
      for (let p = 0; p < 100; p++) ready.requeue(p, 1);
    }
    const full = heapUsed();
    indexes.forEach((ready, i) => (i % 2 === 0 ? ready.clear() : ready.drain(() => {})));
    // Typed-array backing stores are freed after the GC that finds them dead, off the main thread:
    // `arrayBuffers` can lag a reading or two (CI saw 78-127 B "left" once in five runs).
    let least = Number.POSITIVE_INFINITY;
    for (let reading = 0; reading < 10 && least / N >= 50; reading++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      least = Math.min(least, heapUsed() - empty);
    }
    const left = least / N;
    assert.ok((full - empty) / N > 3000, "the filled indexes were measured");
    assert.ok(left < 50, `${left.toFixed(0)} bytes per index left after emptying`);
  });
});
