import { syntaxError } from "./errors.js";
import { BASIC_PUBLISH, type BasicPublish } from "./generated.js";
import { decodeName } from "./name-bytes.js";

const EMPTY = Buffer.alloc(0);

/**
 * basic.publish as the hot path reads it: the generated fields plus where the raw address bytes
 * are. One object per connection, refilled by every decode: valid until the next publish is
 * decoded, so whoever needs it longer copies the fields (the channel's publisher does).
 */
export interface FastPublish extends BasicPublish {
  /**
   * The exchange and routing-key shortstrs exactly as they sit in the frame: bytes
   * [addressStart, addressEnd) of addressBuf. basic.deliver, get-ok and return carry the same two
   * fields back to back, so deliveries copy these bytes instead of encoding two strings per message.
   */
  addressBuf: Buffer;
  addressStart: number;
  addressEnd: number;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * A shortstr decoder that remembers the last value it decoded: publishers repeat the same
 * exchange and routing key, and handing back the same string object skips both the UTF-8 decode
 * and the re-hashing when the string is used as a map key.
 */
class RepeatingShortStr {
  /** Taken at the first publish: most connections never publish (consumers, RPC servers). */
  private last = NO_BYTES;
  private lastLength = -1;
  private value = "";

  read(buf: Buffer, pos: number, len: number): string {
    const last = this.last;
    if (len === this.lastLength) {
      let i = 0;
      while (i < len && buf[pos + i] === last[i]) i++;
      if (i === len) return this.value;
    }
    if (last === NO_BYTES) this.last = Buffer.alloc(256);
    buf.copy(this.last, 0, pos, pos + len);
    this.lastLength = len;
    this.value = decodeName(buf, pos, pos + len); // lossless, so `address` and the strings agree
    return this.value;
  }
}

/**
 * Decodes basic.publish arguments (after class and method id) for one connection, into one
 * reused FastPublish.
 */
export class PublishDecoder {
  private readonly exchange = new RepeatingShortStr();
  private readonly routingKey = new RepeatingShortStr();
  /** Reused for every publish: a publish costs no object. */
  private readonly out: FastPublish = {
    id: BASIC_PUBLISH,
    exchange: "",
    routingKey: "",
    mandatory: false,
    immediate: false,
    addressBuf: EMPTY,
    addressStart: 0,
    addressEnd: 0,
  };

  decode(buf: Buffer, start: number, end: number): FastPublish {
    let p = start + 2; // reserved-1 (ticket)
    if (p >= end) throw syntaxError("SYNTAX_ERROR - truncated basic.publish");
    const addressStart = p;
    const exLen = buf[p++]!;
    if (p + exLen >= end) throw syntaxError("SYNTAX_ERROR - truncated basic.publish");
    const exchange = this.exchange.read(buf, p, exLen);
    p += exLen;
    const rkLen = buf[p++]!;
    if (p + rkLen >= end) throw syntaxError("SYNTAX_ERROR - truncated basic.publish");
    const routingKey = this.routingKey.read(buf, p, rkLen);
    p += rkLen;
    const bits = buf[p]!;
    // RabbitMQ matches the whole argument binary: a byte past the bits cannot be decoded.
    if (p + 1 !== end) throw syntaxError("SYNTAX_ERROR - basic.publish has bytes after its arguments");
    const out = this.out;
    out.exchange = exchange;
    out.routingKey = routingKey;
    out.mandatory = (bits & 1) !== 0;
    out.immediate = (bits & 2) !== 0;
    out.addressBuf = buf;
    out.addressStart = addressStart;
    out.addressEnd = p;
    return out;
  }
}
