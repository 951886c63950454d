/**
 * A tiny, independent AMQP 0-9-1 wire client for connection- and frame-level tests.
 *
 * It is written from spec/amqp0-9-1-rabbit.xml and deliberately shares no code with src/, so a
 * bug in Warren's codec cannot hide itself in the tests. It does no validation of its own: tests
 * use it to send exactly the bytes they want (including wrong ones) and to look at exactly what
 * the server answers.
 *
 * Wire format reminders (spec section 4.2):
 *   protocol header: "AMQP" 0 0 9 1
 *   frame:  type:octet channel:short size:long payload:size-octets frame-end:octet(0xCE)
 *   method payload:  class-id:short method-id:short arguments...
 *   header payload:  class-id:short weight:short(0) body-size:longlong property-flags:short properties...
 *   heartbeat: type 8, channel 0, empty payload
 */
import { connect, type Socket } from "node:net";

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0 0 9 1

/** Class and method ids from the spec, for readable tests. */
export const M = {
  connectionStart: [10, 10],
  connectionStartOk: [10, 11],
  connectionSecure: [10, 20],
  connectionSecureOk: [10, 21],
  connectionTune: [10, 30],
  connectionTuneOk: [10, 31],
  connectionOpen: [10, 40],
  connectionOpenOk: [10, 41],
  connectionClose: [10, 50],
  connectionCloseOk: [10, 51],
  connectionBlocked: [10, 60],
  connectionUnblocked: [10, 61],
  channelOpen: [20, 10],
  channelOpenOk: [20, 11],
  channelFlow: [20, 20],
  channelFlowOk: [20, 21],
  channelClose: [20, 40],
  channelCloseOk: [20, 41],
  exchangeDeclare: [40, 10],
  exchangeDeclareOk: [40, 11],
  queueDeclare: [50, 10],
  queueDeclareOk: [50, 11],
  queueBind: [50, 20],
  queueBindOk: [50, 21],
  queuePurge: [50, 30],
  queuePurgeOk: [50, 31],
  queueDelete: [50, 40],
  queueDeleteOk: [50, 41],
  basicQos: [60, 10],
  basicQosOk: [60, 11],
  basicConsume: [60, 20],
  basicConsumeOk: [60, 21],
  basicCancel: [60, 30],
  basicCancelOk: [60, 31],
  basicPublish: [60, 40],
  basicReturn: [60, 50],
  basicDeliver: [60, 60],
  basicGet: [60, 70],
  basicGetOk: [60, 71],
  basicGetEmpty: [60, 72],
  basicAck: [60, 80],
  basicReject: [60, 90],
  basicNack: [60, 120],
  confirmSelect: [85, 10],
  confirmSelectOk: [85, 11],
} as const satisfies Record<string, readonly [number, number]>;

export type MethodId = readonly [classId: number, methodId: number];

// ---------------------------------------------------------------------------------------------
// Field values and tables
// ---------------------------------------------------------------------------------------------

/** A decoded or to-be-encoded field value. Numbers encode as signed 32-bit ('I') when they fit,
 * else as double ('d'); bigint as signed 64-bit ('l'); Buffer as byte array ('x'). */
export type FieldValue = boolean | number | bigint | string | Buffer | null | FieldValue[] | FieldTable | Date;
export interface FieldTable {
  [key: string]: FieldValue;
}

/** Builds a method's argument list (or any AMQP-encoded byte string) field by field. Consecutive
 * bits are packed into one octet, as the spec says; any other field closes the bit run. */
export class ArgWriter {
  private parts: Buffer[] = [];
  private bitOctet = -1;
  private bitCount = 0;

  private flushBits(): void {
    if (this.bitCount > 0) {
      this.parts.push(Buffer.from([this.bitOctet]));
      this.bitOctet = -1;
      this.bitCount = 0;
    }
  }

  private push(b: Buffer): this {
    this.flushBits();
    this.parts.push(b);
    return this;
  }

  octet(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }

