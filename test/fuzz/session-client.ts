/**
 * The fuzzing client's socket: it logs in, sends whatever bytes it is given, and reads every
 * frame the broker sends back, checking each one:
 *
 * - frames are well formed (frame-end octet, size within frame_max, known method ids);
 * - reply codes are ones RabbitMQ uses: connection.close only with connection-level codes (or
 *   403 for a refused login), channel.close only with channel-level ones (403, 404, 405, 406),
 *   basic.return only with 312 or 313;
 * - content follows only the methods that carry it, with as many body bytes as its header says.
 *
 * It answers connection.close and channel.close with close-ok, and remembers delivery tags so a
 * session can ack what it was sent.
 */
import { connect, type Socket } from "node:net";
import { ArgReader, ArgWriter, encodeFrame, methodPayload, PROTOCOL_HEADER } from "../helpers/raw-client.js";

/** Codes a broker may put in connection.close (hard errors, and 403 for a refused login). */
export const CONNECTION_CLOSE_CODES = new Set([320, 402, 403, 501, 502, 503, 504, 505, 506, 530, 540, 541]);
/** Codes a broker may put in channel.close (soft errors). */
export const CHANNEL_CLOSE_CODES = new Set([403, 404, 405, 406]);
/** basic.return: NO_ROUTE, NO_CONSUMERS. */
export const RETURN_CODES = new Set([312, 313]);

/** The channel the client keeps for itself: a basic.qos there answers when all before it is done. */
export const SYNC_CHANNEL = 2047;

const KNOWN_SERVER_METHODS = new Set([
  "10.10",
  "10.20",
  "10.30",
  "10.41",
  "10.50",
  "10.51",
  "10.60",
  "10.61",
  "10.71",
  "20.11",
  "20.20",
  "20.21",
  "20.40",
  "20.41",
  "40.11",
  "40.21",
  "40.31",
  "40.51",
  "50.11",
  "50.21",
  "50.31",
  "50.41",
  "50.51",
  "60.11",
  "60.21",
  "60.30",
  "60.31",
  "60.50",
  "60.60",
  "60.71",
  "60.72",
  "60.80",
  "60.111",
  "60.120",
  "85.11",
  "90.11",
  "90.21",
  "90.31",
]);

export type SyncResult = "ok" | "closed" | "timeout";

