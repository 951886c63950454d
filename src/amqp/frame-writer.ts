import type { Socket } from "node:net";
import { AmqpWriter } from "./field-writer.js";
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from "./generated.js";
import { watchGrownSlab, type SlabHolder } from "./idle-slabs.js";

/** Bodies at least this large are written by reference (frame by frame) instead of copied into the slab. */
const ZERO_COPY_BODY = 16 * 1024;
const SLAB_SIZE = 64 * 1024;
const INITIAL_SLAB_SIZE = 2 * 1024;
/** The slab of a writer with nothing to write: none (the next frame takes a small one). */
const NO_SLAB = Buffer.alloc(0);

/**
 * The one writer of a connection's socket.
 *
 * Frames are encoded into a slab; everything written during one event-loop turn goes out in a
 * single flush (one socket write, or one writev when large bodies are passed by reference).
 * Flushed bytes are not overwritten while the socket may still hold them: the next frames go after
 * them, and a full slab is replaced. Once every write the socket was given has completed, the next
 * frames go over them from the slab's start (one slab per busy connection, not one per 64 KiB).
 *
 * An idle connection holds no slab: a small one (taken from Node's shared buffer pool) is let go
 * after a flush the socket took whole, and a grown one after a sweep interval without output
 * (idle-slabs.ts), so a connection's memory does not stay at what it once needed.
 */
