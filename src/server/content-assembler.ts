import { fail } from "../amqp/errors.js";
import { CLASS_BASIC } from "../amqp/generated.js";

/**
 * Collects a content header and its body frames after basic.publish.
 *
 * A body that arrives in one frame is kept as a view of the frame (no copy); a body spread over
 * several frames is copied once into a buffer of its declared size.
 */
export class ContentAssembler {
  rawProperties: Buffer = Buffer.alloc(0);
  bodySize = 0;
  private body: Buffer | undefined;
  private received = 0;
  private expectingHeader = false;
  private expectingBody = false;

  get active(): boolean {
    return this.expectingHeader || this.expectingBody;
  }

  /** A content-bearing method arrived: its header comes next. */
  start(): void {
    this.expectingHeader = true;
    this.expectingBody = false;
  }

  /**
   * The content header. Returns true when the content is already complete (empty body).
   * Checks the size against the limit before any body is buffered.
   */
  header(buf: Buffer, start: number, end: number, maxSize: number): boolean {
    if (!this.expectingHeader) throw fail.unexpectedFrame("expected method frame, got non method frame instead");
    if (end - start < 14) throw fail.frameError("content header too short");
    const classId = buf.readUInt16BE(start);
    if (classId !== CLASS_BASIC) throw fail.frameError(`content header for class ${classId}`);
    const size = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
    this.expectingHeader = false;
    this.rawProperties = buf.subarray(start + 12, end);
    this.bodySize = size;
    this.received = 0;
    this.body = undefined;
    if (size > maxSize) {
      throw fail.preconditionFailed(`message size ${size} is larger than configured max size ${maxSize}`);
    }
    this.expectingBody = size > 0;
    return size === 0;
  }

  /** A body frame. Returns true when the body is complete. */
  bodyFrame(buf: Buffer, start: number, end: number): boolean {
    if (!this.expectingBody) {
      throw fail.unexpectedFrame(this.expectingHeader ? "expected content header for class 60, got non content header frame instead" : "expected method frame, got non method frame instead");
    }
    const len = end - start;
    if (this.received + len > this.bodySize) throw fail.frameError("content body larger than declared in its header");
    if (this.received === 0 && len === this.bodySize) {
      this.body = buf.subarray(start, end);
    } else {
      this.body ??= Buffer.allocUnsafe(this.bodySize);
      buf.copy(this.body, this.received, start, end);
    }
    this.received += len;
    if (this.received < this.bodySize) return false;
    this.expectingBody = false;
    return true;
  }

  /** The completed body; the assembler is ready for the next publish. */
  takeBody(): Buffer {
    const body = this.body ?? EMPTY;
    this.body = undefined;
    return body;
  }

  /** A non-content frame arrived while content was expected. */
  interrupted(): never {
    throw fail.unexpectedFrame(
      this.expectingHeader
        ? "expected content header for class 60, got non content header frame instead"
        : "expected content body, got non content body frame instead",
    );
  }

  reset(): void {
    this.expectingHeader = false;
    this.expectingBody = false;
    this.body = undefined;
  }
}

const EMPTY = Buffer.alloc(0);
