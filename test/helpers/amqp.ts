/**
 * Client-level helpers for the amqplib and @cloudamqp/amqp-client acceptance tests
 * (exchanges, queues, basic, consume, amqp-client).
 *
 * The rules these helpers enforce:
 * - every connection and channel gets an 'error' listener at once, so a server-side close never
 *   becomes an uncaught EventEmitter error;
 * - a test that provokes an error waits on the close event and asserts the exact reply code;
 * - waiting is done on events, bounded by a generous guard (GUARD_MS) that only turns a hang into
 *   a readable failure; `expectNothing` is the only deliberate short wait, used to prove that
 *   something did NOT arrive.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Message, type Options } from "amqplib";
import { AMQPClient, AMQPError } from "@cloudamqp/amqp-client";

/** Upper bound on any single wait for an event that must happen. */
export const GUARD_MS = 10_000;
/** How long `expectNothing` waits to prove that a message did not arrive. */
export const QUIET_MS = 200;

/** AMQP 0-9-1 reply codes. */
export const Code = {
  REPLY_SUCCESS: 200,
  CONTENT_TOO_LARGE: 311,
  NO_ROUTE: 312,
  NO_CONSUMERS: 313,
  CONNECTION_FORCED: 320,
  INVALID_PATH: 402,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const;

/** A unique name for a test entity: prefix, pid and a random suffix. */
export function uniq(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`;
}

/** Resolve when `promise` settles, or fail with `what` after GUARD_MS. */
export async function within<T>(promise: Promise<T>, what: string, ms = GUARD_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short, bounded wait: only for proving that something did not happen. */
export function pause(ms = QUIET_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `condition` until it holds (bounded by GUARD_MS). Only for state the protocol does not
 * announce with an event, such as an auto-delete queue going away after the cancel-ok.
 */
export async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + GUARD_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${GUARD_MS} ms waiting until ${what}`);
    await pause(20);
  }
}

/** Errors carried by amqplib: the reply code is in .code. */
export interface ServerError extends Error {
  code?: number;
  classId?: number;
  methodId?: number;
}

function asServerError(e: unknown): ServerError {
  if (e instanceof Error) return e as ServerError;
  return new Error(String(e));
}

// ---------------------------------------------------------------------------------------------
// amqplib connections and channels
// ---------------------------------------------------------------------------------------------

/** What happened to a connection or channel: its close, and the server error that caused it. */
export interface Watch {
  /** Resolves when the connection or channel is closed, with the server error if there was one. */
  closed: Promise<ServerError | undefined>;
  /** The errors emitted so far. */
  errors: ServerError[];
  /** True once closed. */
  isClosed(): boolean;
}

const watches = new WeakMap<object, Watch>();

function watch(emitter: ChannelModel | Channel): Watch {
  const existing = watches.get(emitter);
  if (existing) return existing;
  const errors: ServerError[] = [];
  let done = false;
  const closed = new Promise<ServerError | undefined>((resolve) => {
    emitter.on("error", (e: Error) => errors.push(asServerError(e)));
    emitter.on("close", (e?: Error) => {
      done = true;
      resolve(e === undefined ? errors[0] : asServerError(e));
    });
  });
  const w: Watch = { closed, errors, isClosed: () => done };
  watches.set(emitter, w);
  return w;
}

/** The Watch of a connection or channel opened by these helpers. */
export function watchOf(emitter: ChannelModel | Channel): Watch {
  return watch(emitter);
}

const liveConnections = new Set<ChannelModel>();

/** Open an amqplib connection with its errors recorded rather than thrown. */
export async function openConnection(url: string, socketOptions?: Record<string, unknown>): Promise<ChannelModel> {
  const conn = await connect(url, socketOptions);
  liveConnections.add(conn);
  void watch(conn).closed.then(() => liveConnections.delete(conn));
  return conn;
}

/**
 * Close every connection these helpers opened that is still open. After hooks call it so that a
 * failed test that left a connection behind cannot keep the test file from exiting.
 */