export class FrameWriter extends AmqpWriter implements SlabHolder {
  /** Start of the bytes not yet handed to the socket. */
  private flushedUpTo = 0;
  private flushScheduled = false;
  private frameStart = 0;
  private closed = false;
  /** Set by each flush; cleared by the idle-slab sweep, which takes a grown slab back when it finds it clear. */
  private flushedSinceSweep = false;
  /** Payload limit per frame; the negotiated frame_max minus the 8 bytes of framing. */
  maxPayload: number;
  /** Called when a scheduled flush throws: the owner closes the connection, not the process. */
  onFailure: ((err: unknown) => void) | undefined;
  /** Pending output (see backlog) above which onHighWater is called after a method or a large content. */
  highWater = Infinity;
  onHighWater: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    frameMax: number,
    /** Called after each flush: the socket may have taken everything without a 'drain' event. */
    private readonly onFlushed?: () => void,
    /** Called before each flush (the store writes its pending markers first). */
    private readonly beforeFlush?: () => void,
  ) {
    // Start small: most connections are idle; rotate() moves a busy one to full-size slabs.
    super(INITIAL_SLAB_SIZE);
    this.maxPayload = frameMax - 8;
  }

  set frameMax(value: number) {
    this.maxPayload = value - 8;
  }

  /** Bytes waiting in the socket plus those not yet flushed: the consumer backpressure signal. */
  get backlog(): number {
    return this.socket.writableLength + (this.pos - this.flushedUpTo);
  }

  /** The output slab's size (tests: a writer gives a grown slab back when idle). */
  get slabSize(): number {
    return this.buf.length;
  }

  protected override grow(n: number): void {
    if (this.buf === NO_SLAB) {
      this.takeSlab(Math.max(INITIAL_SLAB_SIZE, n * 2));
      return;
    }
    // Keep positions stable (frames patch their size field after writing): copy the unflushed
    // region to the same offsets of a larger buffer.
    const next = Buffer.allocUnsafe(Math.max(SLAB_SIZE, (this.pos + n) * 2));
    this.buf.copy(next, this.flushedUpTo, this.flushedUpTo, this.pos);
    this.buf = next;
    watchGrownSlab(this);
  }

  /** Start a frame: type, channel, and room for its size. Rotates to a fresh slab when this one is nearly full. */
  begin(type: number, channel: number): void {
    if (this.buf.length - this.pos < 1024) this.rotate();
    this.ensure(7);
    this.frameStart = this.pos;
    this.buf[this.pos] = type;
    this.buf.writeUInt16BE(channel, this.pos + 1);
    this.pos += 7;
  }

  /** Finish the frame begun last: patch its size and add the end marker. */
  end(): void {
    this.ensure(1);
    this.buf.writeUInt32BE(this.pos - this.frameStart - 7, this.frameStart + 3);
    this.buf[this.pos++] = FRAME_END;
    this.scheduleFlush();
  }

  /** Write a whole method frame with a generated encoder. */
  method<A>(channel: number, encode: (w: AmqpWriter, args: A) => void, args: A): void {
    this.begin(FRAME_METHOD, channel);
    try {
      encode(this, args);
    } catch (err) {
      // Drop the half-written frame so the stream stays well formed for the caller's error reply.
      this.pos = this.frameStart;
      throw err;
    }
    this.end();
    this.checkBacklog();
  }

  /** Output past `highWater`: tell the owner, which stops reading the client until it drains. */
  checkBacklog(): void {
    if (this.onHighWater !== undefined && this.backlog > this.highWater) this.onHighWater();
  }

  /**
   * Write a content header and the body frames. `properties` is the raw property section (flags
   * and values) exactly as the publisher sent it. A body of ZERO_COPY_BODY bytes or more is never
   * copied, however small frame_max cuts it: only the frame headers go into the slab.
   */
  content(channel: number, classId: number, properties: Buffer, body: Buffer): void {
    this.begin(FRAME_HEADER, channel);
    this.ensure(12 + properties.length);
    const b = this.buf;
    b.writeUInt16BE(classId, this.pos);
    b.writeUInt16BE(0, this.pos + 2);
    b.writeUInt32BE(Math.floor(body.length / 0x1_0000_0000), this.pos + 4);
    b.writeUInt32BE(body.length >>> 0, this.pos + 8);
    properties.copy(b, this.pos + 12);
    this.pos += 12 + properties.length;
    this.end();
    if (body.length >= ZERO_COPY_BODY) {
      this.bodyByReference(channel, body);
      // Small contents are left to the next method's check: deliveries stay as cheap as they were.
      this.checkBacklog();
    } else {
      const max = this.maxPayload;
      for (let offset = 0; offset < body.length; offset += max) {
        this.begin(FRAME_BODY, channel);
        this.raw(offset === 0 && body.length <= max ? body : body.subarray(offset, Math.min(offset + max, body.length)));
        this.end();
      }
    }
  }

  /**
   * content() for a message whose properties and body are ranges of one buffer (a segment): the
   * properties are copied from it, the body too unless it is large, when it goes by reference.
   */
  contentFrom(channel: number, classId: number, src: Buffer, propertiesStart: number, propertiesEnd: number, bodyStart: number, bodyEnd: number): void {
    const bodySize = bodyEnd - bodyStart;
    const max = this.maxPayload;
    if (bodySize >= ZERO_COPY_BODY || bodySize > max) {
      this.content(channel, classId, src.subarray(propertiesStart, propertiesEnd), src.subarray(bodyStart, bodyEnd));
      return;
    }
    this.begin(FRAME_HEADER, channel);
    const propertiesSize = propertiesEnd - propertiesStart;
    this.ensure(12 + propertiesSize);
    const b = this.buf;
    b.writeUInt16BE(classId, this.pos);
    b.writeUInt16BE(0, this.pos + 2);
    b.writeUInt32BE(0, this.pos + 4);
    b.writeUInt32BE(bodySize, this.pos + 8);
    this.pos += 12;
    this.rawRange(src, propertiesStart, propertiesEnd);
    this.end();
    if (bodySize > 0) {
      this.begin(FRAME_BODY, channel);
      this.rawRange(src, bodyStart, bodyEnd);
      this.end();
    }
  }

  /** Body frames whose headers are in the slab and whose payloads are the body's own bytes (one writev). */
  private bodyByReference(channel: number, body: Buffer): void {
    if (this.closed) return;
    const max = this.maxPayload;
    this.cork();
    for (let offset = 0; offset < body.length; offset += max) {
      const end = Math.min(offset + max, body.length);
      if (this.buf.length - this.pos < 1024) this.rotate();
      this.ensure(8); // the header now, the end marker after the payload
      const b = this.buf;
      b[this.pos] = FRAME_BODY;
      b.writeUInt16BE(channel, this.pos + 1);
      b.writeUInt32BE(end - offset, this.pos + 3);
      this.pos += 7;
      this.writeSlab();
      this.socket.write(offset === 0 && end === body.length ? body : body.subarray(offset, end));
      this.buf[this.pos++] = FRAME_END;
    }
    this.scheduleFlush();
  }

  heartbeat(): void {
    this.ensure(8);
    const b = this.buf;
    b[this.pos] = FRAME_HEARTBEAT;
    b.writeUInt16BE(0, this.pos + 1);
    b.writeUInt32BE(0, this.pos + 3);
    b[this.pos + 7] = FRAME_END;
    this.pos += 8;
    this.scheduleFlush();
  }

  /** Raw bytes outside framing (the protocol header we answer a bad one with). */
  rawBytes(bytes: Buffer): void {
    this.raw(bytes);
    this.scheduleFlush();
  }

  /** Hand everything written so far to the socket now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    this.beforeFlush?.();
    this.writeSlab();
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.flushedSinceSweep = true;
    if (this.socket.writableLength === 0) {
      // A small slab whose bytes the socket took is let go: the socket keeps what it still needs.
      if (this.buf.length <= INITIAL_SLAB_SIZE) this.dropSlab();
      // The socket holds no reference to a grown one (every write it was given has completed):
      // the next frames go over the flushed bytes instead of filling it and taking a fresh slab.
      // A fresh 64 KiB slab per 64 KiB of output is external memory that V8 counts toward its
      // next full collection, which at 300,000 deliveries/s started one every ~100 ms.
      else this.pos = this.flushedUpTo = 0;
    }
    this.onFlushed?.();
  }

  /** Drop anything unflushed and refuse later writes (the socket is gone). */
  close(): void {
    this.closed = true;
    this.dropSlab();
  }

  releaseIfIdle(): boolean {
    if (this.closed || this.buf.length <= INITIAL_SLAB_SIZE) return true;
    if (this.flushedSinceSweep || this.flushScheduled || this.pos !== this.flushedUpTo) {
      this.flushedSinceSweep = false;
      return false;
    }
    this.dropSlab();
    return true;
  }

  /** Hold no slab (nothing is unflushed, or it is being dropped): the next frame takes a small one. */
  private dropSlab(): void {
    this.buf = NO_SLAB;
    this.pos = 0;
    this.flushedUpTo = 0;
  }

  private takeSlab(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.flushedUpTo = 0;
  }

  private corked = false;
  private cork(): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
  }

  private writeSlab(): void {
    if (this.pos > this.flushedUpTo && !this.closed) {
      this.socket.write(this.buf.subarray(this.flushedUpTo, this.pos));
      this.flushedUpTo = this.pos;
    }
  }

  private rotate(): void {
    if (this.buf === NO_SLAB) {
      this.takeSlab(INITIAL_SLAB_SIZE);
      return;
    }
    const unflushed = this.pos - this.flushedUpTo;
    // Slabs double up to SLAB_SIZE, so a connection that writes little keeps a small one.
    const next = Buffer.allocUnsafe(Math.max(Math.min(this.buf.length * 2, SLAB_SIZE), unflushed * 2 + 1024));
    this.buf.copy(next, 0, this.flushedUpTo, this.pos);
    this.buf = next;
    this.flushedUpTo = 0;
    this.pos = unflushed;
    if (next.length > INITIAL_SLAB_SIZE) watchGrownSlab(this);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    process.nextTick(flushWriter, this);
  }
}

function flushWriter(writer: FrameWriter): void {
  try {
    writer.flush();
  } catch (err) {
    if (writer.onFailure === undefined) throw err;
    writer.onFailure(err);
  }
}
