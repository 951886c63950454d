/**
 * The bytes warren-perf puts on the wire. Control methods go through the project's generated
 * encoders; the frames of the hot path (publish, ack) are laid out here by hand, once, and then
 * copied or patched in place.
 */
import { AmqpWriter } from "../amqp/field-writer.js";
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD } from "../amqp/generated.js";

export { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_METHOD };
export const FRAME_HEARTBEAT = 8;

/** Method ids the hot path compares against: (class << 16) | method. */
export const BASIC_DELIVER = 0x3c003c;
export const BASIC_ACK = 0x3c0050;
export const BASIC_NACK = 0x3c0078;
export const BASIC_RETURN = 0x3c0032;

const CLASS_BASIC = 60;

/** One whole method frame, encoded with a generated encoder. */
export function methodFrame<A>(channel: number, encode: (w: AmqpWriter, args: A) => void, args: A): Buffer {
  const w = new AmqpWriter(256);
  w.u8(FRAME_METHOD);
  w.u16(channel);
  w.u32(0); // size, patched below
  encode(w, args);
  w.u8(FRAME_END);
  w.buf.writeUInt32BE(w.pos - 8, 3);
  return Buffer.from(w.buf.subarray(0, w.pos));
}

function frameHead(type: number, channel: number, size: number): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(size, 3);
  return head;
}

function shortStr(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  if (b.length > 255) throw new RangeError(`longer than 255 bytes: ${s}`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

export interface PublishTemplate {
  /** The frames of one message: basic.publish, content header, body frame(s). */
  bytes: Buffer;
  /** Where in `bytes` the body starts (its first 8 bytes carry the send time), or -1 if it is shorter than 8. */
  stampAt: number;
}

/**
 * The frames of one message published to `exchange` with `routingKey`: a body of `bodySize`
 * bytes (filled with 'x'), split at frame_max, and a delivery mode of 2 when persistent (no
 * other properties, the cheapest content header a client can send).
 */
export function publishTemplate(
  channel: number,
  exchange: string,
  routingKey: string,
  bodySize: number,
  persistent: boolean,
  frameMax: number,
): PublishTemplate {
  const args = Buffer.concat([Buffer.from([0, 0]), shortStr(exchange), shortStr(routingKey), Buffer.from([0])]);
  const methodPayload = Buffer.concat([Buffer.from([0, CLASS_BASIC, 0, 40]), args]);
  const parts: Buffer[] = [frameHead(FRAME_METHOD, channel, methodPayload.length), methodPayload, Buffer.from([FRAME_END])];

  const header = Buffer.alloc(persistent ? 15 : 14);
  header.writeUInt16BE(CLASS_BASIC, 0);
  header.writeUInt16BE(0, 2); // weight
  header.writeUInt32BE(Math.floor(bodySize / 0x1_0000_0000), 4);
  header.writeUInt32BE(bodySize >>> 0, 8);
  if (persistent) {
    header.writeUInt16BE(0x1000, 12); // property flags: delivery-mode only
    header[14] = 2;
  } else {
    header.writeUInt16BE(0, 12);
  }
  parts.push(frameHead(FRAME_HEADER, channel, header.length), header, Buffer.from([FRAME_END]));

  let stampAt = -1;
  const maxPayload = frameMax - 8;
  let offset = parts.reduce((n, p) => n + p.length, 0);
  for (let done = 0; done < bodySize; done += maxPayload) {
    const n = Math.min(maxPayload, bodySize - done);
    parts.push(frameHead(FRAME_BODY, channel, n));
    if (done === 0 && bodySize >= 8) stampAt = offset + 7;
    parts.push(Buffer.alloc(n, "x"), Buffer.from([FRAME_END]));
    offset += 8 + n;
  }
  return { bytes: Buffer.concat(parts), stampAt };
}

export const ACK_FRAME_SIZE = 21;

/** Write basic.ack(tag, multiple) into buf at pos: 21 bytes. */
export function writeAck(buf: Buffer, pos: number, channel: number, tag: number, multiple: boolean): void {
  buf[pos] = FRAME_METHOD;
  buf.writeUInt16BE(channel, pos + 1);
  buf.writeUInt32BE(13, pos + 3);
  buf.writeUInt32BE(BASIC_ACK, pos + 7);
  buf.writeUInt32BE(Math.floor(tag / 0x1_0000_0000), pos + 11);
  buf.writeUInt32BE(tag >>> 0, pos + 15);
  buf[pos + 19] = multiple ? 1 : 0;
  buf[pos + 20] = FRAME_END;
}

/** Read an unsigned 64-bit field as a number (tags and sizes stay far below 2^53). */
export function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

/** Microseconds on the monotonic clock, which every thread and process of the machine shares. */
export function nowUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}
