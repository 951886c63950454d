/**
 * Unit tests of the frame reader (src/amqp/frame-reader.ts): the protocol header and frames come
 * out the same however the byte stream is cut into chunks; frames larger than frame_max and frames
 * without the end octet are refused with 501 FRAME_ERROR (RabbitMQ's texts), after which nothing
 * more is handed out; pause and resume keep the order.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AmqpError } from "../../src/amqp/errors.js";
import { FrameReader, type FrameSink } from "../../src/amqp/frame-reader.js";
import { FRAME_BODY, FRAME_END, FRAME_HEARTBEAT, FRAME_METHOD } from "../../src/amqp/generated.js";

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0-9-1

/** What a sink was handed, in order; payloads copied (views may point into reused chunks). */
type Event = { header: string } | { frame: [type: number, channel: number, payload: string] } | { error: [code: number, text: string] };

class RecordingSink implements FrameSink {
  readonly events: Event[] = [];
  /** The buffers payloads were handed in, to check which frames were copied. */
  readonly buffers: Buffer[] = [];
  onFrameHook: ((type: number) => void) | undefined;

  onProtocolHeader(header: Buffer): void {
    this.events.push({ header: header.toString("hex") });
  }
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    this.events.push({ frame: [type, channel, buf.toString("hex", start, end)] });
    this.buffers.push(buf);
    this.onFrameHook?.(type);
  }
  onFrameError(error: AmqpError): void {
    this.events.push({ error: [error.code, error.message] });
  }
}

function frame(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([end])]);
}

const heartbeat = frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
/** connection.tune-ok-like bytes on channel 0, a body on channel 5, a heartbeat, an empty body. */
const stream = Buffer.concat([
  PROTOCOL_HEADER,
  frame(FRAME_METHOD, 0, Buffer.from("000a001f07ff00020000003c", "hex")),
  frame(FRAME_BODY, 5, Buffer.from("hello, world")),
  heartbeat,
  frame(FRAME_BODY, 65535, Buffer.alloc(0)),
  frame(FRAME_BODY, 1, Buffer.alloc(300, 0x5a)),
]);
const expected: Event[] = [
  { header: PROTOCOL_HEADER.toString("hex") },
  { frame: [FRAME_METHOD, 0, "000a001f07ff00020000003c"] },
  { frame: [FRAME_BODY, 5, Buffer.from("hello, world").toString("hex")] },
  { frame: [FRAME_HEARTBEAT, 0, ""] },
  { frame: [FRAME_BODY, 65535, ""] },
  { frame: [FRAME_BODY, 1, "5a".repeat(300)] },
];

function read(chunks: Buffer[], frameMax = 4096): RecordingSink {
  const sink = new RecordingSink();
  const reader = new FrameReader(sink, frameMax);
  for (const c of chunks) reader.push(c);
  return sink;
}

