import { FRAME_END } from "./generated.js";
import { fail, type AmqpError } from "./errors.js";
import { describeFrame } from "./frame-text.js";

/** Receives whole frames from a FrameReader. The payload is buf[start, end). */
export interface FrameSink {
  onProtocolHeader(header: Buffer): void;
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
  onFrameError(error: AmqpError): void;
}

const HEADER_SIZE = 7; // type (1) + channel (2) + payload size (4)

/**
 * Cuts a byte stream into AMQP frames.
 *
 * Frames are parsed straight from each incoming chunk; only a frame that spans chunks is copied,
 * into a buffer of exactly its size. Payload views handed to the sink point into the chunk, so a
 * message body can be kept without a copy. The first 8 bytes are the protocol header.
 */
export class FrameReader {
  /**
   * The largest payload accepted: the negotiated frame_max. (RabbitMQ lets a payload of exactly
   * frame_max through, although the framing makes the frame 8 bytes longer; clients rely on it.)
   */
  frameMax: number;
  private headerSeen = false;
  /** A frame that started in an earlier chunk: its bytes so far, and its full size once known. */
  private partial: Buffer | undefined;
  private partialLength = 0;
  private stopped = false;
  /** Set by pause(): frames stop being handed out until resume(). */
  private paused = false;
  /** Bytes received while paused (or left of a chunk when pause() came mid-chunk), in order. */
  private held: Buffer[] = [];

  constructor(
    private readonly sink: FrameSink,
    frameMax: number,
  ) {
    this.frameMax = frameMax;
  }

  /** Stop delivering frames (after a connection error), dropping whatever arrives later. */
  stop(): void {
    this.stopped = true;
    this.partial = undefined;
    this.held = [];
  }

  /**
   * Hand out no more frames, even from the rest of the chunk being parsed: the frame just handled
   * is the last until resume() (the connection's read gate closed).
   */
  pause(): void {
    this.paused = true;
  }

  /** Go on with the bytes held back, then with what arrives. */
  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      if (this.paused || this.stopped) {
        // Paused again: what is left goes after the rest of the chunk that was being parsed.
        if (!this.stopped) this.held.push(...held.slice(i));
        return;
      }
      this.push(held[i]!);
    }
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.paused) {
      this.held.push(chunk);
      return;
    }
    let pos = 0;
    if (!this.headerSeen) {
      pos = this.takeProtocolHeader(chunk);
      if (pos < 0) return;
      if (this.paused) return this.hold(chunk, pos);
    }
    if (this.partial) {
      pos = this.completePartial(chunk, pos);
      if (pos < 0) return;
      if (this.paused) return this.hold(chunk, pos);
    }
    const len = chunk.length;
    while (!this.stopped && pos < len) {
      if (len - pos < HEADER_SIZE) {
        this.keepPartial(chunk, pos);
        return;
      }
      const size = chunk.readUInt32BE(pos + 3);
      if (!this.checkSize(chunk[pos]!, size)) return;
      const frameEnd = pos + HEADER_SIZE + size;
      if (frameEnd >= len) {
        this.keepPartial(chunk, pos);
        return;
      }
      this.emit(chunk, pos, size);
      pos = frameEnd + 1;
      if (this.paused) return this.hold(chunk, pos);
    }
  }

  /** Keep the unparsed rest of a chunk for resume(), ahead of anything received later. */
  private hold(chunk: Buffer, pos: number): void {
    if (pos < chunk.length && !this.stopped) this.held.unshift(chunk.subarray(pos));
  }

  /** Returns the position after the header, or -1 when more bytes are needed or it was answered. */
  private takeProtocolHeader(chunk: Buffer): number {
    const have = this.partial ? this.partial.subarray(0, this.partialLength) : Buffer.alloc(0);
    const needed = 8 - have.length;
    if (chunk.length < needed) {
      this.partial = Buffer.concat([have, chunk]);
      this.partialLength = this.partial.length;
      return -1;
    }
    const header = have.length ? Buffer.concat([have, chunk.subarray(0, needed)]) : chunk.subarray(0, 8);
    this.partial = undefined;
    this.partialLength = 0;
    this.headerSeen = true;
    this.sink.onProtocolHeader(header);
    return this.stopped ? -1 : needed;
  }

  private checkSize(type: number, size: number): boolean {
    if (size > this.frameMax) {
      this.fail(fail.frameError(`${describeFrame(type, EMPTY)}: {frame_too_large,${size},${this.frameMax - 8}}`));
      return false;
    }
    return true;
  }

  private keepPartial(chunk: Buffer, pos: number): void {
    const rest = chunk.length - pos;
    // Size unknown until the 7-byte header is whole: keep a small buffer until then.
    this.partial = Buffer.allocUnsafe(rest >= HEADER_SIZE ? HEADER_SIZE + chunk.readUInt32BE(pos + 3) + 1 : HEADER_SIZE);
    chunk.copy(this.partial, 0, pos);
    this.partialLength = rest;
  }

  /** Fill the partial frame from the chunk; returns the position after it, or -1 if still partial. */
  private completePartial(chunk: Buffer, pos: number): number {
    let partial = this.partial!;
    if (this.partialLength < HEADER_SIZE) {
      const take = Math.min(HEADER_SIZE - this.partialLength, chunk.length - pos);
      chunk.copy(partial, this.partialLength, pos, pos + take);
      this.partialLength += take;
      pos += take;
      if (this.partialLength < HEADER_SIZE) return -1;
      const size = partial.readUInt32BE(3);
      if (!this.checkSize(partial[0]!, size)) return -1;
      const whole = Buffer.allocUnsafe(HEADER_SIZE + size + 1);
      partial.copy(whole, 0, 0, HEADER_SIZE);
      this.partial = partial = whole;
    }
    const take = Math.min(partial.length - this.partialLength, chunk.length - pos);
    chunk.copy(partial, this.partialLength, pos, pos + take);
    this.partialLength += take;
    pos += take;
    if (this.partialLength < partial.length) return -1;
    this.partial = undefined;
    this.partialLength = 0;
    this.emit(partial, 0, partial.length - HEADER_SIZE - 1);
    return this.stopped ? -1 : pos;
  }

  private emit(buf: Buffer, pos: number, size: number): void {
    const payloadStart = pos + HEADER_SIZE;
    const payloadEnd = payloadStart + size;
    if (buf[payloadEnd] !== FRAME_END) {
      const payload = buf.subarray(payloadStart, payloadEnd);
      this.fail(fail.frameError(`${describeFrame(buf[pos]!, payload)}: {invalid_frame_end_marker,${buf[payloadEnd]}}`));
      return;
    }
    this.sink.onFrame(buf[pos]!, buf.readUInt16BE(pos + 1), buf, payloadStart, payloadEnd);
  }

  private fail(error: AmqpError): void {
    this.stop();
    this.sink.onFrameError(error);
  }
}

const EMPTY = Buffer.alloc(0);
