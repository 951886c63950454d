/**
 * A priority queue's ready messages (src/broker/priority-ready-index.ts): highest level first,
 * each level in its ReadyIndex order (requeued ones back in their place), the level carried in the
 * flag bits; against a reference model under random operations. And the priority property read in
 * place from raw content-header properties (src/amqp/raw-priority.ts), against the generated codec.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { encodeBasicProperties, type BasicProperties } from "../../src/amqp/generated.js";
import { priorityIn } from "../../src/amqp/raw-properties.js";
import { PRIORITY_SHIFT } from "../../src/broker/message-log.js";
import { PriorityReadyIndex } from "../../src/broker/priority-ready-index.js";
import { seededRandom as random } from "../helpers/seeded-random.js";

const level = (flags: number) => flags >>> PRIORITY_SHIFT;

function drainAll(ready: PriorityReadyIndex): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = ready.shift(); p >= 0; p = ready.shift()) out.push([p, ready.shiftedFlags]);
  return out;
}

describe("PriorityReadyIndex", () => {
  it("serves the highest level first, append order within a level, with each message's flags and level", () => {
    const ready = new PriorityReadyIndex(5);
    const pushed: Array<[number, number]> = [
      [1, 0],
      [2, (3 << PRIORITY_SHIFT) | 2],
      [3, 5 << PRIORITY_SHIFT],
      [4, (3 << PRIORITY_SHIFT) | 1],
      [5, 0 | 2],
      [6, 5 << PRIORITY_SHIFT],
    ];
    for (const [p, f] of pushed) ready.push(p, f);
    assert.equal(ready.length, 6);
    assert.deepEqual(drainAll(ready), [
      [3, 5 << PRIORITY_SHIFT],
      [6, 5 << PRIORITY_SHIFT],
      [2, (3 << PRIORITY_SHIFT) | 2],
      [4, (3 << PRIORITY_SHIFT) | 1],
      [1, 0],
      [5, 2],
    ]);
    assert.equal(ready.length, 0);
    assert.equal(ready.shift(), -1);
  });

  it("puts requeued messages back in their place within their level, and takes a level above the maximum as the maximum", () => {
    const ready = new PriorityReadyIndex(2);
    for (let p = 10; p < 20; p++) ready.push(p, (p % 3) << PRIORITY_SHIFT);
    const out: Array<[number, number]> = [];
    for (let i = 0; i < 6; i++) out.push([ready.shift(), ready.shiftedFlags]);
    // Requeued in reverse, one by one, while newer messages arrive.
    for (const [p, f] of out.reverse()) ready.requeue(p, f | 1);
    ready.push(30, 2 << PRIORITY_SHIFT);
    ready.push(31, 9 << PRIORITY_SHIFT); // level 9 in a queue of 2: served as 2
    const order = drainAll(ready);
    assert.deepEqual(
      order.map(([p]) => p),
      [11, 14, 17, 30, 31, 10, 13, 16, 19, 12, 15, 18],
    );
    assert.deepEqual(
      order.map(([, f]) => level(f)),
      [2, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0],
    );
  });

  it("matches a reference model under random pushes, shifts, requeues, drains and clears", () => {
    const rnd = random(11);
    const max = 7;
    const ready = new PriorityReadyIndex(max);
    /** The model: every ready message; the next one is the highest level, then the lowest position. */
    let model: Array<{ p: number; f: number }> = [];
    const out: Array<{ p: number; f: number }> = [];
    let next = 0;
    const pick = () => {
      let best = -1;
      for (let i = 0; i < model.length; i++) {
        const m = model[i]!;
        const b = model[best];
        if (b === undefined || level(m.f) > level(b.f) || (level(m.f) === level(b.f) && m.p < b.p)) best = i;
      }
      return best;
    };
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.45) {
        const f = (Math.floor(rnd() * (max + 1)) << PRIORITY_SHIFT) | Math.floor(rnd() * 4);
        ready.push(next, f);
        model.push({ p: next++, f });
      } else if (r < 0.8) {
        const i = pick();
        const p = ready.shift();
        if (i < 0) {
          assert.equal(p, -1);
          continue;
        }
        const m = model.splice(i, 1)[0]!;
        assert.equal(p, m.p, `step ${step}`);
        assert.equal(ready.shiftedFlags, m.f, `flags at step ${step}`);
        out.push(m);
      } else if (r < 0.995) {
        if (out.length === 0) continue;
        const m = out.splice(Math.floor(rnd() * out.length), 1)[0]!;
        m.f |= 1;
        ready.requeue(m.p, m.f);
        model.push(m);
      } else if (r < 0.998) {
        const seen: Array<{ p: number; f: number }> = [];
        ready.drain((p, f) => seen.push({ p, f }));
        const key = (m: { p: number; f: number }) => `${m.p}:${m.f}`;
        assert.deepEqual(seen.map(key).sort(), model.map(key).sort(), "drain visits every message with its flags");
        model = [];
      } else {
        ready.clear();
        model = [];
      }
      assert.equal(ready.length, model.length);
    }
  });
});

describe("priorityIn", () => {
  function raw(p: BasicProperties): Buffer {
    const w = new AmqpWriter(256);
    encodeBasicProperties(w, p);
    return Buffer.from(w.buf.subarray(0, w.pos));
  }

  it("reads the priority property whatever comes before it; 0 when absent", () => {
    const cases: BasicProperties[] = [
      {},
      { priority: 7 },
      { priority: 0 },
      { priority: 255, deliveryMode: 2 },
      { contentType: "text/plain", contentEncoding: "gzip", headers: { a: 1, b: "two", c: { d: [1, 2] } }, deliveryMode: 1, priority: 42, expiration: "100" },
      { contentType: "x", headers: {}, priority: 9 },
      { contentType: "application/json", deliveryMode: 2, correlationId: "c", replyTo: "r" },
      { headers: { "x-priority": 5 } },
    ];
    for (const p of cases) {
      const buf = raw(p);
      assert.equal(priorityIn(buf, 0, buf.length), p.priority ?? 0, JSON.stringify(p));
      // Read in place inside a larger buffer, as recovery does.
      const framed = Buffer.concat([Buffer.from([1, 2, 3]), buf, Buffer.from([9, 9])]);
      assert.equal(priorityIn(framed, 3, 3 + buf.length), p.priority ?? 0);
    }
  });

  it("answers 0, without reading past the end, for a section too short to hold what its flags announce", () => {
    const buf = raw({ contentType: "text/plain", priority: 3 });
    for (let end = 0; end < buf.length; end++) assert.equal(priorityIn(buf, 0, end), 0, `cut at ${end}`);
  });
});