export class SessionClient {
  private buf: Buffer = Buffer.alloc(0);
  /** Broken promises of the broker: each one fails the case. */
  readonly violations: string[] = [];
  /** Every reply code the broker sent, as "connection.close 505 ...", for the report. */
  readonly replies: string[] = [];
  /** Delivery tags the broker sent, by channel. */
  readonly tags = new Map<number, number[]>();
  /** Channels the broker confirmed open (open-ok) and has not closed since. */
  readonly openChannels = new Set<number>();
  /** The broker sent connection.close or the socket is gone. */
  connectionClosed = false;
  socketClosed = false;
  frameMax = 4096;
  private content = new Map<number, { expectHeader: boolean; remaining: number }>();
  private waiters: Array<() => void> = [];
  private syncsAnswered = 0;
  /** Everything sent, for the reproduction. */
  readonly sent: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.socketClosed = true;
      this.connectionClosed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<SessionClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: "127.0.0.1" });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new SessionClient(s));
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `done()` holds, the socket closes, or the time is up. */
  private async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.socketClosed) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Send bytes; with `split`, in two writes a turn apart, so the broker sees a partial frame. */
  async send(bytes: Buffer, split?: number): Promise<void> {
    if (this.socket.destroyed || bytes.length === 0) return;
    this.sent.push(bytes);
    const parts =
      split !== undefined && bytes.length > 1
        ? [bytes.subarray(0, 1 + (split % (bytes.length - 1))), bytes.subarray(1 + (split % (bytes.length - 1)))]
        : [bytes];
    for (const part of parts) {
      if (this.socket.destroyed) return;
      await new Promise<void>((resolve) => this.socket.write(part, () => resolve()));
      if (parts.length > 1) await new Promise((r) => setImmediate(r));
    }
  }

  method(channel: number, classId: number, methodId: number, args: Buffer | ArgWriter = Buffer.alloc(0)): Buffer {
    return encodeFrame(1, channel, methodPayload(classId, methodId, args instanceof ArgWriter ? args.build() : args));
  }

  private lastMethods: string[] = [];

  /** The usual handshake, guest/guest on "/", then the sync channel. Returns false if refused. */
  async handshake(): Promise<boolean> {
    await this.send(PROTOCOL_HEADER);
    if (!(await this.until(() => this.lastMethods.includes("10.10"), 2000))) return false;
    const response = Buffer.from("\u0000guest\u0000guest");
    const caps = { authentication_failure_close: true, consumer_cancel_notify: true, "connection.blocked": true, publisher_confirms: true };
    await this.send(
      this.method(0, 10, 11, new ArgWriter().table({ product: "warren-fuzz", capabilities: caps }).shortstr("PLAIN").longstr(response).shortstr("en_US")),
    );
    if (!(await this.until(() => this.lastMethods.includes("10.30"), 2000))) return false;
    await this.send(this.method(0, 10, 31, new ArgWriter().short(SYNC_CHANNEL).long(this.frameMax).short(0)));
    await this.send(this.method(0, 10, 40, new ArgWriter().shortstr("/").shortstr("").bit(false)));
    if (!(await this.until(() => this.lastMethods.includes("10.41"), 2000))) return false;
    await this.send(this.method(SYNC_CHANNEL, 20, 10, new ArgWriter().shortstr("")));
    return this.until(() => this.lastMethods.includes("20.11"), 2000);
  }

  /** A round trip on the sync channel: everything sent before it has been handled. */
  async sync(timeoutMs: number): Promise<SyncResult> {
    if (this.connectionClosed) return "closed";
    const target = this.syncsAnswered + 1;
    await this.send(this.method(SYNC_CHANNEL, 60, 10, new ArgWriter().long(0).short(0).bit(false)));
    const ok = await this.until(() => this.syncsAnswered >= target || this.connectionClosed, timeoutMs);
    if (this.connectionClosed) return "closed";
    return ok ? "ok" : "timeout";
  }

  /** connection.close, then wait (bounded) for close-ok or the socket closing; then hang up. */
  async finish(timeoutMs: number): Promise<void> {
    if (!this.connectionClosed) {
      await this.send(this.method(0, 10, 50, new ArgWriter().short(200).shortstr("bye").short(0).short(0)));
      await this.until(() => this.connectionClosed, timeoutMs);
    }
    this.socket.destroy();
  }

  private violation(text: string): void {
    this.violations.push(text);
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 7) return;
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < size + 8) return;
      const type = this.buf[0]!;
      const channel = this.buf.readUInt16BE(1);
      const payload = Buffer.from(this.buf.subarray(7, 7 + size));
      if (this.buf[7 + size] !== 0xce) {
        this.violation(`frame-end octet ${this.buf[7 + size]} from the broker`);
        this.buf = Buffer.alloc(0);
        this.socket.destroy();
        return;
      }
      this.buf = this.buf.subarray(8 + size);
      if (size + 8 > Math.max(this.frameMax, 4096)) this.violation(`frame of ${size + 8} bytes over frame_max ${this.frameMax}`);
      try {
        this.onFrame(type, channel, payload);
      } catch (err) {
        this.violation(`malformed frame type ${type} on channel ${channel}: ${(err as Error).message}; payload ${payload.toString("hex")}`);
      }
    }
  }

  private onFrame(type: number, channel: number, payload: Buffer): void {
    const state = this.content.get(channel);
    if (type === 8) {
      if (channel !== 0 || payload.length !== 0) this.violation(`malformed heartbeat on channel ${channel}`);
      return;
    }
    if (type === 2) {
      if (!state?.expectHeader) return this.violation(`content header on channel ${channel} without a method that carries content`);
      const r = new ArgReader(payload);
      r.short();
      r.short();
      const size = Number(r.longlong());
      this.content.set(channel, { expectHeader: false, remaining: size });
      if (size === 0) this.content.delete(channel);
      return;
    }
    if (type === 3) {
      if (state === undefined || state.expectHeader) return this.violation(`content body on channel ${channel} out of place`);
      state.remaining -= payload.length;
      if (state.remaining < 0) this.violation(`content body on channel ${channel} longer than its header said`);
      if (state.remaining <= 0) this.content.delete(channel);
      return;
    }
    if (type !== 1) return this.violation(`frame type ${type} from the broker`);
    if (state !== undefined) this.violation(`method on channel ${channel} before its content was complete`);
    const classId = payload.readUInt16BE(0);
    const methodId = payload.readUInt16BE(2);
    const key = `${classId}.${methodId}`;
    this.lastMethods.push(key);
    if (this.lastMethods.length > 8) this.lastMethods.shift();
    if (!KNOWN_SERVER_METHODS.has(key)) this.violation(`method ${key} is not one a broker sends`);
    const r = new ArgReader(payload.subarray(4));
    switch (key) {
      case "10.30": {
        r.short();
        const frameMax = r.long();
        this.frameMax = frameMax === 0 ? 131072 : frameMax;
        return;
      }
      case "10.50": {
        const code = r.short();
        const text = r.shortstr();
        this.replies.push(`connection.close ${code} ${text}`);
        if (channel !== 0) this.violation(`connection.close on channel ${channel}`);
        if (!CONNECTION_CLOSE_CODES.has(code)) this.violation(`connection.close with reply code ${code} (${text})`);
        if (code === 541) this.violation(`internal error: ${text}`);
        this.connectionClosed = true;
        if (!this.socket.destroyed) this.socket.write(this.method(0, 10, 51));
        return;
      }
      case "20.40": {
        const code = r.short();
        const text = r.shortstr();
        this.replies.push(`channel.close ${code} ${text} (channel ${channel})`);
        if (!CHANNEL_CLOSE_CODES.has(code)) this.violation(`channel.close with reply code ${code} (${text})`);
        this.content.delete(channel);
        this.openChannels.delete(channel);
        if (!this.socket.destroyed) this.socket.write(this.method(channel, 20, 41));
        return;
      }
      case "60.50": {
        const code = r.short();
        if (!RETURN_CODES.has(code)) this.violation(`basic.return with reply code ${code}`);
        this.content.set(channel, { expectHeader: true, remaining: 0 });
        return;
      }
      case "60.60": {
        r.shortstr();
        this.tag(channel, Number(r.longlong()));
        this.content.set(channel, { expectHeader: true, remaining: 0 });
        return;
      }
      case "60.71": {
        this.tag(channel, Number(r.longlong()));
        this.content.set(channel, { expectHeader: true, remaining: 0 });
        return;
      }
      case "20.11":
        this.openChannels.add(channel);
        return;
      case "20.41":
        this.openChannels.delete(channel);
        return;
      case "10.51":
        this.connectionClosed = true;
        return;
      case "60.11":
        if (channel === SYNC_CHANNEL) this.syncsAnswered++;
        return;
    }
  }

  private tag(channel: number, tag: number): void {
    const list = this.tags.get(channel) ?? [];
    list.push(tag);
    if (list.length > 64) list.shift();
    this.tags.set(channel, list);
  }
}
