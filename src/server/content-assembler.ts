import { AmqpError, fail } from "../amqp/errors.js";
import { BASIC_PUBLISH, CLASS_BASIC, ReplyCode } from "../amqp/generated.js";

/**
 * Collects a content header and its body frames after basic.publish.
 *
 * A body that arrives in one frame is kept as a view of the frame (no copy); a body spread over
 * several frames is copied once into a buffer of its declared size. Frames out of place get
 * RabbitMQ's 505 UNEXPECTED_FRAME texts.
 */
export class ContentAssembler {
  rawProperties: Buffer = EMPTY;
  bodySize = 0;
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
    this.rawProperties = buf.subarray(start + 12, end);
    this.bodySize = size;
    this.received = 0;
    this.body = undefined;
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
    if (this.received === 0 && len === this.bodySize) {
      this.body = buf.subarray(start, end);
    } else {
      this.body ??= Buffer.allocUnsafe(this.bodySize);
      buf.copy(this.body, this.received, start, end);
    }
    this.received += len;
    if (this.received < this.bodySize) return false;
    this.expecting = "method";
    return true;
  }

  /** The completed body; the assembler is ready for the next publish. */
  takeBody(): Buffer {
    const body = this.body ?? EMPTY;
    this.body = undefined;
    return body;
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
    this.body = undefined;
  }
}

/** 505 on the connection; during a publish it names basic.publish, as RabbitMQ does, and otherwise no method. */
function unexpectedFrame(text: string, duringPublish: boolean): AmqpError {
  return new AmqpError({ code: ReplyCode.UNEXPECTED_FRAME, text: `UNEXPECTED_FRAME - ${text}`, method: duringPublish ? BASIC_PUBLISH : 0 });
}

const EMPTY = Buffer.alloc(0);
