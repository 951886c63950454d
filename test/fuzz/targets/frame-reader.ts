/**
 * The frame reader (src/amqp/frame-reader.ts): a protocol header and frames, cut into random
 * chunks, optionally with bytes mutated.
 *
 * What the reader reports (header, frames, error) must not depend on how the stream is chunked;
 * valid streams must come out frame for frame as they went in; an error stops the stream and is
 * a connection-level AmqpError; no frame larger than frame_max is ever handed on; no push throws
 * or takes over the time budget.
 */
import fc from "fast-check";
import { AmqpError, isHardError } from "../../../src/amqp/errors.js";
import { FrameReader, type FrameSink } from "../../../src/amqp/frame-reader.js";
import { assertFastCase, hex, mutate, mutationArb, type FuzzTarget, type Mutation, type TimedStep } from "../target.js";

interface FrameSpec {
  type: number;
  channel: number;
  payload: Uint8Array;
}

interface ReaderCase {
  frameMax: number;
  frames: FrameSpec[];
  mutations: Mutation[];
  /** Where the stream is cut into chunks (positions, any order, any range). */
  cuts: number[];
}

const HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

function encodeStream(frames: FrameSpec[]): Buffer {
  const parts: Buffer[] = [HEADER];
  for (const f of frames) {
    const head = Buffer.alloc(7);
    head[0] = f.type;
    head.writeUInt16BE(f.channel, 1);
    head.writeUInt32BE(f.payload.length, 3);
    parts.push(head, Buffer.from(f.payload), Buffer.from([0xce]));
  }
  return Buffer.concat(parts);
}

/** Everything the reader told its sink, as comparable text. */
class RecordingSink implements FrameSink {
  readonly events: string[] = [];
  largest = 0;
  errors = 0;
  onProtocolHeader(header: Buffer): void {
    this.events.push(`header ${header.toString("hex")}`);
  }
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    this.largest = Math.max(this.largest, end - start);
    if (this.errors > 0) this.events.push("frame after error");
    this.events.push(`frame ${type} ${channel} ${buf.subarray(start, end).toString("hex")}`);
  }
  onFrameError(error: AmqpError): void {
    this.errors++;
    if (!(error instanceof AmqpError) || !isHardError(error.code)) this.events.push(`not a connection error: ${String(error)}`);
    this.events.push(`error ${error.code} ${error.message}`);
  }
}

function read(stream: Buffer, frameMax: number, cuts: number[], timed: TimedStep): RecordingSink {
  const sink = new RecordingSink();
  const reader = new FrameReader(sink, frameMax);
  const positions = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...positions, stream.length]) {
    if (to <= from) continue;
    // A fresh copy per chunk, as a socket hands them over: the reader must not rely on neighbours.
    const chunk = Buffer.from(stream.subarray(from, to));
    timed(`push of ${chunk.length} bytes`, () => {
      try {
        reader.push(chunk);
      } catch (err) {
        sink.events.push(`push threw ${String(err)}`);
      }
    });
    from = to;
  }
  return sink;
}

function check(c: ReaderCase): void {
  const valid = encodeStream(c.frames);
  const stream = mutate(valid, c.mutations);
  // The reader keeps state between pushes: a slow push is timed again by reading everything again.
  let whole = new RecordingSink();
  let chunked = new RecordingSink();
  assertFastCase((timed) => {
    whole = read(stream, c.frameMax, [], timed);
    chunked = read(stream, c.frameMax, c.cuts, timed);
  });
  const bad = whole.events.concat(chunked.events).find((e) => e.startsWith("push threw") || e.startsWith("not a") || e === "frame after error");
  if (bad) throw new Error(bad);
  if (whole.largest > c.frameMax || chunked.largest > c.frameMax) throw new Error(`a payload over frame_max ${c.frameMax} was handed on`);
  // Chunking may only cut the stream short of a frame's end, never change what was read.
  const n = Math.min(whole.events.length, chunked.events.length);
  for (let i = 0; i < n; i++) {
    if (whole.events[i] !== chunked.events[i]) throw new Error(`chunking changed event ${i}: ${whole.events[i]} vs ${chunked.events[i]}`);
  }
  if (whole.events.length !== chunked.events.length)
    throw new Error(`chunking changed the number of events: ${whole.events.length} vs ${chunked.events.length}`);
  if (c.mutations.length === 0 && c.frames.every((f) => f.payload.length <= c.frameMax)) {
    const expected = [`header ${HEADER.toString("hex")}`, ...c.frames.map((f) => `frame ${f.type} ${f.channel} ${Buffer.from(f.payload).toString("hex")}`)];
    if (whole.events.join("\n") !== expected.join("\n")) throw new Error("a valid stream did not come out frame for frame");
  }
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  type: fc.oneof(fc.constantFrom(1, 2, 3, 8), fc.nat({ max: 255 })),
  channel: fc.oneof(fc.constantFrom(0, 1, 2), fc.nat({ max: 65535 })),
  payload: fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 4000, maxLength: 5000 }) }),
});

export const frameReaderTarget: FuzzTarget<ReaderCase> = {
  name: "frame-reader",
  summary: "frame streams, chunked at random and mutated, through FrameReader",
  async prepare() {
    const caseArb = fc.record({
      frameMax: fc.constantFrom(4096, 131072, 16, 1),
      frames: fc.array(frameArb, { maxLength: 12 }),
      mutations: fc.oneof(fc.constant([] as Mutation[]), fc.array(mutationArb, { minLength: 1, maxLength: 3 })),
      cuts: fc.array(fc.nat({ max: 70000 }), { maxLength: 20 }),
    });
    return {
      property: fc.asyncProperty(caseArb, async (c) => check(c)),
      describe: (c) =>
        `frame_max ${c.frameMax}; stream ${hex(mutate(encodeStream(c.frames), c.mutations))}\n` +
        `  cut at ${JSON.stringify(c.cuts)} (modulo the stream length + 1)`,
      close: async () => {},
    };
  },
};
