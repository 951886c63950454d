/**
 * A minimal AMQP 0-9-1 client made for load generation: the few control methods a benchmark
 * needs, sent with the project's generated encoders and awaited one reply at a time per channel,
 * and a hot path that hands basic.deliver, content frames and publisher confirms to callbacks as
 * raw positions in the received chunk, with no per-message object, Promise or copy.
 *
 * It logs in with PLAIN, turns heartbeats off (tune-ok heartbeat 0: a benchmark's connections are
 * busy or short-lived) and accepts the server's frame_max.
 */
import { connect as tcpConnect, type Socket } from "node:net";
import { AmqpReader } from "../amqp/field-reader.js";
import { FrameReader } from "../amqp/frame-reader.js";
import type { AmqpWriter } from "../amqp/field-writer.js";
import {
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_TUNE,
  decodeMethod,
  encodeChannelCloseOk,
  encodeChannelOpen,
  encodeConnectionClose,
  encodeConnectionCloseOk,
  encodeConnectionOpen,
  encodeConnectionStartOk,
  encodeConnectionTuneOk,
  type AnyMethod,
  type ConnectionStart,
  type ConnectionTune,
} from "../amqp/generated.js";
import { BASIC_ACK, BASIC_DELIVER, BASIC_NACK, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, methodFrame, readU64 } from "./wire.js";

const CONNECTION_BLOCKED = 0x0a003c;
const CONNECTION_UNBLOCKED = 0x0a003d;

/** The hot-path callbacks. Positions are into `buf`, valid only during the call. */
export interface Handlers {
  /** basic.deliver: the method payload is buf[start, end). */
  deliver?(channel: number, buf: Buffer, start: number, end: number): void;
  /** A content header: the body size. */
  header?(channel: number, bodySize: number): void;
  /** A body frame: buf[start, end). */
  body?(channel: number, buf: Buffer, start: number, end: number): void;
  /** basic.ack from the broker (publisher confirm). */
  ack?(channel: number, tag: number, multiple: boolean): void;
  nack?(channel: number, tag: number, multiple: boolean): void;
  /** After every received chunk has been cut into frames: the place to flush batched acks. */
  chunkEnd?(): void;
  blocked?(reason: string): void;
  unblocked?(): void;
}

interface Waiter {
  ids: readonly number[];
  resolve(m: AnyMethod): void;
  reject(err: Error): void;
}

export interface ServerInfo {
  product: string;
  version: string;
  /** RabbitMQ: "Erlang/OTP 25.2.3"; Warren: "Node.js v20...". */
  platform: string;
}

export class PerfConnection {
  handlers: Handlers = {};
  frameMax = 131072;
  server: ServerInfo = { product: "", version: "", platform: "" };
  /** Set once the connection has failed or been closed; every later call rejects with it. */
  error: Error | undefined;
  private readonly waiters = new Map<number, Waiter[]>();
  private readonly reader = new AmqpReader();
  /** Warren's own frame cutter (frames straight from each chunk; only a frame spanning chunks is copied). */
  private readonly frames: FrameReader;
  private closing = false;
  private onFatal: ((err: Error) => void) | undefined;

