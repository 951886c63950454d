/**
 * A queue's ready index (src/broker/ready-index.ts): positions served in order, requeued ones
 * first, flags kept beside them; against a plain reference model, and a requeue cost that does
 * not grow with the backlog (a ratio of two timings on the same machine, generous so it cannot
 * flake; never an absolute speed).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ReadyIndex } from "../../src/broker/ready-index.js";
import { seededRandom as random } from "../helpers/seeded-random.js";
import { timePerOp } from "../helpers/time-per-op.js";

setFlagsFromString("--expose-gc");

function drainAll(ready: ReadyIndex): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = ready.shift(); p >= 0; p = ready.shift()) out.push([p, ready.shiftedFlags]);
  return out;
}

describe("ReadyIndex", () => {
  it("serves requeued positions first, in position order, then fresh ones, each with its flags", () => {
    const rnd = random(7);
    const ready = new ReadyIndex();
    for (let s = 101; s <= 200; s++) ready.push(s * 0x1_0000_0000, s % 3);
    const back = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => rnd() - 0.5);
    for (const s of back) ready.requeue(s * 0x1_0000_0000, s % 4);
    assert.equal(ready.length, 200);
    const order = drainAll(ready);
    assert.deepEqual(
      order.map(([p]) => p / 0x1_0000_0000),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    for (const [p, flags] of order) {
      const s = p / 0x1_0000_0000;
      assert.equal(flags, s <= 100 ? s % 4 : s % 3, `flags of ${s}`);
    }
    assert.equal(ready.length, 0);
    assert.equal(ready.shift(), -1);
  });

  it("matches a reference model under random pushes, shifts and requeues (growing and shrinking the ring)", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rnd = random(seed);
      const ready = new ReadyIndex();
      const model: Array<[number, number]> = [];
      let next = 1;
      const taken: Array<[number, number]> = [];
      for (let step = 0; step < 20_000; step++) {
        const r = rnd();
        if (r < 0.45) {
          const burst = 1 + Math.floor(rnd() * (rnd() < 0.02 ? 500 : 3));
          for (let k = 0; k < burst; k++) {
            const flags = Math.floor(rnd() * 4);
            ready.push(next, flags);
            model.push([next, flags]);
            next++;
          }
        } else if (r < 0.85) {
          const p = ready.shift();
          const expected = model.shift();
          assert.equal(p, expected?.[0] ?? -1, `seed ${seed} step ${step}`);
          if (expected !== undefined) {
            assert.equal(ready.shiftedFlags, expected[1]);
            taken.push(expected);
          }
        } else if (taken.length > 0) {
          const [p, flags] = taken.splice(Math.floor(rnd() * taken.length), 1)[0]!;
          ready.requeue(p, flags);
          // The model stays sorted: a requeued position goes back in its place.
          let at = 0;
          while (at < model.length && model[at]![0] < p) at++;
          model.splice(at, 0, [p, flags]);
        }
        assert.equal(ready.length, model.length);
      }
    }
  });

  it("a backlog past one chunk (65,536) is served in order through the chunks, with pushes and requeues in between", () => {
    const rnd = random(3);
    const ready = new ReadyIndex();
    let next = 1;
    let expected = 1;
    // Fill past three chunks, then alternate: take a run, push a run (the newest stay behind the chunks).
    for (; next <= 3 * 65_536 + 1000; next++) ready.push(next, next & 3);
    for (let round = 0; round < 40; round++) {
      const takes = Math.floor(rnd() * 20_000);
      for (let k = 0; k < takes && ready.length > 0; k++) {
        assert.equal(ready.take(), true);
        assert.equal(ready.shiftedPosition, expected, `round ${round}`);
        assert.equal(ready.shiftedFlags, expected & 3);
        expected++;
      }
      // A requeue goes before every fresh message, chunked or not.
      if (expected > 1 && round % 5 === 0) {
        ready.requeue(expected - 1, 1);
        assert.equal(ready.peek(), expected - 1);
        assert.equal(ready.shift(), expected - 1);
      }
      const pushes = Math.floor(rnd() * 15_000);
      for (let k = 0; k < pushes; k++, next++) ready.push(next, next & 3);
      assert.equal(ready.length, next - expected);
    }
    const rest: number[] = [];
    ready.drain((position) => rest.push(position));
    assert.equal(rest.length, next - expected);
    for (let i = 0; i < rest.length; i++) assert.equal(rest[i], expected + i);
    assert.equal(ready.length, 0);
    ready.push(7, 0);
    assert.equal(ready.shift(), 7, "usable after a drain");
  });

  it("a large backlog costs about 9 bytes a message (no power-of-two overshoot)", () => {
    // 1,100,000 messages: a doubling ring would hold 2^21 slots (17 bytes a message).
    const gc = runInNewContext("gc") as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = used();
    const ready = new ReadyIndex();
    for (let i = 1; i <= 1_100_000; i++) ready.push(i, 0);
    const perMessage = (used() - before) / 1_100_000;
    assert.equal(ready.length, 1_100_000);
    assert.ok(perMessage < 10, `${perMessage.toFixed(2)} bytes a message`);
  });

  it("drain visits every position once and empties the index; clear empties it", () => {
    const ready = new ReadyIndex();
    for (let p = 10; p < 1000; p++) ready.push(p, 2);
    for (let i = 0; i < 5; i++) ready.shift();
    ready.requeue(11, 3);
    ready.requeue(10, 3);
    const seen: number[] = [];
    ready.drain((p, flags) => {
      seen.push(p);
      assert.equal(flags, p < 15 ? 3 : 2);
    });
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [10, 11, ...Array.from({ length: 985 }, (_, i) => i + 15)],
    );
    assert.equal(ready.length, 0);
    ready.push(5, 0);
    ready.clear();
    assert.equal(ready.shift(), -1);
  });

  it("requeueing costs the same per message in front of a large backlog as in front of none", () => {
    const N = 50_000;
    const run = (backlog: number, descending: boolean) => () => {
      const ready = new ReadyIndex();
      for (let s = N + 1; s <= N + backlog; s++) ready.push(s, 0);
      const back = Array.from({ length: N }, (_, i) => (descending ? N - i : i + 1));
      return () => {
        for (const p of back) ready.requeue(p, 1);
        assert.equal(ready.shift(), 1);
        return N;
      };
    };
    const empty = timePerOp(run(0, false));
    const behindBacklog = timePerOp(run(50_000, false));
    const descending = timePerOp(run(50_000, true));
    assert.ok(behindBacklog < 3 * empty, `${behindBacklog.toFixed(0)} ns per requeue before 50,000 ready vs ${empty.toFixed(0)} ns before none`);
    // Descending order is the heap's worst case: O(log n), still far from shifting the backlog.
    assert.ok(descending < 10 * empty, `${descending.toFixed(0)} ns per requeue in descending order vs ${empty.toFixed(0)} ns`);
  });
});
