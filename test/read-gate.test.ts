/**
 * The read gate and the frame reader's pause (issue 8, finding 4), with plain calls: a reason to
 * stop reading is undone only by its own clearing, and a paused reader hands out no frame more,
 * not even from the rest of the chunk it was parsing.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { AmqpError } from "../src/amqp/errors.js";
import { FrameReader, type FrameSink } from "../src/amqp/frame-reader.js";
import { ReadGate } from "../src/server/read-gate.js";

it("one reason clearing does not reopen a gate another reason holds; reopening waits for a fresh turn", async () => {
  const calls: string[] = [];
  const gate = new ReadGate({ pause: () => calls.push("pause"), resume: () => calls.push("resume") });
  gate.close("output");
  gate.close("alarm");
  gate.close("alarm");
  assert.deepEqual(calls, ["pause"]);
  gate.open("alarm");
  await nextTurn();
  assert.deepEqual(calls, ["pause"], "output still holds it");
  assert.ok(gate.isClosed("output") && !gate.isClosed("alarm"));
  gate.open("output");
  assert.deepEqual(calls, ["pause"], "not resumed inside open()");
  await nextTurn();
  assert.deepEqual(calls, ["pause", "resume"]);
  // Closed again before the deferred resume runs: no resume.
  gate.close("output");
  gate.open("output");
  gate.close("alarm");
  await nextTurn();
  assert.deepEqual(calls, ["pause", "resume", "pause"]);
});

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const f = Buffer.alloc(body.length + 8);
  f[0] = type;
  f.writeUInt16BE(1, 1);
  f.writeUInt32BE(body.length, 3);
  body.copy(f, 7);
  f[f.length - 1] = 0xce;
  return f;
}

it("a reader paused by a frame's handler stops mid-chunk and goes on, in order, on resume", () => {
  const seen: string[] = [];
  let reader: FrameReader;
  const sink: FrameSink = {
    onProtocolHeader: () => {},
    onFrame: (_type, _channel, buf, start, end) => {
      const text = buf.subarray(start, end).toString();
      seen.push(text);
      if (text.startsWith("stop")) reader.pause();
    },
    onFrameError: (e: AmqpError) => assert.fail(e.message),
  };
  reader = new FrameReader(sink, 4096);
  const header = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
  const chunk = Buffer.concat([header, frame(8, "a"), frame(8, "stop1"), frame(8, "b"), frame(8, "c").subarray(0, 5)]);
  reader.push(chunk);
  assert.deepEqual(seen, ["a", "stop1"]);
  reader.push(Buffer.concat([frame(8, "c").subarray(5), frame(8, "stop2"), frame(8, "d")]));
  assert.deepEqual(seen, ["a", "stop1"], "nothing while paused");
  reader.resume();
  assert.deepEqual(seen, ["a", "stop1", "b", "c", "stop2"]);
  reader.resume();
  assert.deepEqual(seen, ["a", "stop1", "b", "c", "stop2", "d"]);
  reader.push(frame(8, "e"));
  assert.deepEqual(seen.at(-1), "e");
});
