/**
 * The two roles of the load: a producer writes pre-encoded publish frames as fast as the socket
 * (or a rate, or its confirm window) lets it, stamping the send time into each body; a consumer
 * counts deliveries, acks them in one write per received chunk, and records each message's
 * end-to-end latency. Each has its own connection with one channel. Counts go straight into the
 * worker's shared slot (see shared.ts).
 */
import {
  BASIC_CONSUME_OK,
  BASIC_QOS_OK,
  CONFIRM_SELECT_OK,
  encodeBasicCancel,
  encodeBasicConsume,
  encodeBasicQos,
  encodeConfirmSelect,
} from "../amqp/generated.js";
import { PerfConnection } from "./connection.js";
import { bucketOf } from "./histogram.js";
import { Counter, HIST_OFFSET, total } from "./shared.js";
import { ACK_FRAME_SIZE, nowUs, publishTemplate, readU64, writeAck } from "./wire.js";

/** What every client of a run shares (the flags of warren-perf that shape the load). */
export interface LoadConfig {
  uri: string;
  bodySize: number;
  persistent: boolean;
  /** Exchange producers publish to ("" is the default exchange). */
  exchange: string;
  /** Unconfirmed messages a producer may have outstanding; 0: no confirms. */
  confirm: number;
  /** Messages per second per producer; 0: as fast as possible. */
  rate: number;
  /** Messages per producer; 0: no limit. */
  producerMessages: number;
  /** Messages per consumer; 0: no limit. */
  consumerMessages: number;
  autoAck: boolean;
  /** Ack with multiple=true every N messages; 0 or 1: ack each message. */
  multiAckEvery: number;
  /** basic.qos prefetch count per consumer; 0: unlimited. */
  prefetch: number;
  /** Producers pause while deliveries expected (published × routeFactor) − consumed reaches this; 0: off. */
  maxInFlight: number;
  /** Deliveries one publish makes (the number of queues a message is routed to). */
  routeFactor: number;
}

const CHANNEL = 1;
/** Largest number of messages in one socket write. */
const MAX_BLOCK_MESSAGES = 256;
/** Bytes aimed at per socket write. */
const BLOCK_BYTES = 64 * 1024;
/** Writes per turn of the event loop before yielding to timers and other sockets. */
const WRITES_PER_TURN = 16;
/** Buffers a producer rotates through, so one is never patched while the socket still holds it. */
const RING = 4;
/** How long a producer's close may wait for the broker to read what it wrote. */
export const STOP_TIMEOUT_MS = 60_000;
/** Tags tracked for confirms that arrive out of order. */
const CONFIRM_RING = 1 << 20;

export class Producer {
  private conn!: PerfConnection;
  private blocks: Buffer[] = [];
  private busy: boolean[] = [];
  private next = 0;
  private msgLen = 0;
  private stampAt = -1;
  private perBlock = 1;
  private running = false;
  private published = 0;
  /** Confirms: settled tags (acked or nacked), the highest tag below which all are settled. */
  private settled = 0;
  private settledBelow = 0;
  private marks: Uint8Array | undefined;
  private waiting: "" | "drain" | "block" | "confirms" | "limit" | "rate" = "";
  private scheduled = false;
  private rateStart = 0;
  private pausedSince = 0;
  doneCallback: (() => void) | undefined;

  constructor(
    private readonly cfg: LoadConfig,
    private readonly routingKey: string,
    private readonly slot: Float64Array,
    private readonly slots: readonly Float64Array[],
    private readonly onError: (err: Error) => void,
  ) {}

  async connect(name: string): Promise<void> {
    this.conn = await PerfConnection.open(this.cfg.uri, name);
    this.conn.onError(this.onError);
    await this.conn.openChannel(CHANNEL);
    const t = publishTemplate(CHANNEL, this.cfg.exchange, this.routingKey, this.cfg.bodySize, this.cfg.persistent, this.conn.frameMax);
    this.msgLen = t.bytes.length;
    this.stampAt = t.stampAt;
    this.perBlock = Math.max(1, Math.min(MAX_BLOCK_MESSAGES, Math.floor(BLOCK_BYTES / this.msgLen)));
    for (let i = 0; i < RING; i++) {
      const block = Buffer.allocUnsafe(this.perBlock * this.msgLen);
      for (let k = 0; k < this.perBlock; k++) t.bytes.copy(block, k * this.msgLen);
      this.blocks.push(block);
      this.busy.push(false);
    }
    this.conn.socket.on("drain", () => this.wake("drain"));
    this.conn.handlers.blocked = () => this.slot[Counter.blocked]!++;
    if (this.cfg.confirm > 0) {
      this.marks = new Uint8Array(CONFIRM_RING);
      this.conn.handlers.ack = (_ch, tag, multiple) => this.settle(tag, multiple, Counter.confirmed);
      this.conn.handlers.nack = (_ch, tag, multiple) => this.settle(tag, multiple, Counter.nacked);
      await this.conn.call(CHANNEL, encodeConfirmSelect, { nowait: false }, [CONFIRM_SELECT_OK]);
    }
  }

