/**
 * What an idle channel costs (issue 9, scenario 7: memory per connection). A connection with one
 * channel that has not published or delivered yet must not hold a delivery ring, nor pin a chunk
 * of Node's shared buffer pool through its publisher's reusable Message: both came with every
 * channel before, about 6 KB of a connection's memory (a heap snapshot of 300 idle connections
 * showed 143 pool chunks of 8 KiB held by publishers' empty addresses).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Message } from "../../src/broker/message.js";
import { UnackedList } from "../../src/server/unacked.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsed(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("memory per idle channel", () => {
  it("a publisher's Message before its first publish holds no slice of the buffer pool", () => {
    const message = new Message();
    assert.equal(message.addressEnd - message.addressStart, 2, "two empty shortstrs");
    assert.ok(message.addressBuf.buffer.byteLength <= 2, `its address lives in a ${message.addressBuf.buffer.byteLength}-byte buffer`);
    // A message with an address of its own still encodes it.
    assert.deepEqual(new Message("ex", "key").address, Buffer.from("\u0002ex\u0003key", "latin1"));
  });

  it("an unacked list that never held a delivery costs under 600 bytes (no ring of 256 slots: 2,400 before)", () => {
    const N = 5000;
    const lists: UnackedList[] = [];
    const before = heapUsed();
    for (let i = 0; i < N; i++) lists.push(new UnackedList());
    const perList = (heapUsed() - before) / N;
    assert.equal(lists.length, N);
    assert.ok(perList < 600, `${perList.toFixed(0)} bytes per empty unacked list`);
  });
});
