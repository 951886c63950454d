/**
 * The frame writer's output slab (src/amqp/frame-writer.ts, src/amqp/idle-slabs.ts): an idle
 * connection holds none, and one that took a burst of output gives its grown slab back once it has
 * written nothing for a sweep interval (issue 9: a connection's idle memory does not stay at what
 * it once needed). The bytes the socket receives stay exact across every release.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { FrameWriter } from "../../src/amqp/frame-writer.js";
import { FrameReader } from "../../src/amqp/frame-reader.js";
import * as amqp from "../../src/amqp/generated.js";
import { sweepIdleSlabs } from "../../src/amqp/idle-slabs.js";

/** A socket that takes every write whole at once, and keeps copies of what it took. */
class TakingSocket {
  readonly taken: Buffer[] = [];
  writableLength = 0;
  writableNeedDrain = false;
  write(chunk: Buffer): boolean {
    this.taken.push(Buffer.from(chunk));
    return true;
  }
  cork(): void {}
  uncork(): void {}
}

function writerOn(socket: TakingSocket): FrameWriter {
  return new FrameWriter(socket as unknown as Socket, amqp.FRAME_MIN_SIZE * 32);
}

/** The method frames the socket received (heartbeats aside): [channel, queue name of a declare-ok]. */
function declareOks(socket: TakingSocket): Array<[number, string]> {
  const seen: Array<[number, string]> = [];
  const reader = new FrameReader(
    {
      onProtocolHeader: () => {},
      onFrame: (type, channel, buf, start) => {
        if (type === amqp.FRAME_HEARTBEAT) return;
        assert.equal(type, amqp.FRAME_METHOD);
        assert.equal(buf.readUInt32BE(start), amqp.QUEUE_DECLARE_OK);
        const len = buf[start + 4]!;
        seen.push([channel, buf.toString("latin1", start + 5, start + 5 + len)]);
      },
      onFrameError: (err) => assert.fail(err.message),
    },
    amqp.FRAME_MIN_SIZE * 32,
  );
  reader.push(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  for (const chunk of socket.taken) reader.push(chunk);
  return seen;
}

function declareOk(writer: FrameWriter, channel: number, queue: string): void {
  writer.method(channel, amqp.encodeQueueDeclareOk, { queue, messageCount: 0, consumerCount: 0 });
}

describe("the frame writer's slab", () => {
  it("is let go after a flush the socket took whole, and taken again for the next frame", () => {
    const socket = new TakingSocket();
    const writer = writerOn(socket);
    declareOk(writer, 1, "first");
    writer.flush();
    assert.equal(writer.slabSize, 0);
    writer.heartbeat();
    declareOk(writer, 2, "second");
    assert.ok(writer.slabSize > 0);
    writer.flush();
    assert.equal(writer.slabSize, 0);
    assert.deepEqual(declareOks(socket), [
      [1, "first"],
      [2, "second"],
    ]);
  });

  it("is kept while the socket still holds output", () => {
    const socket = new TakingSocket();
    const writer = writerOn(socket);
    socket.writableLength = 100;
    declareOk(writer, 1, "q");
    writer.flush();
    assert.ok(writer.slabSize > 0);
  });

  it("grown by a burst, is given back after a sweep interval without output, not while output goes on", () => {
    const socket = new TakingSocket();
    const busy = writerOn(socket);
    const idle = writerOn(new TakingSocket());
    const names: Array<[number, string]> = [];
    for (const writer of [busy, idle]) {
      for (let i = 0; i < 3000; i++) {
        const name = `queue-${i}`.padEnd(100, "x");
        declareOk(writer, 1, name);
        if (writer === busy) names.push([1, name]);
      }
      writer.flush();
      assert.ok(writer.slabSize >= 64 * 1024, `${writer.slabSize} bytes after the burst`);
    }
    sweepIdleSlabs(); // both wrote since the last sweep
    assert.ok(busy.slabSize >= 64 * 1024 && idle.slabSize >= 64 * 1024);
    declareOk(busy, 1, "still busy");
    names.push([1, "still busy"]);
    busy.flush();
    sweepIdleSlabs();
    assert.equal(idle.slabSize, 0, "the idle writer gave its slab back");
    assert.ok(busy.slabSize >= 64 * 1024, "the busy writer kept its slab");
    sweepIdleSlabs();
    assert.equal(busy.slabSize, 0, "given back once idle for an interval");
    declareOk(busy, 1, "after");
    names.push([1, "after"]);
    busy.flush();
    assert.deepEqual(declareOks(socket), names);
  });

  it("once grown, is written over after each flush the socket took whole: no fresh slab per 64 KiB of output", () => {
    // A fresh slab per 64 KiB is an ArrayBuffer V8 counts as external memory toward its next full
    // collection: at 300,000 deliveries/s that alone started one every ~100 ms (docs/benchmarks.md).
    const socket = new TakingSocket();
    const writer = writerOn(socket);
    const names: Array<[number, string]> = [];
    const burst = (round: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const name = `r${round}-${i}`.padEnd(100, "x");
        declareOk(writer, 1, name);
        names.push([1, name]);
      }
      writer.flush();
    };
    burst(0, 1000);
    const slab = writer.buf;
    assert.ok(slab.length >= 64 * 1024, `${slab.length} bytes after the burst`);
    for (let round = 1; round <= 50; round++) burst(round, 80); // ~10 KiB each, ~500 KiB in all
    assert.equal(writer.buf, slab, "the same slab throughout");
    assert.deepEqual(declareOks(socket), names);
  });

  it("is not written over while the socket still holds bytes of it", () => {
    // A socket that keeps the very buffers it is given (as Node's does until a write completes).
    const held: Buffer[] = [];
    const socket = new TakingSocket();
    socket.write = (chunk: Buffer) => {
      held.push(chunk);
      return true;
    };
    socket.writableLength = 1;
    const writer = writerOn(socket);
    const names: Array<[number, string]> = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 80; i++) {
        const name = `r${round}-${i}`.padEnd(100, "x");
        declareOk(writer, 1, name);
        names.push([1, name]);
      }
      writer.flush();
    }
    socket.taken.push(...held.map((b) => Buffer.from(b)));
    assert.deepEqual(declareOks(socket), names);
  });
});