export async function closeAllConnections(): Promise<void> {
  await Promise.all([...liveConnections].map((c) => closeQuietly(c)));
  liveConnections.clear();
}

/** Open a channel with its errors recorded rather than thrown. */
export async function openChannel(conn: ChannelModel): Promise<Channel> {
  const ch = await conn.createChannel();
  watch(ch);
  return ch;
}

/** Open a confirm-mode channel with its errors recorded rather than thrown. */
export async function openConfirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  watch(ch);
  return ch;
}

/** Close a channel unless it is already closed; never throws. */
export async function closeQuietly(target: Channel | ChannelModel | undefined): Promise<void> {
  if (!target) return;
  const w = watch(target);
  if (w.isClosed()) return;
  try {
    await target.close();
  } catch {
    // already closing or closed by the server
  }
}

/**
 * Run `action` on `ch` and expect the server to close the channel with `code`.
 * Returns the error (its message carries the reply text) for further checks.
 * The action's own rejection, if any, must carry the same code.
 */
export async function expectChannelClose(ch: Channel, code: number, action: (ch: Channel) => unknown): Promise<ServerError> {
  const w = watch(ch);
  let rejection: ServerError | undefined;
  try {
    const result = action(ch);
    if (result instanceof Promise) await result;
  } catch (e) {
    rejection = asServerError(e);
  }
  const err = await within(w.closed, `channel close with ${code}`);
  assert.ok(err, `channel closed without a server error (expected ${code})`);
  assert.equal(err.code, code, `channel close code: ${err.message}`);
  if (rejection !== undefined && rejection.code !== undefined) {
    assert.equal(rejection.code, code, `operation rejected with: ${rejection.message}`);
  }
  return err;
}

/** Open a channel, run `action` on it and expect it to be closed with `code`. */
export async function expectChannelError(conn: ChannelModel, code: number, action: (ch: Channel) => unknown): Promise<ServerError> {
  const ch = await openChannel(conn);
  return expectChannelClose(ch, code, action);
}

/**
 * Run `action` and expect the server to close the whole connection with `code`.
 * Opens its own connection so no other test is affected.
 */
export async function expectConnectionError(url: string, code: number, action: (ch: Channel, conn: ChannelModel) => unknown): Promise<ServerError> {
  const conn = await openConnection(url);
  const ch = await openChannel(conn);
  const w = watch(conn);
  try {
    const result = action(ch, conn);
    if (result instanceof Promise) await result;
  } catch {
    // the pending operation fails when the connection goes; the code is checked below
  }
  const err = await within(w.closed, `connection close with ${code}`);
  assert.ok(err, `connection closed without a server error (expected ${code})`);
  assert.equal(err.code, code, `connection close code: ${err.message}`);
  return err;
}

/** The reply text of an amqplib error message (`... with message "TEXT"`). */
export function replyText(err: Error): string {
  const m = /with message "(.*)"$/s.exec(err.message);
  return m ? m[1]! : err.message;
}

/** Assert the connection is healthy: a fresh channel can declare and delete a queue. */
export async function assertConnectionUsable(conn: ChannelModel): Promise<void> {
  const ch = await openChannel(conn);
  const q = await ch.assertQueue("", { exclusive: true });
  await ch.deleteQueue(q.queue);
  await ch.close();
}

/** Assert an existing channel is still open and answering RPCs. */
export async function assertChannelUsable(ch: Channel): Promise<void> {
  assert.equal(watch(ch).isClosed(), false, "channel should still be open");
  const q = await ch.assertQueue("", { exclusive: true });
  await ch.deleteQueue(q.queue);
}

/** Does the queue exist? (A passive declare on a throwaway channel.) */
export async function queueExists(conn: ChannelModel, queue: string): Promise<boolean> {
  const ch = await openChannel(conn);
  try {
    await ch.checkQueue(queue);
    await ch.close();
    return true;
  } catch (e) {
    const err = asServerError(e);
    assert.equal(err.code, Code.NOT_FOUND, `unexpected error from passive queue.declare: ${err.message}`);
    return false;
  }
}

