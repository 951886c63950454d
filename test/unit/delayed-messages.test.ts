/**
 * The delayed-message exchange's store, called directly (no sockets): the heap of due times keeps
 * due order (publish order among equals), a held message costs its bytes in the log and a 16-byte
 * heap entry (no object, no timer of its own: one timer per exchange), and a large batch falling
 * due at once is routed in slices with the event loop served between them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import * as amqp from "../../src/amqp/generated.js";
import { DueHeap } from "../../src/broker/due-heap.js";
import type { DelayedMessageExchange } from "../../src/broker/exchange/delayed-message.js";
import { Message } from "../../src/broker/message.js";
import { RouteList } from "../../src/broker/route-list.js";
import type { Queue } from "../../src/broker/queue.js";
import { VHost } from "../../src/broker/vhost.js";
import { memoryStorage } from "../../src/store/memory-storage.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function rawProperties(p: amqp.BasicProperties): Buffer {
  const w = new AmqpWriter(256);
  amqp.encodeBasicProperties(w, p);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

/** A vhost with a delayed-message exchange "dx" (direct) bound to queue "q" with key "k". */
function setup(): { vhost: VHost; exchange: DelayedMessageExchange; queue: Queue } {
  const vhost = new VHost("/", memoryStorage());
  const exchange = vhost.declareExchange("dx", "x-delayed-message", {
    durable: false,
    autoDelete: false,
    internal: false,
    arguments: { "x-delayed-type": "direct" },
  }) as DelayedMessageExchange;
  const { queue } = vhost.declareQueue("q", { durable: false, exclusive: false, autoDelete: false, arguments: {} });
  vhost.bind(exchange, queue, "k", {});
  return { vhost, exchange, queue };
}

/** Count the setTimeout calls made while `body` runs. */
function timersArmedBy(body: () => void): number {
  const original = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    body();
  } finally {
    globalThis.setTimeout = original;
  }
  return armed;
}

/** Route `count` messages with `delay` through the exchange as a publish would, all with the same properties. */
function publish(vhost: VHost, exchange: DelayedMessageExchange, count: number, delay: number): void {
  const properties = rawProperties({ headers: { "x-delay": delay } });
  const routed = new RouteList<Queue>();
  for (let i = 0; i < count; i++) {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(i, 0);
    const message = new Message("dx", "k", properties, body);
    vhost.route(exchange, message, routed);
    assert.equal(routed.length, 0, "held: routed nowhere now");
    assert.equal(message.held, "memory");
    routed.clear();
  }
}

describe("DueHeap", () => {
  it("gives entries back by due time, then by position, and shrinks as it empties", () => {
    const heap = new DueHeap();
    const entries: Array<[number, number]> = [];
    for (let i = 0; i < 5000; i++) entries.push([Math.floor(Math.random() * 50), i]);
    for (const [due, position] of [...entries].sort(() => Math.random() - 0.5)) heap.push(due, position);
    const out: Array<[number, number]> = [];
    while (heap.length > 0) {
      out.push([heap.firstDue, heap.firstPosition]);
      heap.pop();
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(out, entries);
    assert.equal(heap.firstDue, Number.POSITIVE_INFINITY);
  });
});

describe("the delayed-message exchange's store", () => {
  it("holds each message as bytes in the log and a heap entry, with one timer for all: about what a queue holding it costs", () => {
    const { vhost, exchange, queue } = setup();
    const N = 100_000;
    // The same messages in a queue, for comparison: their log records and a 9-byte index entry each.
    const properties = rawProperties({ headers: { "x-delay": 60_000 } });
    queue.enqueue(new Message("dx", "k", properties, Buffer.alloc(8)));
    let before = heapUsed();
    for (let i = 0; i < N; i++) queue.enqueue(new Message("dx", "k", properties, Buffer.alloc(8)));
    const perQueued = (heapUsed() - before) / N;
    vhost.deleteQueue(queue);
    publish(vhost, exchange, 1, 60_000); // the log's first segment, and the timer, before measuring
    before = heapUsed();
    const armed = timersArmedBy(() => publish(vhost, exchange, N, 60_000));
    const perHeld = (heapUsed() - before) / N;
    assert.equal(exchange.messagesDelayed, N + 1);
    assert.equal(armed, 0, "no timer per message: the first one already waits for the earliest");
    assert.ok(perHeld < perQueued * 1.25, `${perHeld.toFixed(0)} bytes a held message, ${perQueued.toFixed(0)} a queued one`);
    vhost.deleteExchange("dx", false);
    assert.equal(exchange.messagesDelayed, 0, "deleting the exchange drops them");
  });

  it("routes a batch due at once in slices, in publish order, the event loop served between them", async () => {
    const { vhost, exchange, queue } = setup();
    const N = 30_000;
    publish(vhost, exchange, N, 30);
    const counts: number[] = [];
    await new Promise<void>((resolve) => {
      const tick = () => {
        counts.push(queue.messageCount);
        if (queue.messageCount < N) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    let largest = 0;
    for (let i = 1; i < counts.length; i++) largest = Math.max(largest, counts[i]! - counts[i - 1]!);
    assert.ok(largest <= 2000, `at most 2,000 routed between two turns of the event loop (saw ${largest})`);
    assert.equal(exchange.messagesDelayed, 0);
    const got: number[] = [];
    for (let m = queue.get(true); m !== undefined; m = queue.get(true)) got.push(m.buf.readUInt32BE(m.bodyStart));
    assert.deepEqual(
      got,
      Array.from({ length: N }, (_, i) => i),
    );
    vhost.deleteQueue(queue);
  });
});
