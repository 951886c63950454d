import type { Socket } from "node:net";
import { AmqpError, fail } from "../amqp/errors.js";
import { refuse } from "../amqp/refusals.js";
import type { FieldTable } from "../amqp/field-types.js";
import { FrameReader, type FrameSink } from "../amqp/frame-reader.js";
import { FrameWriter } from "../amqp/frame-writer.js";
import * as amqp from "../amqp/generated.js";
import { AmqpReader } from "../amqp/field-reader.js";
import { describeFrame, erlangBinary } from "../amqp/frame-text.js";
import type { User } from "../access/user-store.js";
import type { Queue } from "../broker/queue.js";
import type { VHost } from "../broker/vhost.js";
import { Channel } from "./channel.js";
import type { ServerContext } from "./context.js";
import { offeredMechanisms, saslLogin } from "./sasl.js";
import { PublishDecoder } from "../amqp/publish-decoder.js";
import { ReadGate } from "./read-gate.js";
import { ReadBudget } from "./read-budget.js";
import type { FlowTarget } from "./flow-control.js";
import type { ChannelHost, DrainWaiter } from "./channel-host.js";

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]); // "AMQP" 0-9-1
/** The AMQP 0-9 header, which RabbitMQ also accepts and serves as 0-9-1. */
const PROTOCOL_HEADER_0_9 = Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);
/** How long we wait for connection.close-ok after sending connection.close. */
const CLOSE_OK_TIMEOUT = 3_000;
/**
 * After close-ok the client closes the socket (spec: close-ok tells it that it may); we wait at
 * most this long, or the heartbeat timeout when shorter, as RabbitMQ does (its CLOSING_TIMEOUT).
 */
const CLIENT_HANG_UP_TIMEOUT_SEC = 30;
/**
 * Until tune-ok, frames may carry at most this many bytes (RabbitMQ's ?FRAME_MIN_SIZE): a peer
 * that has not logged in cannot make us buffer more than that.
 */
const HANDSHAKE_FRAME_MAX = amqp.FRAME_MIN_SIZE;
/**
 * Output waiting for a client above which the client is not read until it takes its output down
 * to OUTPUT_LOW_WATER: a client that does not read cannot make us buffer much more than this plus
 * the answer to one request. (Consumer deliveries stop earlier, at the channel's own mark.)
 */
const OUTPUT_HIGH_WATER = 4 * 1024 * 1024;
const OUTPUT_LOW_WATER = 1024 * 1024;

type State = "header" | "start" | "secure" | "tune" | "open" | "running" | "closing" | "closed";

/**
 * One AMQP connection: the handshake (start, tune, open), heartbeats, the channel table, and
 * connection exceptions. Frames for channels other than 0 are passed to their Channel.
 */
export class Connection implements FrameSink, FlowTarget, ChannelHost {
  readonly reader: FrameReader;
  readonly writer: FrameWriter;
  /** Decodes method arguments; one per connection, reused for every frame. */
  readonly methodReader = new AmqpReader();
  /** basic.publish, the most frequent method, has a decoder of its own. */
  private readonly publishDecoder = new PublishDecoder();
  private state: State = "header";
  private readonly channels = new Map<number, Channel>();
  user: User | undefined;
  vhost: VHost | undefined;
  channelMax: number;
  frameMax: number;
  heartbeat = 0;
  clientProperties: FieldTable = {};
  /** The SASL mechanism the client logged in with (PLAIN, AMQPLAIN, EXTERNAL). */
  authMechanism = "";
  /** The mechanisms offered to this client (EXTERNAL only over TLS). */
  private readonly mechanisms: string[];
  /** Capabilities the client announced in connection.start-ok. */
  readonly capabilities = { consumerCancelNotify: false, authenticationFailureClose: false, connectionBlocked: false };
  /** Exclusive queues this connection declared: deleted when it closes. */
  private readonly exclusiveQueues = new Set<Queue>();
  readonly name: string;
  readonly connectedAt = Date.now();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private receivedSinceTick = true;
  /** Counted in connectionLimits (from open-ok until the socket closes). */
  private countedOpen = false;
  private missedTicks = 0;
  /** Channels whose consumers wait for the socket to drain. */
  private readonly waitingForDrain = new Set<DrainWaiter>();
  private resumeScheduled = false;
  /** Whether the socket is read: closed by a resource alarm, or by output the client does not take. */
  readonly gate: ReadGate;
  /** Bytes read per event-loop iteration, bounded so that one connection cannot hold the loop. */
  private readonly readBudget: ReadBudget;
  /** Set while the frames of a chunk are handled: acks then leave their queues' dispatch for afterwards. */
  private readingChunk = false;
  /** Queues whose consumers got room from the acks of the chunk being read (dispatchAfterAcks). */
  private readonly dispatchPending = new Set<Queue>();
  private readonly onAlarm = (blocked: boolean) => {
    if (!blocked) this.guarded("unblocking", () => this.unblock());
  };