  start(): void {
    this.running = true;
    this.rateStart = performance.now();
    this.pump();
  }

  /** Stop writing and close, waiting until the broker has taken in everything written (at most a minute). */
  stop(): Promise<void> {
    this.running = false;
    this.pauseEnds();
    return this.conn?.close(STOP_TIMEOUT_MS) ?? Promise.resolve();
  }

  private wake(reason: string): void {
    if (this.waiting !== reason) return;
    this.waiting = "";
    this.pauseEnds();
    this.schedule();
  }

  private schedule(delayMs = -1): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.pump();
    };
    if (delayMs < 0) setImmediate(run);
    else setTimeout(run, delayMs);
  }

  private pauseEnds(): void {
    if (this.pausedSince !== 0) {
      this.slot[Counter.pausedMs]! += performance.now() - this.pausedSince;
      this.pausedSince = 0;
    }
  }

  private pump(): void {
    const cfg = this.cfg;
    for (let writes = 0; writes < WRITES_PER_TURN; writes++) {
      if (!this.running || this.waiting !== "") return;
      let n = this.perBlock;
      if (cfg.producerMessages > 0) {
        n = Math.min(n, cfg.producerMessages - this.published);
        if (n <= 0) return this.finish();
      }
      if (cfg.rate > 0) {
        const due = Math.floor(((performance.now() - this.rateStart) * cfg.rate) / 1000) - this.published;
        if (due <= 0) {
          // Sleep until the next message is due (timers fire at best every ~1 ms).
          const at = ((this.published + 1) * 1000) / cfg.rate + this.rateStart;
          this.waiting = "rate";
          setTimeout(() => this.wake("rate"), Math.max(0, at - performance.now()));
          return;
        }
        n = Math.min(n, due);
      }
      if (this.marks !== undefined) {
        const room = Math.min(cfg.confirm - (this.published - this.settled), CONFIRM_RING - (this.published - this.settledBelow));
        if (room <= 0) {
          this.waiting = "confirms";
          return;
        }
        n = Math.min(n, room);
      }
      if (cfg.maxInFlight > 0 && cfg.rate === 0 && this.overInFlightLimit()) {
        // Poll: the consumers that bring it down may be in other threads.
        this.waiting = "limit";
        this.pausedSince = performance.now();
        setTimeout(() => this.wake("limit"), 1);
        return;
      }
      const i = this.next;
      if (this.busy[i]) {
        this.waiting = "block";
        return;
      }
      this.next = (i + 1) % RING;
      const block = this.blocks[i]!;
      if (this.stampAt >= 0) {
        const t = nowUs();
        for (let k = 0, at = this.stampAt; k < n; k++, at += this.msgLen) block.writeDoubleLE(t, at);
      }
      this.busy[i] = true;
      this.published += n;
      this.slot[Counter.published]! += n;
      const ok = this.conn.socket.write(n === this.perBlock ? block : block.subarray(0, n * this.msgLen), () => {
        this.busy[i] = false;
        this.wake("block");
      });
      if (!ok) {
        this.waiting = "drain";
        return;
      }
    }
    this.schedule();
  }

  private overInFlightLimit(): boolean {
    const expected = total(this.slots, Counter.published) * this.cfg.routeFactor;
    return expected - total(this.slots, Counter.consumed) >= this.cfg.maxInFlight;
  }

  private settle(tag: number, multiple: boolean, counter: number): void {
    const marks = this.marks!;
    let newly = 0;
    if (multiple) {
      for (let t = this.settledBelow + 1; t <= tag; t++) {
        const at = t & (CONFIRM_RING - 1);
        if (marks[at] === 0) {
          marks[at] = 1;
          newly++;
        }
      }
    } else if (tag > this.settledBelow && marks[tag & (CONFIRM_RING - 1)] === 0) {
      marks[tag & (CONFIRM_RING - 1)] = 1;
      newly = 1;
    }
    while (marks[(this.settledBelow + 1) & (CONFIRM_RING - 1)] === 1 && this.settledBelow < this.published) {
      marks[++this.settledBelow & (CONFIRM_RING - 1)] = 0;
    }
    this.settled += newly;
    this.slot[counter]! += newly;
    if (this.cfg.producerMessages > 0 && this.published >= this.cfg.producerMessages) this.finish();
    else this.wake("confirms");
  }

  private finished = false;
  /** All its messages are out (and, with confirms, settled). */
  private finish(): void {
    if (this.finished) return;
    if (this.marks !== undefined && this.settled < this.published) return;
    this.finished = true;
    this.slot[Counter.producersDone]!++;
    this.doneCallback?.();
  }
}

