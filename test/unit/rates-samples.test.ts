/**
 * The management API's sample history (src/mgmt/rates.ts) driven with a fake clock: one sample
 * per 5 s kept in a ring of fixed size, RabbitMQ's samples/avg/avg_rate computed from it, and
 * nothing kept for an object that never counted anything.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../../src/broker/broker.js";
import { Rates } from "../../src/mgmt/rates.js";
import { sampleRanges } from "../../src/mgmt/sample-range.js";
import { memoryStorage } from "../../src/store/memory-storage.js";

function setUp() {
  const broker = new Broker(memoryStorage());
  const vhost = broker.addVhost("/");
  const { queue } = vhost.declareQueue("q", { durable: false, exclusive: false, autoDelete: false, arguments: {} });
  const rates = new Rates(broker, [], 1000);
  return { broker, queue, rates };
}

type Details = { rate: number; samples: Array<{ sample: number; timestamp: number }>; avg_rate: number; avg: number };

describe("sample history", () => {
  test("a counter sampled every second gives RabbitMQ's samples, rate, avg_rate and avg for a range", () => {
    const { queue, rates } = setUp();
    const start = 1_000_000_000_000; // a multiple of 5 s
    for (let s = 0; s <= 60; s++) {
      queue.stats.publish = s * 2; // 2 a second
      rates.sample(start + s * 1000);
    }
    const now = start + 61_000;
    rates.sample(now); // the sample at 60 s goes into the history with the next one
    const range = sampleRanges({ msg_rates_age: "20", msg_rates_incr: "5" }, now).msgRates!;
    const d = rates.queueStats(queue, range)!.publish_details as Details;
    assert.deepEqual(
      d.samples.map((s) => s.timestamp),
      [60, 55, 50, 45, 40].map((s) => start + s * 1000),
    );
    assert.deepEqual(
      d.samples.map((s) => s.sample),
      [120, 110, 100, 90, 80],
    );
    assert.equal(d.rate, 2);
    assert.equal(d.avg_rate, 2);
    assert.equal(d.avg, 100);
  });

  test("the history is a ring of 121 samples (605 s): older points read as the oldest kept", () => {
    const { queue, rates } = setUp();
    const start = 1_000_000_000_000;
    for (let s = 0; s <= 2000; s += 5) {
      queue.stats.publish = s;
      rates.sample(start + s * 1000);
    }
    rates.sample(start + 2001_000);
    const range = sampleRanges({ msg_rates_age: "1000", msg_rates_incr: "5" }, start + 2001_000).msgRates!;
    const d = rates.queueStats(queue, range)!.publish_details as Details;
    // At most MAX_SAMPLES points; the ring holds 2000 back to 1400 s.
    assert.equal(d.samples.length, 200);
    assert.equal(d.samples[0]!.sample, 2000);
    assert.equal(d.samples[120]!.sample, 1400);
    assert.equal(d.samples[199]!.sample, 1400);
  });

  test("an object that never counted anything keeps no history and reads as zeros", () => {
    const { queue, rates } = setUp();
    const start = 1_000_000_000_000;
    for (let s = 0; s <= 30; s++) rates.sample(start + s * 1000);
    const range = sampleRanges({ lengths_age: "10", lengths_incr: "5" }, start + 30_000).lengths!;
    const d = rates.queueDepthDetails(queue, range).messages as unknown as Details;
    assert.deepEqual(
      d.samples.map((s) => s.sample),
      [0, 0, 0],
    );
    assert.equal(d.avg, 0);
    assert.equal(rates.queueStats(queue, range), undefined);
  });

  test("no range, or a range with a missing or non-numeric half: only the rate", () => {
    const { queue, rates } = setUp();
    queue.stats.publish = 5;
    rates.sample(1_000_000_000_000);
    assert.deepEqual(rates.queueStats(queue)!.publish_details, { rate: 0 });
    assert.equal(sampleRanges({ msg_rates_age: "60" }).msgRates, undefined);
    assert.equal(sampleRanges({ msg_rates_age: "60", msg_rates_incr: "x" }).msgRates, undefined);
  });
});