  constructor(
    readonly socket: Socket,
    readonly ctx: ServerContext,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.channelMax = ctx.options.channelMax;
    this.frameMax = ctx.options.frameMax;
    this.name = `${socket.remoteAddress}:${socket.remotePort} -> ${socket.localAddress}:${socket.localPort}`;
    this.mechanisms = offeredMechanisms(ctx.options.authMechanisms, socket);
    this.reader = new FrameReader(this, HANDSHAKE_FRAME_MAX);
    const persister = ctx.persister;
    this.writer = new FrameWriter(socket, HANDSHAKE_FRAME_MAX, () => this.afterFlush(), persister && (() => persister.write()));
    this.writer.onFailure = (err) => this.failInternally(err, "writing");
    this.writer.highWater = OUTPUT_HIGH_WATER;
    this.writer.onHighWater = () => {
      // Output stops the reader mid-chunk: one chunk of basic.gets could ask for gigabytes.
      this.reader.pause();
      this.gate.close("output");
    };
    // An alarm stops only the socket: the rest of a chunk already read is still handled, so a
    // publisher caught by a sticky alarm (a write error) gets its nacks instead of silence.
    this.gate = new ReadGate({
      pause: () => this.socket.pause(),
      resume: () => {
        // The held bytes are read as a chunk is (acks in batches), also when the gate opens
        // while a chunk is being read.
        const outer = this.readingChunk;
        this.readingChunk = true;
        try {
          this.reader.resume();
        } finally {
          this.readingChunk = outer;
          if (!outer) this.dispatchAfterChunk();
        }
        if (!this.gate.isClosed()) this.socket.resume();
      },
    });
    this.readBudget = new ReadBudget(this.gate);
    socket.setNoDelay(true);
    const memory = ctx.memoryMonitor;
    socket.on("data", (chunk: Buffer) => {
      try {
        memory?.noteInput(chunk.length);
        this.readingChunk = true;
        try {
          this.reader.push(chunk);
        } finally {
          this.readingChunk = false;
          this.dispatchAfterChunk();
        }
        this.readBudget.spend(chunk.length);
      } catch (err) {
        this.failInternally(err, "reading");
      }
    });
    socket.on("drain", () => this.guarded("draining", () => this.onDrain()));
    socket.on("error", (err) => ctx.log.debug({ connection: this.name, err: err.message }, "socket error"));
    socket.on("close", () => this.cleanup());
    this.handshakeTimer = setTimeout(() => {
      ctx.log.warn({ event: "connection.handshake_timeout", connection: this.name }, "closing connection: handshake timeout");
      this.socket.destroy();
    }, ctx.options.handshakeTimeout);
  }

  get log() {
    return this.ctx.log;
  }

  get isRunning(): boolean {
    return this.state === "running";
  }

  get username(): string {
    return this.user?.name ?? "";
  }

  // ---- FrameSink ----