  private constructor(readonly socket: Socket) {
    this.frames = new FrameReader(
      {
        onProtocolHeader: () => {},
        onFrame: (type, channel, buf, start, end) => this.frame(type, channel, buf, start, end),
        onFrameError: (err) => {
          this.fail(new Error(`bad frame from the broker: ${err.message}`));
          socket.destroy();
        },
      },
      this.frameMax,
    );
    // It reads a client's stream, which begins with the protocol header; a server's does not.
    this.frames.push(Buffer.from("AMQP\x00\x00\x09\x01", "latin1"));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.fail(new Error(`socket: ${err.message}`)));
    socket.on("close", () => this.fail(new Error("connection closed by the broker")));
  }

  /** Connect, log in and open the vhost named in the URI (amqp://user:pass@host:port/vhost). */
  static async open(uri: string, connectionName = "warren-perf"): Promise<PerfConnection> {
    const u = new URL(uri);
    if (u.protocol !== "amqp:") throw new Error(`only amqp:// URIs are supported, not ${u.protocol}`);
    const socket = tcpConnect({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 5672) });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const c = new PerfConnection(socket);
    const start = (await c.exchange(0, Buffer.from("AMQP\x00\x00\x09\x01", "latin1"), [CONNECTION_START])) as ConnectionStart;
    const props = start.serverProperties;
    const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v ?? ""));
    c.server = { product: text(props.product), version: text(props.version), platform: text(props.platform) };
    const user = decodeURIComponent(u.username || "guest");
    const pass = decodeURIComponent(u.password || "guest");
    const tune = (await c.call(
      0,
      encodeConnectionStartOk,
      {
        clientProperties: { product: "warren-perf", connection_name: connectionName, capabilities: { "connection.blocked": true, publisher_confirms: true } },
        mechanism: "PLAIN",
        response: Buffer.from(`\0${user}\0${pass}`),
        locale: "en_US",
      },
      [CONNECTION_TUNE],
    )) as ConnectionTune;
    c.frameMax = tune.frameMax === 0 ? 131072 : tune.frameMax;
    c.frames.frameMax = c.frameMax;
    c.send(0, encodeConnectionTuneOk, { channelMax: tune.channelMax, frameMax: c.frameMax, heartbeat: 0 });
    const vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : "/";
    await c.call(0, encodeConnectionOpen, { virtualHost: vhost }, [CONNECTION_OPEN_OK]);
    return c;
  }

  /** Called once if the connection fails (not when close() closes it). */
  onError(callback: (err: Error) => void): void {
    this.onFatal = callback;
    if (this.error && !this.closing) callback(this.error);
  }

  openChannel(channel: number): Promise<AnyMethod> {
    return this.call(channel, encodeChannelOpen, {}, [CHANNEL_OPEN_OK]);
  }

  /** Send a method and wait for one of the reply ids on the same channel (replies come in order). */
  call<A>(channel: number, encode: (w: AmqpWriter, args: A) => void, args: A, replyIds: readonly number[]): Promise<AnyMethod> {
    return this.exchange(channel, methodFrame(channel, encode, args), replyIds);
  }

  /** Send a method that has no reply. */
  send<A>(channel: number, encode: (w: AmqpWriter, args: A) => void, args: A): void {
    if (!this.error) this.socket.write(methodFrame(channel, encode, args));
  }

  private exchange(channel: number, bytes: Buffer, replyIds: readonly number[]): Promise<AnyMethod> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      let queue = this.waiters.get(channel);
      if (!queue) this.waiters.set(channel, (queue = []));
      queue.push({ ids: replyIds, resolve, reject });
      this.socket.write(bytes);
    });
  }

  /**
   * connection.close, wait for close-ok (at most `timeoutMs`), then drop the socket. The broker
   * answers only after every frame sent before, so a producer that waits for it knows all its
   * messages were taken in, even those still in the socket buffers when it stopped writing.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.error) {
      this.socket.destroy();
      return;
    }
    const ok = this.call(0, encodeConnectionClose, { replyCode: 200, replyText: "bye", classId: 0, methodId: 0 }, [CONNECTION_CLOSE_OK]);
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ok.catch(() => {}), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.fail(new Error("connection closed"));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    for (const queue of this.waiters.values()) for (const w of queue) w.reject(err);
    this.waiters.clear();
    if (!this.closing) this.onFatal?.(err);
  }

  private onData(chunk: Buffer): void {
    this.frames.push(chunk);
    this.handlers.chunkEnd?.();
  }

  /** One whole frame, cut from the byte stream by the FrameReader: its payload is buf[start, end). */
  private frame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    const h = this.handlers;
    if (type === FRAME_METHOD) {
      const id = buf.readUInt32BE(start);
      if (id === BASIC_DELIVER) h.deliver?.(channel, buf, start, end);
      else if (id === BASIC_ACK) h.ack?.(channel, readU64(buf, start + 4), (buf[start + 12]! & 1) !== 0);
      else if (id === BASIC_NACK) h.nack?.(channel, readU64(buf, start + 4), (buf[start + 12]! & 1) !== 0);
      else this.control(channel, id, buf, start, end);
    } else if (type === FRAME_HEADER) {
      h.header?.(channel, readU64(buf, start + 4));
    } else if (type === FRAME_BODY) {
      h.body?.(channel, buf, start, end);
    }
    // Heartbeats: none are negotiated; one arriving anyway needs no answer.
  }

  private control(channel: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === CONNECTION_BLOCKED) {
      this.handlers.blocked?.(buf.toString("utf8", start + 5, start + 5 + buf[start + 4]!));
      return;
    }
    if (id === CONNECTION_UNBLOCKED) {
      this.handlers.unblocked?.();
      return;
    }
    let m: AnyMethod | undefined;
    try {
      m = decodeMethod(this.reader.reset(buf, start + 4, end), id);
    } catch (err) {
      this.fail(new Error(`cannot decode method ${id.toString(16)}: ${(err as Error).message}`));
      return;
    }
    if (m === undefined) return;
    if (m.id === CONNECTION_CLOSE || m.id === CHANNEL_CLOSE) {
      const what = m.id === CONNECTION_CLOSE ? "connection" : `channel ${channel}`;
      const err = new Error(`broker closed the ${what}: ${m.replyCode} ${m.replyText}`);
      if (m.id === CONNECTION_CLOSE) {
        this.socket.write(methodFrame(0, encodeConnectionCloseOk, {}));
        this.fail(err);
      } else {
        this.socket.write(methodFrame(channel, encodeChannelCloseOk, {}));
        const queue = this.waiters.get(channel) ?? [];
        this.waiters.delete(channel);
        for (const w of queue) w.reject(err);
        if (queue.length === 0) this.fail(err);
      }
      return;
    }
    if (m.id === CHANNEL_CLOSE_OK && this.waiters.get(channel)?.[0]?.ids.includes(CHANNEL_CLOSE_OK) !== true) return;
    const queue = this.waiters.get(channel);
    const w = queue?.[0];
    if (!w || !w.ids.includes(m.id)) {
      this.fail(new Error(`unexpected method ${id.toString(16)} on channel ${channel}`));
      return;
    }
    queue!.shift();
    w.resolve(m);
  }
}