export class Consumer {
  private conn!: PerfConnection;
  private consumed = 0;
  private consumerTag = "";
  /** The next body frame is the first of a message: it carries the send time. */
  private expectStamp = false;
  /** Monotonic time of the chunk being parsed (read once per chunk, when first needed). */
  private chunkTime = -1;
  private ackBuf: Buffer;
  private ackPos = 0;
  private unackedForMulti = 0;
  private done = false;

  constructor(
    private readonly cfg: LoadConfig,
    private readonly queue: string,
    private readonly slot: Float64Array,
    private readonly onError: (err: Error) => void,
  ) {
    this.ackBuf = Buffer.allocUnsafe(ACK_FRAME_SIZE * 1024);
  }

  async connect(name: string): Promise<void> {
    this.conn = await PerfConnection.open(this.cfg.uri, name);
    this.conn.onError(this.onError);
    await this.conn.openChannel(CHANNEL);
    const h = this.conn.handlers;
    h.deliver = (_ch, buf, start) => this.deliver(buf, start);
    h.body = (_ch, buf, start, end) => this.body(buf, start, end);
    h.chunkEnd = () => this.chunkEnd();
    h.blocked = () => this.slot[Counter.blocked]!++;
    if (this.cfg.prefetch > 0) {
      await this.conn.call(CHANNEL, encodeBasicQos, { prefetchSize: 0, prefetchCount: this.cfg.prefetch, global: false }, [BASIC_QOS_OK]);
    }
  }

  async consume(): Promise<void> {
    const ok = await this.conn.call(
      CHANNEL,
      encodeBasicConsume,
      {
        queue: this.queue,
        consumerTag: "",
        noLocal: false,
        noAck: this.cfg.autoAck,
        exclusive: false,
        noWait: false,
        arguments: {},
      },
      [BASIC_CONSUME_OK],
    );
    this.consumerTag = (ok as { consumerTag: string }).consumerTag;
  }

  stop(): Promise<void> {
    return this.conn?.close() ?? Promise.resolve();
  }

  private deliver(buf: Buffer, start: number): void {
    if (this.done) return;
    const cfg = this.cfg;
    this.consumed++;
    this.slot[Counter.consumed]!++;
    this.expectStamp = true;
    if (!cfg.autoAck) {
      // consumer tag (shortstr), then the delivery tag
      const tag = readU64(buf, start + 5 + buf[start + 4]!);
      if (cfg.multiAckEvery > 1) {
        if (++this.unackedForMulti >= cfg.multiAckEvery) {
          this.unackedForMulti = 0;
          this.queueAck(tag, true);
        }
      } else {
        this.queueAck(tag, false);
      }
    }
    if (cfg.consumerMessages > 0 && this.consumed >= cfg.consumerMessages) {
      this.done = true;
      this.slot[Counter.consumersDone]!++;
      this.conn.send(CHANNEL, encodeBasicCancel, { consumerTag: this.consumerTag, noWait: true });
    }
  }

  private body(buf: Buffer, start: number, end: number): void {
    if (!this.expectStamp) return;
    this.expectStamp = false;
    if (end - start < 8) return;
    if (this.chunkTime < 0) this.chunkTime = nowUs();
    const us = this.chunkTime - buf.readDoubleLE(start);
    const slot = this.slot;
    slot[HIST_OFFSET + bucketOf(us)]!++;
    slot[Counter.latencySumUs]! += us > 0 ? us : 0;
    slot[Counter.latencyCount]!++;
  }

  private queueAck(tag: number, multiple: boolean): void {
    if (this.ackPos + ACK_FRAME_SIZE > this.ackBuf.length) this.flushAcks();
    writeAck(this.ackBuf, this.ackPos, CHANNEL, tag, multiple);
    this.ackPos += ACK_FRAME_SIZE;
  }

  private flushAcks(): void {
    if (this.ackPos === 0) return;
    // A copy: the socket may hold on to what it is given while ackBuf is refilled.
    this.conn.socket.write(Buffer.from(this.ackBuf.subarray(0, this.ackPos)));
    this.ackPos = 0;
  }

  private chunkEnd(): void {
    this.chunkTime = -1;
    this.flushAcks();
  }
}