  short(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  long(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return this.push(b);
  }

  longlong(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }

  shortstr(s: string | Buffer): this {
    const body = typeof s === "string" ? Buffer.from(s, "utf8") : s;
    if (body.length > 255) throw new RangeError("shortstr longer than 255 octets");
    return this.push(Buffer.concat([Buffer.from([body.length]), body]));
  }

  longstr(s: string | Buffer): this {
    const body = typeof s === "string" ? Buffer.from(s, "utf8") : s;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return this.push(Buffer.concat([len, body]));
  }

  bit(v: boolean): this {
    if (this.bitCount === 8) this.flushBits();
    if (this.bitCount === 0) this.bitOctet = 0;
    if (v) this.bitOctet |= 1 << this.bitCount;
    this.bitCount++;
    return this;
  }

  /** Several bits in a row (they share octets). */
  bits(...vs: boolean[]): this {
    for (const v of vs) this.bit(v);
    return this;
  }

  table(t: FieldTable): this {
    return this.push(encodeTable(t));
  }

  raw(b: Buffer | Uint8Array | number[]): this {
    return this.push(Buffer.from(b));
  }

  build(): Buffer {
    this.flushBits();
    return Buffer.concat(this.parts);
  }
}

export function encodeFieldValue(v: FieldValue): Buffer {
  if (v === null) return Buffer.from("V");
  if (typeof v === "boolean") return Buffer.from([0x74 /* t */, v ? 1 : 0]);
  if (typeof v === "string") return Buffer.concat([Buffer.from("S"), new ArgWriter().longstr(v).build()]);
  if (typeof v === "bigint") {
    const b = Buffer.alloc(9);
    b.write("l");
    b.writeBigInt64BE(v, 1);
    return b;
  }
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
      const b = Buffer.alloc(5);
      b.write("I");
      b.writeInt32BE(v, 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b.write("d");
    b.writeDoubleBE(v, 1);
    return b;
  }
  if (Buffer.isBuffer(v)) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    return Buffer.concat([Buffer.from("x"), len, v]);
  }
  if (v instanceof Date) {
    const b = Buffer.alloc(9);
    b.write("T");
    b.writeBigUInt64BE(BigInt(Math.floor(v.getTime() / 1000)), 1);
    return b;
  }
  if (Array.isArray(v)) {
    const items = Buffer.concat(v.map(encodeFieldValue));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(items.length);
    return Buffer.concat([Buffer.from("A"), len, items]);
  }
  return Buffer.concat([Buffer.from("F"), encodeTable(v)]);
}

export function encodeTable(t: FieldTable): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(t)) {
    parts.push(new ArgWriter().shortstr(k).build(), encodeFieldValue(v));
  }
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Reads fields off a payload in order. Bits are unpacked from shared octets like the writer. */
export class ArgReader {
  offset = 0;
  private bitOctet = 0;
  private bitCount = 8; // 8 = no bits pending

  constructor(readonly buf: Buffer) {}