  onProtocolHeader(header: Buffer): void {
    if (!header.equals(PROTOCOL_HEADER) && !header.equals(PROTOCOL_HEADER_0_9)) {
      // Answer with the version we speak, then close: what the spec and RabbitMQ do.
      this.log.info({ connection: this.name, header: header.toString("hex") }, "closing connection: unsupported protocol header");
      this.reader.stop();
      this.writer.rawBytes(PROTOCOL_HEADER);
      this.writer.flush();
      this.socket.end();
      return;
    }
    this.state = "start";
    this.writer.method(0, amqp.encodeConnectionStart, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: this.ctx.serverProperties,
      mechanisms: Buffer.from(this.mechanisms.join(" ")),
      locales: Buffer.from("en_US"),
    });
  }

  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    this.receivedSinceTick = true;
    try {
      switch (type) {
        case amqp.FRAME_METHOD:
          return this.onMethodFrame(channel, buf, start, end);
        case amqp.FRAME_HEADER:
        case amqp.FRAME_BODY:
          return this.onContentFrame(type, channel, buf, start, end);
        case amqp.FRAME_HEARTBEAT:
          if (end > start) throw unknownFrame(type, buf.subarray(start, end));
          if (channel !== 0) throw fail.unexpectedFrame(describeFrame(type, EMPTY));
          return;
        default:
          throw unknownFrame(type, buf.subarray(start, end));
      }
    } catch (err) {
      this.handleError(err, channel);
    }
  }

  onFrameError(error: AmqpError): void {
    this.handleError(error, 0);
  }

  /** Before tune-ok RabbitMQ answers no error with a frame: the peer has not even logged in. */
  private get beforeTuneOk(): boolean {
    return this.state === "header" || this.state === "start" || this.state === "secure" || this.state === "tune";
  }

  // ---- frames ----

  private onMethodFrame(channelId: number, buf: Buffer, start: number, end: number): void {
    if (this.state === "closing" || this.state === "closed") {
      // After connection.close only close and close-ok matter (spec 4.2.2 / RabbitMQ).
      if (channelId === 0 && end - start >= 4) {
        const id = buf.readUInt32BE(start);
        if (id === amqp.CONNECTION_CLOSE_OK) this.socket.destroy();
        else if (id === amqp.CONNECTION_CLOSE) this.writer.method(0, amqp.encodeConnectionCloseOk, {});
      }
      return;
    }
    if (end - start < 4) throw unknownFrame(amqp.FRAME_METHOD, buf.subarray(start, end));
    const id = buf.readUInt32BE(start);
    if (this.state !== "running") return this.onHandshakeMethod(channelId, id, buf, start, end);
    // basic.ack (ids, u64 tag, bits): read in place, the one method that comes per message.
    if (id === amqp.BASIC_ACK && end - start === 13) {
      const tag = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
      if (this.channels.get(channelId)?.onAck(tag, (buf[start + 12]! & 1) !== 0)) return;
    }
    const method = this.decode(id, buf, start, end, channelId);
    if (channelId === 0) {
      if (method.id === amqp.CONNECTION_UPDATE_SECRET) return this.onUpdateSecret(method);
      if (method.id !== amqp.CONNECTION_CLOSE) {
        throw fail.channelError("unexpected method in connection state running").attachMethod(id);
      }
      this.writer.method(0, amqp.encodeConnectionCloseOk, {});
      this.state = "closed";
      this.closeChannels();
      this.writer.flush();
      this.awaitClientHangUp();
      return;
    }
    const channel = this.channels.get(channelId);
    if (method.id === amqp.CHANNEL_OPEN) {
      if (channel !== undefined) throw fail.channelError("second 'channel.open' seen").attachMethod(id);
      if (this.channels.size >= this.channelMax) {
        throw refuse.channelLimit(this.channels.size, this.channelMax);
      }
      this.channels.set(channelId, new Channel(channelId, this));
      this.ctx.broker.counters.channelsOpened++;
      this.writer.method(channelId, amqp.encodeChannelOpenOk, {});
      return;
    }
    if (channel === undefined) throw fail.channelError("expected 'channel.open'").attachMethod(id);
    channel.onMethod(method);
  }

  /**
   * Decode a method's arguments. Unknown ids end the connection without a close (RabbitMQ's
   * connection process crashes on them); arguments that do not parse are 501 naming the method.
   */
  private decode(id: number, buf: Buffer, start: number, end: number, channelId: number): amqp.AnyMethod {
    let method: amqp.AnyMethod | undefined;
    try {
      method =
        id === amqp.BASIC_PUBLISH ? this.publishDecoder.decode(buf, start + 4, end) : amqp.decodeMethod(this.methodReader.reset(buf, start + 4, end), id);
      // Arguments must be used up exactly, as RabbitMQ's decoder matches the whole binary.
      if (method !== undefined && id !== amqp.BASIC_PUBLISH && this.methodReader.pos !== end) throw new Error("trailing bytes");
    } catch {
      if (id === amqp.CONNECTION_CLOSE && channelId === 0) {
        throw new AmqpError({ code: amqp.ReplyCode.INTERNAL_ERROR, text: "INTERNAL_ERROR" });
      }
      const args = buf.subarray(start + 4, end);
      throw fail.frameError(`cannot decode ${erlangBinary(args)}`).attachMethod(id);
    }
    if (method === undefined) throw new DropConnection(`unknown method id ${id >>> 16}/${id & 0xffff}`);
    // Names must be UTF-8 everywhere but in basic.publish, whose routing key RabbitMQ passes on as bytes.
    if (this.methodReader.malformedUtf8 && id !== amqp.BASIC_PUBLISH) {
      throw fail.frameError("Malformed UTF-8 in shortstr");
    }
    return method;
  }

  private onContentFrame(type: number, channelId: number, buf: Buffer, start: number, end: number): void {
    if (this.state === "closing" || this.state === "closed") return;
    if (this.state !== "running") throw new DropConnection("content frame during the handshake");
    // RabbitMQ parses class, weight and body size before it looks at the channel: a shorter
    // header is no frame at all, whatever the channel's state (501, not 505).
    if (type === amqp.FRAME_HEADER && end - start < CONTENT_HEADER_FIXED_OCTETS) {
      throw fail.frameError(`${describeFrame(type, buf.subarray(start, end))}: unknown_frame`);
    }
    if (channelId === 0) throw fail.unexpectedFrame(describeFrame(type, buf.subarray(start, end)));
    const channel = this.channels.get(channelId);
    if (channel === undefined) throw fail.unexpectedFrame("expected method frame, got non method frame instead");
    if (type === amqp.FRAME_HEADER) channel.onContentHeader(buf, start, end);
    else channel.onContentBody(buf, start, end);
  }

  // ---- the handshake ----

  /**
   * Methods before connection.open-ok. Only the next step of the handshake is accepted; anything
   * else, and anything that fails to parse, ends the connection without a close, except after
   * tune-ok, where RabbitMQ answers 505 UNEXPECTED_FRAME.
   */
  private onHandshakeMethod(channelId: number, id: number, buf: Buffer, start: number, end: number): void {
    const expected = this.state === "start" ? amqp.CONNECTION_START_OK : this.state === "tune" ? amqp.CONNECTION_TUNE_OK : amqp.CONNECTION_OPEN;
    if (channelId !== 0 || id !== expected) {
      if (this.state === "open") throw fail.unexpectedFrame(describeFrame(amqp.FRAME_METHOD, buf.subarray(start, end)));
      throw new DropConnection(`unexpected ${amqp.methodName(id)} during the handshake`);
    }
    let method: amqp.AnyMethod | undefined;
    try {
      method = amqp.decodeMethod(this.methodReader.reset(buf, start + 4, end), id);
    } catch {
      throw new DropConnection(`malformed ${amqp.methodName(id)}`);
    }
    switch (method?.id) {
      case amqp.CONNECTION_START_OK:
        return this.onStartOk(method);
      case amqp.CONNECTION_TUNE_OK:
        return this.onTuneOk(method);
      case amqp.CONNECTION_OPEN:
        try {
          return this.onOpen(method);
        } catch (err) {
          throw err instanceof AmqpError ? err.attachMethod(id) : err;
        }
    }
  }

  private onStartOk(m: amqp.ConnectionStartOk): void {
    this.clientProperties = m.clientProperties;
    const caps = m.clientProperties.capabilities;
    if (caps !== null && typeof caps === "object" && !Array.isArray(caps) && !Buffer.isBuffer(caps) && !(caps instanceof Date)) {
      const c = caps as FieldTable;
      this.capabilities.consumerCancelNotify = c.consumer_cancel_notify === true;
      this.capabilities.authenticationFailureClose = c.authentication_failure_close === true;
      this.capabilities.connectionBlocked = c["connection.blocked"] === true;
    }
    // An unknown mechanism or a response that does not parse: RabbitMQ closes without a word.
    if (!this.mechanisms.includes(m.mechanism)) throw new DropConnection(`unknown authentication mechanism '${m.mechanism}'`);
    const login = saslLogin(m.mechanism, m.response, { users: this.ctx.broker.users, socket: this.socket, options: this.ctx.options });
    if ("malformed" in login) throw new DropConnection(`${m.mechanism} response invalid`);
    if ("refused" in login) return this.refuseLogin(m.mechanism, login.username, login.refused);
    const user = login.user;
    if (this.ctx.options.loopbackUsers.includes(user.name) && !isLoopback(this.socket.remoteAddress)) {
      return this.refuseLogin(m.mechanism, user.name, "user can only log in via localhost");
    }
    this.ctx.broker.counters.loginsSucceeded++;
    this.user = user;
    this.authMechanism = m.mechanism;
    this.state = "tune";
    this.writer.method(0, amqp.encodeConnectionTune, {
      channelMax: this.ctx.options.channelMax,
      frameMax: this.ctx.options.frameMax,
      heartbeat: this.ctx.options.heartbeat,
    });
  }

  private refuseLogin(mechanism: string, username: string, reason: string): void {
    this.log.warn({ event: "connection.auth_failed", connection: this.name, user: username, reason }, "login refused");
    this.ctx.broker.counters.loginsFailed++;
    if (this.capabilities.authenticationFailureClose) {
      this.closeWithError(
        new AmqpError({
          code: amqp.ReplyCode.ACCESS_REFUSED,
          text: `ACCESS_REFUSED - Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
          connection: true,
        }),
      );
    } else {
      // Clients that do not announce authentication_failure_close expect the socket to just close.
      this.reader.stop();
      this.state = "closed";
      this.socket.destroy();
    }
  }

  private onTuneOk(m: amqp.ConnectionTuneOk): void {
    // The client may lower our limits, never raise them (0 means "no limit": a raise too).
    const { channelMax, frameMax } = this.ctx.options;
    if (m.frameMax < amqp.FRAME_MIN_SIZE && m.frameMax !== 0) {
      throw new DropConnection(`negotiated frame_max = ${m.frameMax} is lower than the minimum allowed value (${amqp.FRAME_MIN_SIZE})`);
    }
    if (m.frameMax === 0 || m.frameMax > frameMax) {
      throw new DropConnection(`negotiated frame_max = ${m.frameMax} is higher than the maximum allowed value (${frameMax})`);
    }
    if (m.channelMax === 0 || m.channelMax > channelMax) {
      throw new DropConnection(`negotiated channel_max = ${m.channelMax} is higher than the maximum allowed value (${channelMax})`);
    }
    this.channelMax = m.channelMax;
    this.frameMax = m.frameMax;
    this.heartbeat = m.heartbeat;
    this.reader.frameMax = this.frameMax;
    this.writer.frameMax = this.frameMax;
    this.state = "open";
  }

  private onOpen(m: amqp.ConnectionOpen): void {
    const vhost = this.ctx.broker.vhosts.get(m.virtualHost);
    if (vhost === undefined) throw fail.notAllowed(`vhost ${m.virtualHost} not found`);
    this.ctx.connectionLimits.checkOpen(vhost, this.username);
    if (this.ctx.broker.permissions.get(this.username, vhost.name) === undefined) {
      throw refuse.vhostAccess(vhost.name, this.username);
    }
    this.vhost = vhost;
    this.state = "running";
    this.ctx.connectionLimits.opened(vhost.name);
    this.countedOpen = true;
    this.ctx.broker.counters.connectionsOpened++;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined; // the cleared timer and its closure would stay for the connection's life
    this.ctx.broker.alarms.subscribe(this.onAlarm);
    this.startHeartbeats();
    this.writer.method(0, amqp.encodeConnectionOpenOk, {});
    this.log.info(
      { event: "connection.opened", connection: this.name, user: this.username, vhost: vhost.name, client: clientName(this.clientProperties) },
      "connection opened",
    );
  }

  /**
   * connection.update-secret (a client refreshing an expiring token). RabbitMQ hands the secret to
   * each authorisation backend whose credentials can expire (OAuth 2) and refuses with 530 only
   * when one of those does; its internal user database cannot expire, so there the secret is not
   * checked at all: RabbitMQ 3.10 answers update-secret-ok to a wrong password too, and the
   * connection keeps its user and permissions. Warren's users are such a database: the same.
   */
  private onUpdateSecret(m: amqp.ConnectionUpdateSecret): void {
    this.log.info({ event: "connection.secret_updated", connection: this.name, user: this.username, reason: m.reason }, "user updated secret");
    this.writer.method(0, amqp.encodeConnectionUpdateSecretOk, {});
  }

  /**
   * Heartbeats: one tick every half interval. A frame goes out each tick; a peer from which
   * nothing (of any frame type) arrived for four ticks, two intervals, is disconnected.
   */
  private startHeartbeats(): void {
    if (this.heartbeat === 0) return;
    const tick = () => {
      this.writer.heartbeat();
      // A connection we do not read (alarm, backpressure) may be silent: that proves nothing.
      if (this.receivedSinceTick || this.gate.isClosed()) {
        this.missedTicks = 0;
        this.receivedSinceTick = false;
      } else if (++this.missedTicks >= 4) {
        this.log.warn({ event: "connection.heartbeat_timeout", connection: this.name, timeout: this.heartbeat }, "missed heartbeats from client");
        this.socket.destroy();
      }
    };
    this.heartbeatTimer = setInterval(() => this.guarded("heartbeat", tick), (this.heartbeat * 1000) / 2);
    this.heartbeatTimer.unref();
  }

  // ---- errors and closing ----

  /** Route an error thrown while handling a frame: to its channel, or to the connection. */
  private handleError(err: unknown, channelId: number): void {
    if (err instanceof DropConnection || (err instanceof AmqpError && this.beforeTuneOk)) {
      this.log.warn({ event: "connection.dropped", connection: this.name, reason: err.message }, "closing connection without a close frame");
      this.reader.stop();
      this.state = "closed";
      this.writer.flush(); // what was answered before the bad frame (connection.start) still goes out
      this.socket.destroy();
      return;
    }
    if (!(err instanceof AmqpError)) {
      this.log.error({ event: "connection.internal_error", connection: this.name, err }, "internal error while handling a frame");
      this.closeWithError(fail.internalError("internal error"));
      return;
    }
    const channel = channelId !== 0 ? this.channels.get(channelId) : undefined;
    if (!err.connectionLevel && channel !== undefined) {
      channel.closeWithError(err);
      return;
    }
    this.closeWithError(err);
  }

  /** Run a step outside the frame handlers (a timer, a socket event); a throw closes this connection only. */
  private guarded(during: string, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.failInternally(err, during);
    }
  }

  /**
   * The last line of defence: an exception escaped while reading, writing or timing this
   * connection. It is logged and the socket closed at once (the writer may be what failed, so no
   * connection.close is attempted); the process and every other connection carry on.
   */
  private failInternally(err: unknown, during: string): void {
    this.log.error({ event: "connection.internal_error", connection: this.name, user: this.username, during, err }, "internal error: closing connection");
    this.reader.stop();
    this.state = "closed";
    this.writer.close();
    this.socket.destroy();
  }

  /** Send connection.close with the error and wait (bounded) for close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.log.warn({ event: "connection.error", connection: this.name, user: this.username, code: err.code, text: err.message }, "closing connection on error");
    this.startClose(err);
  }

  /** Close the connection from the server side (shutdown, or an operator). */
  forceClose(text: string): void {
    if (this.state === "closed" && !this.socket.destroyed) {
      // Closed by the client already and waiting for it to hang up: nothing is left to say.
      this.socket.destroy();
      return;
    }
    if (this.state === "closing" || this.state === "closed") return;
    if (this.state !== "running") {
      this.socket.destroy();
      return;
    }
    this.startClose(fail.connectionForced(text));
  }

  /**
   * The client closed the connection and has its close-ok: it hangs up, not us. A server that
   * closed the socket itself would race the client's reader, which may see the end of the stream
   * (or a reset, if it sends a second connection.close) before its close call has returned, and
   * report that as an error. The connection frees its vhost's connection slot now; the socket
   * goes when the client closes it, or after the timeout.
   */
  private awaitClientHangUp(): void {
    if (this.countedOpen) this.ctx.connectionLimits.closed(this.vhost!.name);
    this.countedOpen = false;
    const timeoutSec = this.heartbeat > 0 ? Math.min(this.heartbeat, CLIENT_HANG_UP_TIMEOUT_SEC) : CLIENT_HANG_UP_TIMEOUT_SEC;
    this.closeTimer = setTimeout(() => this.socket.destroy(), timeoutSec * 1000);
    this.closeTimer.unref();
  }

  /** Reply texts come only from AmqpError, which cuts them to what a shortstr holds. */
  private startClose(err: AmqpError): void {
    this.state = "closing";
    // A publisher blocked by an alarm or held by flow control must still be read, or its close-ok
    // would never arrive and the close (a broker shutdown too) would wait for the timeout.
    // Methods other than close/close-ok are dropped from here on.
    this.gate.open("alarm");
    this.gate.open("flow");
    this.closeChannels();
    this.writer.method(0, amqp.encodeConnectionClose, { replyCode: err.code, replyText: err.message, classId: err.classId, methodId: err.methodId });
    this.writer.flush();
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_OK_TIMEOUT);
    this.closeTimer.unref();
  }

  /** The open channels (warrenctl list_channels). */
  get openChannels(): IterableIterator<Channel> {
    return this.channels.values();
  }

  blockIfAlarmed(): void {
    if (this.ctx.broker.alarms.blocked) this.blockPublisher();
  }

  /**
   * A channel published while an alarm is set: stop reading this connection (RabbitMQ blocks
   * publishing connections only) and tell the client, if it understands connection.blocked.
   */
  private blockPublisher(): void {
    if (this.gate.isClosed("alarm")) return;
    this.gate.close("alarm");
    const reason = this.ctx.broker.alarms.reason;
    this.log.info({ event: "connection.blocked", connection: this.name, reason }, "publisher blocked by a resource alarm");
    if (this.capabilities.connectionBlocked) this.writer.method(0, amqp.encodeConnectionBlocked, { reason });
  }

  private unblock(): void {
    if (!this.gate.isClosed("alarm") || this.state !== "running") return;
    if (this.capabilities.connectionBlocked) this.writer.method(0, amqp.encodeConnectionUnblocked, {});
    this.gate.open("alarm");
  }

  /** Held by flow control for this many queues (src/server/flow-control.ts). */
  private flowHolds = 0;

  holdForFlow(): void {
    if (this.flowHolds++ === 0) this.gate.close("flow");
  }

  releaseFromFlow(): void {
    if (this.flowHolds === 0) return;
    if (--this.flowHolds === 0 && this.state !== "closed") this.gate.open("flow");
  }

  /** What list_connections shows as state for a running connection: running, flow or blocked. */
  get readState(): "running" | "flow" | "blocked" {
    if (this.gate.isClosed("alarm")) return "blocked";
    return this.gate.isClosed("flow") ? "flow" : "running";
  }

  holdForQueue(queue: Queue): void {
    this.ctx.flow?.hold(this, queue);
  }

  /** Channel finished closing (close-ok exchanged): forget it. */
  removeChannel(id: number): void {
    const channel = this.channels.get(id);
    if (channel === undefined) return;
    this.channels.delete(id);
    this.ctx.broker.counters.channelClosed(channel.stats);
  }

  dispatchAfterAcks(queue: Queue): void {
    if (this.readingChunk) this.dispatchPending.add(queue);
    else queue.dispatch();
  }

  /** The chunk's frames are handled: each queue its acks gave room to dispatches once. */
  private dispatchAfterChunk(): void {
    const pending = this.dispatchPending;
    if (pending.size === 0) return;
    try {
      for (const queue of pending) queue.dispatch();
    } finally {
      pending.clear();
    }
  }

  waitForDrain(waiter: DrainWaiter): void {
    this.waitingForDrain.add(waiter);
  }

  stopWaitingForDrain(waiter: DrainWaiter): void {
    this.waitingForDrain.delete(waiter);
  }

  ownExclusiveQueue(queue: Queue): void {
    this.exclusiveQueues.add(queue);
  }

  disownExclusiveQueue(queue: Queue): void {
    this.exclusiveQueues.delete(queue);
  }

  private closeChannels(): void {
    for (const channel of this.channels.values()) {
      channel.release();
      this.ctx.broker.counters.channelClosed(channel.stats);
    }
    this.channels.clear();
    for (const queue of this.exclusiveQueues) this.vhost?.deleteQueue(queue);
    this.exclusiveQueues.clear();
  }

  /**
   * A write that the kernel takes whole returns true and emits no 'drain' (Node), so consumers
   * that stopped on a full writer are resumed here too, on the next turn, once the socket is clear.
   */
  private afterFlush(): void {
    this.reopenIfDrained();
    if (this.waitingForDrain.size === 0 || this.resumeScheduled || this.socket.writableNeedDrain) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      this.guarded("draining", () => this.onDrain());
    });
  }

  private onDrain(): void {
    this.reopenIfDrained();
    if (this.waitingForDrain.size === 0) return;
    const channels = [...this.waitingForDrain];
    this.waitingForDrain.clear();
    for (const channel of channels) channel.resumeDeliveries();
  }

  /** The client took its output down to the low-water mark: read it again. */
  private reopenIfDrained(): void {
    if (this.gate.isClosed("output") && this.writer.backlog <= OUTPUT_LOW_WATER) this.gate.open("output");
  }

  private cleanup(): void {
    const wasRunning = this.state === "running" || this.state === "closing";
    if (this.countedOpen) this.ctx.connectionLimits.closed(this.vhost!.name);
    this.countedOpen = false;
    this.state = "closed";
    this.reader.stop();
    this.writer.close();
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.closeTimer);
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.ctx.broker.alarms.unsubscribe(this.onAlarm);
    this.ctx.flow?.forget(this);
    this.closeChannels();
    this.ctx.broker.counters.connectionsClosed++;
    if (wasRunning || this.user) {
      this.log.info(
        { event: "connection.closed", connection: this.name, user: this.username, readBudgetExhausted: this.readBudget.exhausted },
        "connection closed",
      );
    }
    this.onClosed(this);
  }
}

/** A protocol violation that RabbitMQ answers by closing the socket without a connection.close. */
class DropConnection extends Error {}

/** 501 for a frame RabbitMQ's parser does not take (an unknown type, a method frame too short for its id). */
function unknownFrame(type: number, payload: Buffer): AmqpError {
  return fail.frameError(`${describeFrame(type, payload)}: unknown_frame`);
}

const EMPTY = Buffer.alloc(0);
/** class-id, weight and body-size: what every content header holds before its properties. */
const CONTENT_HEADER_FIXED_OCTETS = 12;

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function clientName(props: FieldTable): string | undefined {
  const product = props.product;
  return typeof product === "string" ? product : undefined;
}