/** Does the exchange exist? (A passive declare on a throwaway channel.) */
export async function exchangeExists(conn: ChannelModel, exchange: string): Promise<boolean> {
  const ch = await openChannel(conn);
  try {
    await ch.checkExchange(exchange);
    await ch.close();
    return true;
  } catch (e) {
    const err = asServerError(e);
    assert.equal(err.code, Code.NOT_FOUND, `unexpected error from passive exchange.declare: ${err.message}`);
    return false;
  }
}

/** Best-effort deletes for after hooks (each on its own channel, errors ignored). */
export async function cleanup(conn: ChannelModel | undefined, what: { queues?: string[]; exchanges?: string[] }): Promise<void> {
  if (!conn || watch(conn).isClosed()) return;
  for (const q of what.queues ?? []) {
    try {
      const ch = await openChannel(conn);
      await ch.deleteQueue(q);
      await closeQuietly(ch);
    } catch {
      // ignore
    }
  }
  for (const x of what.exchanges ?? []) {
    try {
      const ch = await openChannel(conn);
      await ch.deleteExchange(x);
      await closeQuietly(ch);
    } catch {
      // ignore
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Collecting messages
// ---------------------------------------------------------------------------------------------

/** A buffer of arriving items that tests can wait on. */
export class Inbox<T> {
  /** Everything received, in order, including what was taken. */
  readonly all: T[] = [];
  private pending: T[] = [];
  private waiter: { n: number; resolve: () => void } | undefined;

  push(item: T): void {
    this.all.push(item);
    this.pending.push(item);
    if (this.waiter && this.pending.length >= this.waiter.n) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** How many items are waiting to be taken. */
  get size(): number {
    return this.pending.length;
  }

  /** Wait until `n` items are available and take them, oldest first. */
  async take(n: number, what = `${n} message(s)`): Promise<T[]> {
    if (this.pending.length < n) {
      await within(
        new Promise<void>((resolve) => {
          this.waiter = { n, resolve };
        }),
        `${what} (have ${this.pending.length})`,
      );
    }
    return this.pending.splice(0, n);
  }

  /** Wait for one item and take it. */
  async next(what = "a message"): Promise<T> {
    const [item] = await this.take(1, what);
    return item!;
  }

  /** Prove that nothing (more) arrives within a short quiet period. */
  async expectNothing(ms = QUIET_MS): Promise<void> {
    await pause(ms);
    assert.equal(this.pending.length, 0, `expected no more items, got ${this.pending.length}`);
  }
}

/** A consumer registered through `consume`. */
export interface Consumer {
  tag: string;
  inbox: Inbox<ConsumeMessage>;
  /** Resolves when the server cancels the consumer (amqplib calls the callback with null). */
  cancelledByServer: Promise<void>;
  cancel(): Promise<void>;
}

/** Start consuming `queue` on `ch`, buffering deliveries into an Inbox. */
export async function consume(ch: Channel, queue: string, options: Options.Consume = {}): Promise<Consumer> {
  const inbox = new Inbox<ConsumeMessage>();
  let onCancel: () => void = () => {};
  const cancelledByServer = new Promise<void>((resolve) => {
    onCancel = resolve;
  });
  const ok = await ch.consume(
    queue,
    (msg) => {
      if (msg === null) onCancel();
      else inbox.push(msg);
    },
    options,
  );
  return {
    tag: ok.consumerTag,
    inbox,
    cancelledByServer,
    cancel: async () => {
      await ch.cancel(ok.consumerTag);
    },
  };
}

/** Consume until `n` messages arrived, cancel, and return them (acks nothing unless noAck). */
export async function collect(ch: Channel, queue: string, n: number, options: Options.Consume = {}): Promise<ConsumeMessage[]> {
  const c = await consume(ch, queue, options);
  const msgs = await c.inbox.take(n);
  await c.cancel();
  return msgs;
}

/** Record the basic.return messages of a channel. */
export function returns(ch: Channel): Inbox<Message> {
  const inbox = new Inbox<Message>();
  ch.on("return", (m: Message) => inbox.push(m));
  return inbox;
}

/** Fetch every message currently in a queue with basic.get (no-ack), bodies as strings. */
export async function drain(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

/** Publish through a confirm channel and wait until the broker has confirmed everything. */
export async function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  bodies: Array<string | Buffer>,
  options: Options.Publish = {},
): Promise<void> {
  for (const b of bodies) ch.publish(exchange, routingKey, typeof b === "string" ? Buffer.from(b) : b, options);
  await within(ch.waitForConfirms(), "publisher confirms");
}

// ---------------------------------------------------------------------------------------------
// Raw protocol access inside amqplib (methods its API does not expose)
// ---------------------------------------------------------------------------------------------

/** The method ids of amqplib's generated protocol definitions that the tests use. */
export interface AmqplibDefs {
  BasicRecover: number;
  BasicRecoverOk: number;
  BasicRecoverAsync: number;
  BasicQos: number;
  BasicQosOk: number;
  BasicPublish: number;
  BasicProperties: number;
  BasicConsume: number;
  BasicConsumeOk: number;
  ChannelFlow: number;
  ChannelFlowOk: number;
}

let defsCache: AmqplibDefs | undefined;

/** amqplib's lib/defs.js, loaded by path (the package's exports map hides it). */
export function amqplibDefs(): AmqplibDefs {
  if (!defsCache) {
    const require = createRequire(import.meta.url);
    const main = require.resolve("amqplib");
    defsCache = require(join(dirname(main), "lib", "defs.js")) as AmqplibDefs;
  }
  return defsCache;
}

/** The internal amqplib channel methods used for raw operations. */
interface RawChannel {
  rpc(method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>>;
  sendImmediately(method: number, fields: Record<string, unknown>): void;
  sendMessage(fields: Record<string, unknown>, properties: Record<string, unknown>, content: Buffer): boolean;
}

function raw(ch: Channel): RawChannel {
  return ch as unknown as RawChannel;
}

/** Send a synchronous method on an amqplib channel and await its reply fields. */
export function rawRpc(ch: Channel, method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>> {
  return raw(ch).rpc(method, fields, expect);
}

/** Send a method that has no reply. */
export function rawSend(ch: Channel, method: number, fields: Record<string, unknown>): void {
  raw(ch).sendImmediately(method, fields);
}

/** Every BasicProperties field amqplib encodes, cluster-id included. */
export interface RawProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

/** basic.publish with every property under the caller's control (amqplib's API hides cluster-id). */
export function rawPublish(
  ch: Channel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  properties: RawProperties,
  flags: { mandatory?: boolean; immediate?: boolean } = {},
): boolean {
  const fields = {
    exchange,
    routingKey,
    mandatory: flags.mandatory ?? false,
    immediate: flags.immediate ?? false,
    ticket: 0,
    ...properties,
  };
  return raw(ch).sendMessage(fields, fields, content);
}

// ---------------------------------------------------------------------------------------------
// Frame tap: the raw bytes a connection sends and receives
// ---------------------------------------------------------------------------------------------

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
}

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;

class FrameParser {
  private rest = Buffer.alloc(0);
  readonly frames: RawFrame[] = [];

  feed(chunk: Buffer): void {
    this.rest = this.rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.rest, chunk]);
    while (this.rest.length >= 7) {
      const size = this.rest.readUInt32BE(3);
      if (this.rest.length < size + 8) return;
      this.frames.push({
        type: this.rest[0]!,
        channel: this.rest.readUInt16BE(1),
        payload: Buffer.from(this.rest.subarray(7, 7 + size)),
      });
      this.rest = this.rest.subarray(size + 8);
    }
  }
}

interface RawConnection {
  stream: { read(size?: number): Buffer | null; write(chunk: Buffer, ...rest: unknown[]): boolean };
}

/**
 * Records the frames an amqplib connection sends and receives from now on. Install it while the
 * connection is idle (right after connecting), so both directions start on a frame boundary.
 */
export class FrameTap {
  private readonly out = new FrameParser();
  private readonly in = new FrameParser();

  constructor(conn: ChannelModel) {
    const stream = (conn.connection as unknown as RawConnection).stream;
    const read = stream.read.bind(stream);
    const write = stream.write.bind(stream);
    stream.read = (size?: number) => {
      const chunk = read(size);
      if (chunk) this.in.feed(chunk);
      return chunk;
    };
    stream.write = (chunk: Buffer, ...rest: unknown[]) => {
      this.out.feed(chunk);
      return write(chunk, ...rest);
    };
  }

  get sent(): RawFrame[] {
    return this.out.frames;
  }

  get received(): RawFrame[] {
    return this.in.frames;
  }

  /** Content header frames (class, weight, body size, flags and property list). */
  sentHeaders(): Buffer[] {
    return this.sent.filter((f) => f.type === FRAME_HEADER).map((f) => f.payload);
  }

  receivedHeaders(): Buffer[] {
    return this.received.filter((f) => f.type === FRAME_HEADER).map((f) => f.payload);
  }
}

// ---------------------------------------------------------------------------------------------
// @cloudamqp/amqp-client
// ---------------------------------------------------------------------------------------------

/** The reply code at the end of an AMQPError message ("... (404)"). */
export function amqpErrorCode(e: unknown): number | undefined {
  if (!(e instanceof Error)) return undefined;
  const m = /\((\d{3})\)\s*$/.exec(e.message);
  return m ? Number(m[1]) : undefined;
}

/** Await `promise` and expect it to fail with an AMQPError carrying `code`. */
export async function expectAMQPError(promise: Promise<unknown>, code: number): Promise<AMQPError> {
  try {
    await within(promise, `an AMQPError with code ${code}`);
  } catch (e) {
    assert.ok(e instanceof AMQPError, `expected an AMQPError, got ${String(e)}`);
    assert.equal(amqpErrorCode(e), code, `AMQPError: ${e.message}`);
    return e;
  }
  assert.fail(`expected an AMQPError with code ${code}, but the operation succeeded`);
}

/** An @cloudamqp/amqp-client connection whose errors are recorded rather than logged. */
export interface CloudConnection {
  client: AMQPClient;
  /** Every error the client reported (channel and connection closes). */
  errors: AMQPError[];
  /** Resolves when the connection goes, with the error that ended it, if any. */
  disconnected: Promise<Error | undefined>;
}

export async function openCloudConnection(url: string): Promise<CloudConnection> {
  const client = new AMQPClient(url);
  const errors: AMQPError[] = [];
  client.onerror = (e: AMQPError) => {
    errors.push(e);
  };
  const disconnected = new Promise<Error | undefined>((resolve) => {
    client.ondisconnect = (e?: Error) => resolve(e);
  });
  await client.connect();
  return { client, errors, disconnected };
}

/** Close an @cloudamqp/amqp-client connection unless it is already closed; never throws. */
export async function closeCloudQuietly(c: CloudConnection | undefined): Promise<void> {
  if (!c || c.client.closed) return;
  try {
    await c.client.close();
  } catch {
    // already gone
  }
}

/**
 * connection.blocked / unblocked as a client sees them: the events in order, and promises of the
 * first of each (the reason given with blocked).
 */
export function watchBlocking(conn: ChannelModel): { events: string[]; blocked: Promise<string>; unblocked: Promise<void> } {
  const events: string[] = [];
  const blocked = new Promise<string>((resolve) =>
    conn.on("blocked", (reason: string) => {
      events.push("blocked");
      resolve(reason);
    }),
  );
  const unblocked = new Promise<void>((resolve) =>
    conn.on("unblocked", () => {
      events.push("unblocked");
      resolve();
    }),
  );
  return { events, blocked, unblocked };
}
