import { AmqpError, fail } from "../amqp/errors.js";
import { BASIC_PUBLISH, CLASS_BASIC, ReplyCode } from "../amqp/generated.js";

/**
 * Collects a content header and its body frames after basic.publish.
 *
 * The property section and a body that arrives in one frame are kept as byte ranges of their
 * frames (no copy, no view); a body spread over several frames is copied once into a buffer of
 * its declared size. Frames out of place get RabbitMQ's 505 UNEXPECTED_FRAME texts.
 */
export class ContentAssembler {
  /** The property section: bytes [propertiesStart, propertiesEnd) of propertiesBuf. */
  propertiesBuf: Buffer = EMPTY;
  propertiesStart = 0;
  propertiesEnd = 0;
  bodySize = 0;
  /** The body once complete: bytes [bodyStart, bodyEnd) of bodyBuf. */
  bodyBuf: Buffer = EMPTY;
  bodyStart = 0;
  bodyEnd = 0;
  /** A body spread over several frames, being gathered. */
  private body: Buffer | undefined;
  private received = 0;
  private expecting: "method" | "header" | "body" = "method";

  get active(): boolean {
    return this.expecting !== "method";
  }

  /** basic.publish arrived: its header comes next. */
  start(): void {
    this.expecting = "header";
  }

  /**
   * The content header. Returns true when the content is already complete (empty body).
   * The size is checked against the limit before any body is buffered (406, channel-level).
   */
  header(buf: Buffer, start: number, end: number, maxSize: number): boolean {
    if (this.expecting !== "header") throw this.unexpected();
    const classId = end - start >= 2 ? buf.readUInt16BE(start) : 0;
    // RabbitMQ takes a header whose weight is not 0 for no content header at all, whatever its class.
    if (end - start >= 4 && buf.readUInt16BE(start + 2) !== 0) throw this.unexpected();
    if (classId !== CLASS_BASIC) {
      throw unexpectedFrame(`expected content header for class 60, got one for class ${classId} instead`, true);
    }
    if (end - start < 14) throw fail.frameError("content header too short");
    const size = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
    this.propertiesBuf = buf;
    this.propertiesStart = start + 12;
    this.propertiesEnd = end;
    this.bodySize = size;
    this.received = 0;
    this.body = undefined;
    this.bodyBuf = EMPTY;
    this.bodyStart = this.bodyEnd = 0;
    this.expecting = size > 0 ? "body" : "method";
    if (size > maxSize) {
      // The exact 64-bit size: a double would print 2^63 as 9223372036854776000.
      throw fail.preconditionFailed(`message size ${buf.readBigUInt64BE(start + 4)} is larger than configured max size ${maxSize}`).attachMethod(BASIC_PUBLISH);
    }
    return size === 0;
  }

  /** A body frame. Returns true when the body is complete. */
  bodyFrame(buf: Buffer, start: number, end: number): boolean {
    if (this.expecting !== "body") throw this.unexpected();
    const len = end - start;
    if (this.received + len > this.bodySize) {
      throw fail.frameError("content body larger than its header declared");
    }
    // An empty body frame adds nothing (RabbitMQ takes it so). It must not reach the copy below:
    // that would allocate the body's buffer unfilled, and when the next frame then carried the
    // whole body by reference, completion swapped in the unfilled buffer, delivering old memory.
    if (len === 0) return false;
    if (this.received === 0 && len === this.bodySize) {
      this.bodyBuf = buf;
      this.bodyStart = start;
      this.bodyEnd = end;
    } else {
      this.body ??= Buffer.allocUnsafe(this.bodySize);
      buf.copy(this.body, this.received, start, end);
    }
    this.received += len;
    if (this.received < this.bodySize) return false;
    this.expecting = "method";
    if (this.body !== undefined) {
      this.bodyBuf = this.body;
      this.bodyStart = 0;
      this.bodyEnd = this.body.length;
      this.body = undefined;
    }
    return true;
  }

  /** The completed body as a Buffer (a view: not for the hot path). */
  takeBody(): Buffer {
    const body = this.bodyBuf.subarray(this.bodyStart, this.bodyEnd);
    this.release();
    return body;
  }

  /** The completed content has been used: let go of its buffers (socket chunks). */
  release(): void {
    this.propertiesBuf = this.bodyBuf = EMPTY;
    this.propertiesStart = this.propertiesEnd = this.bodyStart = this.bodyEnd = 0;
    this.body = undefined;
  }

  /** The error for a frame that is not the one expected now. */
  unexpected(): AmqpError {
    switch (this.expecting) {
      case "method":
        return unexpectedFrame("expected method frame, got non method frame instead", false);
      case "header":
        return unexpectedFrame("expected content header for class 60, got non content header frame instead", true);
      case "body":
        return unexpectedFrame("expected content body, got non content body frame instead", true);
    }
  }

  reset(): void {
    this.expecting = "method";
    this.release();
  }
}

/** 505 on the connection; during a publish it names basic.publish, as RabbitMQ does, and otherwise no method. */
function unexpectedFrame(text: string, duringPublish: boolean): AmqpError {
  return new AmqpError({ code: ReplyCode.UNEXPECTED_FRAME, text: `UNEXPECTED_FRAME - ${text}`, method: duringPublish ? BASIC_PUBLISH : 0 });
}

const EMPTY = Buffer.alloc(0);