  private take(n: number): Buffer {
    this.bitCount = 8;
    if (this.offset + n > this.buf.length) {
      throw new RangeError(`payload too short: need ${n} octets at ${this.offset}, have ${this.buf.length - this.offset}`);
    }
    const b = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  octet(): number {
    return this.take(1).readUInt8(0);
  }

  short(): number {
    return this.take(2).readUInt16BE(0);
  }

  long(): number {
    return this.take(4).readUInt32BE(0);
  }

  longlong(): bigint {
    return this.take(8).readBigUInt64BE(0);
  }

  shortstr(): string {
    const n = this.octet();
    return this.take(n).toString("utf8");
  }

  /** A shortstr's bytes, undecoded (names need not be UTF-8). */
  shortstrBytes(): Buffer {
    const n = this.octet();
    return Buffer.from(this.take(n));
  }

  longstrBytes(): Buffer {
    const n = this.long();
    return Buffer.from(this.take(n));
  }

  longstr(): string {
    return this.longstrBytes().toString("utf8");
  }

  bit(): boolean {
    if (this.bitCount === 8) {
      this.bitOctet = this.take(1).readUInt8(0);
      this.bitCount = 0;
    }
    const v = (this.bitOctet & (1 << this.bitCount)) !== 0;
    this.bitCount++;
    return v;
  }

  table(): FieldTable {
    const n = this.long();
    const inner = new ArgReader(this.take(n));
    const out: FieldTable = {};
    while (inner.remaining > 0) {
      const key = inner.shortstr();
      out[key] = inner.fieldValue();
    }
    return out;
  }

  fieldValue(): FieldValue {
    const type = String.fromCharCode(this.octet());
    switch (type) {
      case "t":
        return this.octet() !== 0;
      case "b":
        return this.take(1).readInt8(0);
      case "B":
        return this.take(1).readUInt8(0);
      case "s":
        return this.take(2).readInt16BE(0);
      case "u":
        return this.take(2).readUInt16BE(0);
      case "I":
        return this.take(4).readInt32BE(0);
      case "i":
        return this.take(4).readUInt32BE(0);
      case "l":
        return this.take(8).readBigInt64BE(0);
      case "f":
        return this.take(4).readFloatBE(0);
      case "d":
        return this.take(8).readDoubleBE(0);
      case "D": {
        const scale = this.octet();
        const value = this.take(4).readInt32BE(0);
        return value / 10 ** scale;
      }
      case "S":
        return this.longstr();
      case "x":
        return this.longstrBytes();
      case "T":
        return new Date(Number(this.longlong()) * 1000);
      case "F":
        return this.table();
      case "V":
        return null;
      case "A": {
        const n = this.long();
        const inner = new ArgReader(this.take(n));
        const items: FieldValue[] = [];
        while (inner.remaining > 0) items.push(inner.fieldValue());
        return items;
      }
      default:
        throw new Error(`unknown field value type ${JSON.stringify(type)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

export interface MethodFrame extends Frame {
  classId: number;
  methodId: number;
  /** Reader positioned at the first argument. */
  args: ArgReader;
}

/** Encodes one frame. frameEnd can be overridden to send a broken frame; size likewise. */
export function encodeFrame(type: number, channel: number, payload: Buffer, opts: { frameEnd?: number; size?: number } = {}): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(opts.size ?? payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([opts.frameEnd ?? FRAME_END])]);
}

export function methodPayload(classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(classId, 0);
  head.writeUInt16BE(methodId, 2);
  return Buffer.concat([head, args]);
}

/** Basic content properties (class 60) that the tests need; flags follow the spec order. */
export interface BasicProperties {
  contentType?: string;
  headers?: FieldTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  messageId?: string;
}

export function headerPayload(classId: number, bodySize: number | bigint, props: BasicProperties = {}): Buffer {
  let flags = 0;
  const w = new ArgWriter();
  // bit 15 = first property (content-type), bit 14 = content-encoding, ... (spec 4.2.6.1)
  if (props.contentType !== undefined) {
    flags |= 1 << 15;
    w.shortstr(props.contentType);
  }
  if (props.headers !== undefined) {
    flags |= 1 << 13;
    w.table(props.headers);
  }
  if (props.deliveryMode !== undefined) {
    flags |= 1 << 12;
    w.octet(props.deliveryMode);
  }
  if (props.priority !== undefined) {
    flags |= 1 << 11;
    w.octet(props.priority);
  }
  if (props.correlationId !== undefined) {
    flags |= 1 << 10;
    w.shortstr(props.correlationId);
  }
  if (props.replyTo !== undefined) {
    flags |= 1 << 9;
    w.shortstr(props.replyTo);
  }
  if (props.messageId !== undefined) {
    flags |= 1 << 7;
    w.shortstr(props.messageId);
  }
  return Buffer.concat([new ArgWriter().short(classId).short(0).longlong(bodySize).short(flags).build(), w.build()]);
}

/** Parsed content header frame payload (properties are left undecoded except the flags). */
export interface ContentHeader {
  classId: number;
  bodySize: bigint;
  propertyFlags: number;
  properties: Buffer;
}

export function parseContentHeader(payload: Buffer): ContentHeader {
  const r = new ArgReader(payload);
  const classId = r.short();
  r.short(); // weight
  const bodySize = r.longlong();
  const propertyFlags = r.short();
  return { classId, bodySize, propertyFlags, properties: payload.subarray(r.offset) };
}

// ---------------------------------------------------------------------------------------------
// Parsed methods the tests look at
// ---------------------------------------------------------------------------------------------

export interface CloseInfo {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** connection.close and channel.close share their argument layout. */
export function parseClose(f: MethodFrame): CloseInfo {
  const r = new ArgReader(f.payload.subarray(4));
  return { replyCode: r.short(), replyText: r.shortstr(), classId: r.short(), methodId: r.short() };
}

export interface ConnectionStart {
  versionMajor: number;
  versionMinor: number;
  serverProperties: FieldTable;
  mechanisms: string;
  locales: string;
}

export function parseConnectionStart(f: MethodFrame): ConnectionStart {
  const r = new ArgReader(f.payload.subarray(4));
  return {
    versionMajor: r.octet(),
    versionMinor: r.octet(),
    serverProperties: r.table(),
    mechanisms: r.longstr(),
    locales: r.longstr(),
  };
}

export interface Tune {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

export function parseTune(f: MethodFrame): Tune {
  const r = new ArgReader(f.payload.subarray(4));
  return { channelMax: r.short(), frameMax: r.long(), heartbeat: r.short() };
}

export function describeFrame(f: Frame): string {
  if (f.type === FRAME_METHOD && f.payload.length >= 4) {
    const c = f.payload.readUInt16BE(0);
    const m = f.payload.readUInt16BE(2);
    let extra = "";
    if ((c === 10 && m === 50) || (c === 20 && m === 40)) {
      try {
        extra = " " + JSON.stringify(parseClose({ ...f, classId: c, methodId: m, args: new ArgReader(f.payload.subarray(4)) }));
      } catch {
        /* keep it short */
      }
    }
    return `method ${c}.${m} on channel ${f.channel}${extra}`;
  }
  return `frame type ${f.type} on channel ${f.channel} (${f.payload.length} octets)`;
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export class SocketClosedError extends Error {
  constructor(what: string) {
    super(`socket closed while waiting for ${what}`);
    this.name = "SocketClosedError";
  }
}

export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`timed out after ${ms} ms waiting for ${what}`);
    this.name = "TimeoutError";
  }
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  mechanism?: "PLAIN" | "AMQPLAIN";
  vhost?: string;
  /** Client capabilities announced in start-ok; authentication_failure_close defaults to true. */
  capabilities?: FieldTable;
  /** tune-ok values; each defaults to what the server proposed. */
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
}

export interface HandshakeResult {
  start: ConnectionStart;
  tune: Tune;
  /** What the client answered in tune-ok. */
  negotiated: Tune;
}

export const DEFAULT_TIMEOUT = 5_000;

export class RawClient {
  /** Unconsumed received bytes. */
  private buf: Buffer = Buffer.alloc(0);
  private wakeups: Array<() => void> = [];
  /** Every frame read so far, for debugging failed tests. */
  readonly received: Frame[] = [];
  closed = false;
  /** Time (Date.now()) the socket closed. */
  closedAt = 0;
  /** Time the last bytes arrived. */
  lastDataAt = Date.now();
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.lastDataAt = Date.now();
      this.wake();
    });
    // ECONNRESET and friends: the server hung up on us, which tests treat as "closed".
    socket.on("error", () => {});
    this.closedPromise = new Promise((resolve) => {
      socket.once("close", () => {
        this.closed = true;
        this.closedAt = Date.now();
        this.wake();
        resolve();
      });
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new RawClient(s));
      });
    });
  }

  /** A client over a socket that is already connected (a TLS socket, say). */
  static over(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  private wake(): void {
    const ws = this.wakeups;
    this.wakeups = [];
    for (const w of ws) w();
  }

  /** Waits until take() returns something, the socket closes, or the time runs out. */
  private async waitFor<T>(what: string, timeoutMs: number, take: () => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.closed) throw new SocketClosedError(what);
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(what, timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakeups.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  // --- sending ------------------------------------------------------------------------------

  write(bytes: Buffer | Uint8Array | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  sendProtocolHeader(header: Buffer = PROTOCOL_HEADER): void {
    this.write(header);
  }

  sendFrame(type: number, channel: number, payload: Buffer, opts: { frameEnd?: number; size?: number } = {}): void {
    this.write(encodeFrame(type, channel, payload, opts));
  }

  sendMethod(channel: number, method: MethodId, args: Buffer | ArgWriter = Buffer.alloc(0)): void {
    const a = args instanceof ArgWriter ? args.build() : args;
    this.sendFrame(FRAME_METHOD, channel, methodPayload(method[0], method[1], a));
  }

  sendContentHeader(channel: number, bodySize: number | bigint, props: BasicProperties = {}, classId = 60): void {
    this.sendFrame(FRAME_HEADER, channel, headerPayload(classId, bodySize, props));
  }

  sendBody(channel: number, data: Buffer): void {
    this.sendFrame(FRAME_BODY, channel, data);
  }

  sendHeartbeat(): void {
    this.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
  }

  /** basic.publish + header + body split into frames of at most maxBodyFrame octets. */
  publish(
    channel: number,
    exchange: string,
    routingKey: string,
    body: Buffer,
    opts: { maxBodyFrame?: number; props?: BasicProperties; mandatory?: boolean } = {},
  ): void {
    this.sendMethod(
      channel,
      M.basicPublish,
      new ArgWriter()
        .short(0)
        .shortstr(exchange)
        .shortstr(routingKey)
        .bits(opts.mandatory ?? false, false),
    );
    this.sendContentHeader(channel, body.length, opts.props);
    const max = opts.maxBodyFrame ?? 131_072 - 8;
    for (let i = 0; i < body.length; i += max) this.sendBody(channel, body.subarray(i, i + max));
  }

  // --- receiving ----------------------------------------------------------------------------

  /** Reads exactly n raw bytes (for the server's protocol-header answer). */
  readBytes(n: number, timeoutMs = DEFAULT_TIMEOUT): Promise<Buffer> {
    return this.waitFor(`${n} raw bytes`, timeoutMs, () => {
      if (this.buf.length < n) return undefined;
      const b = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      return Buffer.from(b);
    });
  }

  /** Bytes received but not yet consumed. */
  get pendingBytes(): Buffer {
    return this.buf;
  }

  private takeFrame(): Frame | undefined {
    if (this.buf.length < 7) return undefined;
    const size = this.buf.readUInt32BE(3);
    if (this.buf.length < 7 + size + 1) return undefined;
    const end = this.buf[7 + size];
    if (end !== FRAME_END) throw new Error(`server sent frame with bad frame-end 0x${end?.toString(16)}`);
    const f: Frame = {
      type: this.buf.readUInt8(0),
      channel: this.buf.readUInt16BE(1),
      payload: Buffer.from(this.buf.subarray(7, 7 + size)),
    };
    this.buf = this.buf.subarray(8 + size);
    this.received.push(f);
    return f;
  }

  /** Next frame of any type, heartbeats included. */
  nextFrame(timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    return this.waitFor("a frame", timeoutMs, () => this.takeFrame());
  }

  /** Next frame that is not a heartbeat. */
  async nextNonHeartbeat(timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type !== FRAME_HEARTBEAT) return f;
    }
  }

  /** Next method frame (heartbeats skipped; any other frame type is an error). */
  async nextMethod(timeoutMs = DEFAULT_TIMEOUT): Promise<MethodFrame> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f.type !== FRAME_METHOD) throw new Error(`expected a method frame, got ${describeFrame(f)}`);
    return asMethod(f);
  }

  /** Next method, which must be `method` (on `channel` when given). */
  async expectMethod(method: MethodId, opts: { channel?: number; timeoutMs?: number } = {}): Promise<MethodFrame> {
    const f = await this.nextMethod(opts.timeoutMs);
    if (f.classId !== method[0] || f.methodId !== method[1] || (opts.channel !== undefined && f.channel !== opts.channel)) {
      throw new Error(`expected method ${method[0]}.${method[1]}${opts.channel !== undefined ? ` on channel ${opts.channel}` : ""}, got ${describeFrame(f)}`);
    }
    return f;
  }

  /** Expects connection.close from the server, answers close-ok unless told not to, returns its arguments. */
  async expectConnectionClose(opts: { timeoutMs?: number; reply?: boolean } = {}): Promise<CloseInfo> {
    const f = await this.expectMethod(M.connectionClose, { channel: 0, timeoutMs: opts.timeoutMs });
    if (opts.reply ?? true) this.sendMethod(0, M.connectionCloseOk);
    return parseClose(f);
  }

  /** Expects channel.close from the server on `channel`, answers close-ok unless told not to. */
  async expectChannelClose(channel: number, opts: { timeoutMs?: number; reply?: boolean } = {}): Promise<CloseInfo> {
    const f = await this.expectMethod(M.channelClose, { channel, timeoutMs: opts.timeoutMs });
    if (opts.reply ?? true) this.sendMethod(channel, M.channelCloseOk);
    return parseClose(f);
  }

  /** Resolves true when the socket closes within the time, false otherwise. Data received in
   * the meantime is left in the buffer (see pendingBytes / nextFrame). */
  async waitForClose(timeoutMs = DEFAULT_TIMEOUT): Promise<boolean> {
    if (this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const r = await Promise.race([this.closedPromise.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return r;
  }

  /** All complete frames received so far and not consumed (non-blocking). */
  drainFrames(): Frame[] {
    const out: Frame[] = [];
    for (let f = this.takeFrame(); f; f = this.takeFrame()) out.push(f);
    return out;
  }

  destroy(): void {
    this.socket.destroy();
  }

  // --- handshake ----------------------------------------------------------------------------

  /** Sends the protocol header and reads connection.start. */
  async start(): Promise<ConnectionStart> {
    this.sendProtocolHeader();
    return parseConnectionStart(await this.expectMethod(M.connectionStart, { channel: 0 }));
  }

  sendStartOk(opts: HandshakeOptions = {}): void {
    const user = opts.user ?? "guest";
    const password = opts.password ?? "guest";
    const mechanism = opts.mechanism ?? "PLAIN";
    const response =
      mechanism === "PLAIN"
        ? Buffer.from(`\0${user}\0${password}`, "utf8")
        : // AMQPLAIN: a field table without its length prefix, holding LOGIN and PASSWORD.
          encodeTable({ LOGIN: user, PASSWORD: password }).subarray(4);
    this.sendMethod(
      0,
      M.connectionStartOk,
      new ArgWriter()
        .table({
          product: "warren-raw-test-client",
          platform: "Node.js",
          capabilities: opts.capabilities ?? { authentication_failure_close: true },
        })
        .shortstr(mechanism)
        .longstr(response)
        .shortstr("en_US"),
    );
  }

  sendTuneOk(t: Tune): void {
    this.sendMethod(0, M.connectionTuneOk, new ArgWriter().short(t.channelMax).long(t.frameMax).short(t.heartbeat));
  }

  sendConnectionOpen(vhost = "/"): void {
    this.sendMethod(0, M.connectionOpen, new ArgWriter().shortstr(vhost).shortstr("").bit(false));
  }

  /** Full handshake: header, start/start-ok, tune/tune-ok, open/open-ok. */
  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    const start = await this.start();
    this.sendStartOk(opts);
    const tune = parseTune(await this.expectMethod(M.connectionTune, { channel: 0 }));
    const negotiated: Tune = {
      channelMax: opts.channelMax ?? tune.channelMax,
      frameMax: opts.frameMax ?? tune.frameMax,
      heartbeat: opts.heartbeat ?? tune.heartbeat,
    };
    this.sendTuneOk(negotiated);
    this.sendConnectionOpen(opts.vhost);
    await this.expectMethod(M.connectionOpenOk, { channel: 0 });
    return { start, tune, negotiated };
  }

  // --- small conveniences -----------------------------------------------------------------

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, M.channelOpen, new ArgWriter().shortstr(""));
    await this.expectMethod(M.channelOpenOk, { channel });
  }

  async closeChannel(channel: number): Promise<void> {
    this.sendMethod(channel, M.channelClose, new ArgWriter().short(200).shortstr("bye").short(0).short(0));
    await this.expectMethod(M.channelCloseOk, { channel });
  }

  /** queue.declare; returns declare-ok's queue name, message count and consumer count. */
  async declareQueue(
    channel: number,
    queue: string,
    opts: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean; arguments?: FieldTable } = {},
  ): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    this.sendMethod(channel, M.queueDeclare, queueDeclareArgs(queue, opts));
    const f = await this.expectMethod(M.queueDeclareOk, { channel });
    return { queue: f.args.shortstr(), messageCount: f.args.long(), consumerCount: f.args.long() };
  }

  async deleteQueue(channel: number, queue: string): Promise<void> {
    this.sendMethod(channel, M.queueDelete, new ArgWriter().short(0).shortstr(queue).bits(false, false, false));
    await this.expectMethod(M.queueDeleteOk, { channel });
  }

  /** Connection close initiated by the client; waits for close-ok, then hangs up (as clients do: the server waits for that). */
  async closeConnection(): Promise<void> {
    this.sendMethod(0, M.connectionClose, new ArgWriter().short(200).shortstr("bye").short(0).short(0));
    await this.expectMethod(M.connectionCloseOk, { channel: 0 });
    this.socket.end();
  }

  /** Reads a delivered message (basic.deliver / basic.get-ok + header + bodies). */
  async readContent(channel: number, timeoutMs = DEFAULT_TIMEOUT): Promise<{ header: ContentHeader; body: Buffer; bodyFrames: number }> {
    const hf = await this.nextNonHeartbeat(timeoutMs);
    if (hf.type !== FRAME_HEADER || hf.channel !== channel) throw new Error(`expected content header on channel ${channel}, got ${describeFrame(hf)}`);
    const header = parseContentHeader(hf.payload);
    const parts: Buffer[] = [];
    let got = 0;
    while (BigInt(got) < header.bodySize) {
      const bf = await this.nextNonHeartbeat(timeoutMs);
      if (bf.type !== FRAME_BODY || bf.channel !== channel) throw new Error(`expected body frame on channel ${channel}, got ${describeFrame(bf)}`);
      parts.push(bf.payload);
      got += bf.payload.length;
    }
    return { header, body: Buffer.concat(parts), bodyFrames: parts.length };
  }
}

export function asMethod(f: Frame): MethodFrame {
  if (f.payload.length < 4) throw new Error(`method frame too short (${f.payload.length} octets)`);
  return { ...f, classId: f.payload.readUInt16BE(0), methodId: f.payload.readUInt16BE(2), args: new ArgReader(f.payload.subarray(4)) };
}

export function queueDeclareArgs(
  queue: string,
  opts: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean; noWait?: boolean; arguments?: FieldTable } = {},
): ArgWriter {
  return new ArgWriter()
    .short(0)
    .shortstr(queue)
    .bits(opts.passive ?? false, opts.durable ?? false, opts.exclusive ?? false, opts.autoDelete ?? false, opts.noWait ?? false)
    .table(opts.arguments ?? {});
}

/** Connects and completes the handshake. */
export async function openConnection(port: number, host = "127.0.0.1", opts: HandshakeOptions = {}): Promise<{ client: RawClient } & HandshakeResult> {
  const client = await RawClient.connect(port, host);
  const r = await client.handshake(opts);
  return { client, ...r };
}

/** A queue name unlikely to collide with other test runs against a shared broker. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