/** The stream cut at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

describe("frames from chunks", () => {
  it("one chunk: the header, then every frame in order, heartbeats and empty payloads included", () => {
    assert.deepEqual(read([stream]).events, expected);
  });

  it("the same frames whatever single byte the stream is cut at", () => {
    for (let at = 1; at < stream.length; at++) assert.deepEqual(read(cut(stream, [at])).events, expected, `cut at ${at}`);
  });

  it("the same frames from one-byte chunks, and from every pair of cuts", () => {
    assert.deepEqual(
      read(
        cut(
          stream,
          Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
        ),
      ).events,
      expected,
    );
    for (let a = 1; a < 60; a++) {
      for (let b = a; b < 60; b++) assert.deepEqual(read(cut(stream, [a, b])).events, expected, `cuts at ${a} and ${b}`);
    }
  });

  it("empty chunks change nothing", () => {
    assert.deepEqual(read([Buffer.alloc(0), stream.subarray(0, 20), Buffer.alloc(0), stream.subarray(20), Buffer.alloc(0)]).events, expected);
  });

  it("a frame inside one chunk is handed out as a view of that chunk; only a split frame is copied", () => {
    const own = Buffer.alloc(stream.length); // not from the shared pool, so .buffer tells it apart
    stream.copy(own);
    const sink = read(cut(own, [30]));
    // The cut at 30 falls inside the second frame (bytes 28..48); the others lie wholly in a chunk.
    assert.deepEqual(sink.events, expected);
    const [first, second, ...rest] = sink.buffers;
    assert.equal(first!.buffer, own.buffer);
    assert.notEqual(second!.buffer, own.buffer, "the frame across the cut is a copy");
    assert.equal(second!.length, 7 + 12 + 1, "copied into a buffer of exactly its size");
    for (const b of rest) assert.equal(b.buffer, own.buffer);
  });

  it("a payload of exactly frame_max passes; one byte more is a frame error", () => {
    const max = 4096;
    const ok = read([PROTOCOL_HEADER, frame(FRAME_BODY, 1, Buffer.alloc(max))], max);
    assert.equal(ok.events.length, 2);
    assert.equal("frame" in ok.events[1]! && ok.events[1].frame[2].length, 2 * max);
    const tooBig = read([PROTOCOL_HEADER, frame(FRAME_BODY, 1, Buffer.alloc(max + 1, 1)), heartbeat], max);
    assert.deepEqual(tooBig.events.slice(1), [{ error: [501, `FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,${max + 1},${max - 8}}`] }]);
  });

  it("an oversized frame is refused from its header alone, before its payload arrives, however the header is cut", () => {
    const max = 4096;
    const header = frame(FRAME_BODY, 1, Buffer.alloc(0)).subarray(0, 7);
    header.writeUInt32BE(0xffff_fff0, 3); // claims 4 GiB: must not be allocated
    for (let at = 1; at < 7; at++) {
      const sink = read([PROTOCOL_HEADER, ...cut(header, [at])], max);
      assert.deepEqual(sink.events.slice(1), [{ error: [501, `FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,${0xffff_fff0},${max - 8}}`] }]);
    }
  });

  it("a frame whose end octet is not 206 is a frame error naming the octet, split or not", () => {
    const bad = frame(FRAME_METHOD, 1, Buffer.from("abc"), 0x00);
    const text = 'FRAME_ERROR - type 1, all octets = <<"abc">>: {invalid_frame_end_marker,0}';
    for (let at = 0; at < bad.length; at++) {
      const chunks = at === 0 ? [PROTOCOL_HEADER, bad, heartbeat] : [PROTOCOL_HEADER, ...cut(bad, [at]), heartbeat];
      assert.deepEqual(read(chunks).events.slice(1), [{ error: [501, text] }], `cut at ${at}`);
    }
    const long = read([PROTOCOL_HEADER, frame(FRAME_BODY, 1, Buffer.from([...Array(20).keys()]), 0xce + 1)]);
    assert.deepEqual(long.events[1], {
      error: [501, "FRAME_ERROR - type 3, first 16 octets = <<0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15>>: {invalid_frame_end_marker,207}"],
    });
  });

  it("after a frame error nothing more is handed out, even frames already received", () => {
    const sink = read([Buffer.concat([PROTOCOL_HEADER, heartbeat, frame(FRAME_BODY, 1, Buffer.from("x"), 0x01), heartbeat]), heartbeat]);
    assert.equal(sink.events.length, 3); // header, heartbeat, error
    assert.ok("error" in sink.events[2]!);
  });

  it("the protocol header is handed out as received, whatever it holds (the connection judges it)", () => {
    const other = Buffer.from("GET / HT");
    for (let at = 1; at < 8; at++) assert.deepEqual(read(cut(other, [at])).events, [{ header: other.toString("hex") }]);
  });
});

describe("pause and resume", () => {
  it("a pause inside a chunk holds the rest of it and later chunks, in order, until resume", () => {
    const sink = new RecordingSink();
    const reader = new FrameReader(sink, 4096);
    sink.onFrameHook = (type) => {
      if (type === FRAME_METHOD) reader.pause();
    };
    reader.push(stream.subarray(0, 40));
    assert.deepEqual(sink.events, expected.slice(0, 2), "stopped after the frame that paused");
    reader.push(stream.subarray(40));
    assert.deepEqual(sink.events, expected.slice(0, 2), "held while paused");
    reader.resume();
    assert.deepEqual(sink.events, expected);
  });

  it("pausing again during resume keeps what is left for the next resume", () => {
    const sink = new RecordingSink();
    const reader = new FrameReader(sink, 4096);
    sink.onFrameHook = () => reader.pause();
    reader.push(PROTOCOL_HEADER);
    for (let at = 8; at < stream.length; at += 7) reader.push(stream.subarray(at, Math.min(stream.length, at + 7)));
    for (let frames = 1; frames < expected.length; frames++) {
      assert.deepEqual(sink.events, expected.slice(0, frames + 1), `after ${frames} resumes`);
      reader.resume();
    }
    assert.deepEqual(sink.events, expected);
  });

  it("stop drops everything held and everything later", () => {
    const sink = new RecordingSink();
    const reader = new FrameReader(sink, 4096);
    reader.push(PROTOCOL_HEADER);
    reader.pause();
    reader.push(heartbeat);
    reader.stop();
    reader.resume();
    reader.push(heartbeat);
    assert.deepEqual(sink.events, [{ header: PROTOCOL_HEADER.toString("hex") }]);
  });
});
