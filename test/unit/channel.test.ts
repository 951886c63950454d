/**
 * A Channel driven with plain method calls against a fake ChannelHost (src/server/channel-host.ts):
 * no socket, no Connection. The host's writer writes into a fake socket whose bytes are parsed
 * back into frames, so each test checks what the client would have received.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { pino } from "pino";
import { AmqpError } from "../../src/amqp/errors.js";
import { AmqpReader } from "../../src/amqp/field-reader.js";
import { AmqpWriter } from "../../src/amqp/field-writer.js";
import { FrameWriter } from "../../src/amqp/frame-writer.js";
import * as amqp from "../../src/amqp/generated.js";
import { PublishDecoder } from "../../src/amqp/publish-decoder.js";
import { Broker } from "../../src/broker/broker.js";
import { memoryStorage } from "../../src/store/memory-storage.js";
import type { Queue } from "../../src/broker/queue.js";
import type { VHost } from "../../src/broker/vhost.js";
import { Channel } from "../../src/server/channel.js";
import type { ChannelHost, ChannelServices, DrainWaiter } from "../../src/server/channel-host.js";
import { DirectReplyTo } from "../../src/server/direct-reply-to.js";

/** What FrameWriter uses of a socket; `writableLength` stands for bytes the kernel has not taken. */
class FakeSocket {
  writableLength = 0;
  readonly chunks: Buffer[] = [];
  cork(): void {}
  uncork(): void {}
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
}

/** One frame as the client would read it. */
interface Frame {
  type: number;
  channel: number;
  /** The decoded method of a method frame. */
  method?: amqp.AnyMethod;
  payload: Buffer;
}

/** A ChannelHost that records what the channel asks of its connection. */
class FakeHost implements ChannelHost {
  readonly socket = new FakeSocket();
  readonly writer = new FrameWriter(this.socket as unknown as Socket, 131072);
  readonly username = "guest";
  readonly name = "fake connection";
  readonly logLines: Array<Record<string, unknown>> = [];
  readonly log = pino({ level: "info" }, { write: (line: string) => void this.logLines.push(JSON.parse(line) as Record<string, unknown>) });
  readonly capabilities = { consumerCancelNotify: true };
  readonly ctx: ChannelServices;
  /** Calls that have no state of their own here, in order. */
  readonly calls: string[] = [];
  readonly drainWaiters = new Set<DrainWaiter>();
  readonly exclusiveQueues = new Set<Queue>();
  readonly removedChannels: number[] = [];

  constructor(
    readonly vhost: VHost,
    broker: Broker,
    directReplies = new DirectReplyTo(),
  ) {
    this.ctx = { broker, options: { maxMessageSize: 1024 * 1024 }, directReplies };
  }

  blockIfAlarmed(): void {
    this.calls.push("blockIfAlarmed");
  }
  holdForQueue(queue: Queue): void {
    this.calls.push(`holdForQueue ${queue.name}`);
  }
  /** Set: dispatches after acks wait for dispatchHeld(), as the connection holds them until a chunk's frames are handled. */
  holdDispatches = false;
  readonly heldDispatches: Queue[] = [];
  dispatchAfterAcks(queue: Queue): void {
    this.calls.push(`dispatchAfterAcks ${queue.name}`);
    if (this.holdDispatches) this.heldDispatches.push(queue);
    else queue.dispatch();
  }
  dispatchHeld(): void {
    for (const queue of this.heldDispatches.splice(0)) queue.dispatch();
  }
  waitForDrain(waiter: DrainWaiter): void {
    this.drainWaiters.add(waiter);
  }
  stopWaitingForDrain(waiter: DrainWaiter): void {
    this.drainWaiters.delete(waiter);
  }
  ownExclusiveQueue(queue: Queue): void {
    this.exclusiveQueues.add(queue);
  }
  disownExclusiveQueue(queue: Queue): void {
    this.exclusiveQueues.delete(queue);
  }
  removeChannel(id: number): void {
    this.removedChannels.push(id);
  }

  /** Everything written since the last call, as frames. */
  takeFrames(): Frame[] {
    this.writer.flush();
    const bytes = Buffer.concat(this.socket.chunks);
    this.socket.chunks.length = 0;
    const frames: Frame[] = [];
    for (let p = 0; p < bytes.length; ) {
      const type = bytes[p]!;
      const channel = bytes.readUInt16BE(p + 1);
      const size = bytes.readUInt32BE(p + 3);
      const payload = bytes.subarray(p + 7, p + 7 + size);
      assert.equal(bytes[p + 7 + size], amqp.FRAME_END, "frame end");
      const frame: Frame = { type, channel, payload };
      if (type === amqp.FRAME_METHOD) frame.method = amqp.decodeMethod(new AmqpReader().reset(payload, 4, payload.length), payload.readUInt32BE(0));
      frames.push(frame);
      p += 8 + size;
    }
    return frames;
  }

  /** The methods written since the last call (content frames left out). */
  takeMethods(): amqp.AnyMethod[] {
    return this.takeFrames().flatMap((f) => (f.method === undefined ? [] : [f.method]));
  }
}

/** A vhost "/" with full permissions for guest, a host on it, and channel 1 open. */
function setup(options: { broker?: Broker; directReplies?: DirectReplyTo } = {}): { broker: Broker; host: FakeHost; channel: Channel } {
  const broker = options.broker ?? new Broker(memoryStorage());
  const vhost = broker.vhosts.get("/") ?? broker.addVhost("/");
  broker.permissions.set("guest", "/", ".*", ".*", ".*");
  const host = new FakeHost(vhost, broker, options.directReplies);
  return { broker, host, channel: new Channel(1, host) };
}

/** basic.publish, its content header and its body, as the connection hands them to the channel. */
function publish(channel: Channel, args: { exchange: string; routingKey: string; body: string; mandatory?: boolean; properties?: amqp.BasicProperties }): void {
  const w = new AmqpWriter(256);
  amqp.encodeBasicPublish(w, { exchange: args.exchange, routingKey: args.routingKey, mandatory: args.mandatory ?? false, immediate: false });
  channel.onMethod(new PublishDecoder().decode(w.buf, 4, w.pos)); // after the method id
  const body = Buffer.from(args.body);
  const header = new AmqpWriter(256);
  header.u16(amqp.CLASS_BASIC);
  header.u16(0);
  header.u64(body.length);
  amqp.encodeBasicProperties(header, args.properties ?? {});
  channel.onContentHeader(header.buf, 0, header.pos);
  if (body.length > 0) channel.onContentBody(body, 0, body.length);
}

function declareQueue(channel: Channel, queue: string, options: { exclusive?: boolean } = {}): void {
  channel.onMethod({
    id: amqp.QUEUE_DECLARE,
    queue,
    passive: false,
    durable: false,
    exclusive: options.exclusive ?? false,
    autoDelete: false,
    noWait: false,
    arguments: {},
  });
}

function consume(channel: Channel, queue: string, consumerTag: string, noAck = false): void {
  channel.onMethod({ id: amqp.BASIC_CONSUME, queue, consumerTag, noLocal: false, noAck, exclusive: false, noWait: false, arguments: {} });
}

describe("Channel against a fake host", () => {
  it("a publish to an unknown exchange fails with 404 naming basic.publish; the close goes out and is logged once", () => {
    const { host, channel } = setup();
    let error: unknown;
    try {
      publish(channel, { exchange: "no-such-exchange", routingKey: "k", body: "hi" });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof AmqpError, "an AMQP error");
    assert.equal(error.code, 404);
    assert.equal(error.message, "NOT_FOUND - no exchange 'no-such-exchange' in vhost '/'");
    assert.equal(error.connectionLevel, false);
    assert.deepEqual([error.classId, error.methodId], [amqp.CLASS_BASIC, amqp.BASIC_PUBLISH & 0xffff]);
    assert.deepEqual(host.calls, ["blockIfAlarmed"], "the host is asked to block once per complete publish");
    // The connection turns a channel-level error into channel.close (Connection.handleError).
    channel.closeWithError(error);
    const close = host.takeMethods();
    assert.equal(close.length, 1);
    assert.equal(close[0]!.id, amqp.CHANNEL_CLOSE);
    const { replyCode, replyText, classId, methodId } = close[0] as amqp.ChannelClose;
    assert.deepEqual([replyCode, replyText, classId, methodId], [404, error.message, 60, 40]);
    assert.deepEqual(
      host.logLines.map((l) => l.event),
      ["channel.error"],
    );
    // close-ok from the client: the channel is gone from its host.
    channel.onMethod({ id: amqp.CHANNEL_CLOSE_OK });
    assert.deepEqual(host.removedChannels, [1]);
  });

  it("consume, deliver, ack: consume-ok, then basic.deliver with the consumer's tag and its content; the ack settles it", () => {
    const { broker, host, channel } = setup();
    declareQueue(channel, "q");
    consume(channel, "q", "ctag-1");
    assert.deepEqual(
      host.takeMethods().map((m) => m.id),
      [amqp.QUEUE_DECLARE_OK, amqp.BASIC_CONSUME_OK],
    );

    publish(channel, { exchange: "", routingKey: "q", body: "hello", properties: { contentType: "text/plain" } });
    const frames = host.takeFrames();
    assert.deepEqual(
      frames.map((f) => f.type),
      [amqp.FRAME_METHOD, amqp.FRAME_HEADER, amqp.FRAME_BODY],
    );
    const deliver = frames[0]!.method as amqp.BasicDeliver;
    assert.deepEqual(
      {
        id: deliver.id,
        consumerTag: deliver.consumerTag,
        deliveryTag: deliver.deliveryTag,
        redelivered: deliver.redelivered,
        exchange: deliver.exchange,
        routingKey: deliver.routingKey,
      },
      { id: amqp.BASIC_DELIVER, consumerTag: "ctag-1", deliveryTag: 1, redelivered: false, exchange: "", routingKey: "q" },
    );
    assert.ok(frames.every((f) => f.channel === 1));
    const props = amqp.decodeBasicProperties(new AmqpReader().reset(frames[1]!.payload, 12, frames[1]!.payload.length));
    assert.equal(props.contentType, "text/plain");
    assert.equal(frames[2]!.payload.toString(), "hello");

    const queue = broker.vhosts.get("/")!.queues.get("q")!;
    assert.equal(channel.info().messagesUnacknowledged, 1);
    assert.equal(queue.unacked, 1);
    channel.onMethod({ id: amqp.BASIC_ACK, deliveryTag: 1, multiple: false });
    assert.equal(channel.info().messagesUnacknowledged, 0);
    assert.equal(queue.unacked, 0);
    assert.equal(queue.messageCount, 0);
    assert.deepEqual(host.takeFrames(), [], "an ack is not answered");

    // An unknown tag is 406 and names basic.ack.
    assert.throws(() => channel.onMethod({ id: amqp.BASIC_ACK, deliveryTag: 7, multiple: false }), {
      code: 406,
      message: "PRECONDITION_FAILED - unknown delivery tag 7",
      classId: amqp.CLASS_BASIC,
      methodId: amqp.BASIC_ACK & 0xffff,
    });
  });

  it("acks leave the dispatch to the host: the acks of one chunk free prefetch room, then the queue dispatches once", () => {
    const { broker, host, channel } = setup();
    declareQueue(channel, "batched");
    channel.onMethod({ id: amqp.BASIC_QOS, prefetchSize: 0, prefetchCount: 2, global: false });
    consume(channel, "batched", "c");
    for (const body of ["1", "2", "3", "4"]) publish(channel, { exchange: "", routingKey: "batched", body });
    const delivered = () => host.takeMethods().flatMap((m) => (m.id === amqp.BASIC_DELIVER ? [m.deliveryTag] : []));
    assert.deepEqual(delivered(), [1, 2], "prefetch 2");
    host.calls.length = 0;

    // As the connection does while it reads a chunk: two acks, no delivery until the chunk is done.
    host.holdDispatches = true;
    channel.onAck(1, false);
    channel.onAck(2, false);
    assert.deepEqual(delivered(), [], "no dispatch per ack");
    assert.deepEqual(host.calls, ["dispatchAfterAcks batched", "dispatchAfterAcks batched"]);
    host.dispatchHeld();
    assert.deepEqual(delivered(), [3, 4], "one dispatch fills the room both acks freed");
    assert.equal(broker.vhosts.get("/")!.queues.get("batched")!.unacked, 2);
  });

  it("a socket that does not take its output stops deliveries; the channel waits on its host for the drain", () => {
    const { broker, host, channel } = setup();
    declareQueue(channel, "slow");
    consume(channel, "slow", "c", true);
    host.takeFrames();
    host.socket.writableLength = 2 * 1024 * 1024; // above the channel's delivery high-water mark
    publish(channel, { exchange: "", routingKey: "slow", body: "one" });
    assert.equal(host.drainWaiters.size, 1, "the channel waits for a drain");
    assert.deepEqual(host.takeFrames(), [], "nothing delivered to a full socket");
    assert.equal(broker.vhosts.get("/")!.queues.get("slow")!.messageCount, 1);

    host.socket.writableLength = 0;
    for (const waiter of [...host.drainWaiters]) {
      host.drainWaiters.delete(waiter);
      waiter.resumeDeliveries();
    }
    const delivered = host.takeMethods();
    assert.equal(delivered.length, 1);
    assert.equal((delivered[0] as amqp.BasicDeliver).consumerTag, "c");
    // Closing the channel withdraws a wait that is still pending.
    host.socket.writableLength = 2 * 1024 * 1024;
    publish(channel, { exchange: "", routingKey: "slow", body: "two" });
    assert.equal(host.drainWaiters.size, 1);
    channel.release();
    assert.equal(host.drainWaiters.size, 0);
  });

  it("tx: publishes and acks are held until tx.commit, applied in the order they came, and dropped by tx.rollback", () => {
    const { broker, host, channel } = setup();
    const queues = broker.vhosts.get("/")!.queues;
    declareQueue(channel, "tx-q");
    declareQueue(channel, "source");
    publish(channel, { exchange: "", routingKey: "source", body: "to ack" });
    channel.onMethod({ id: amqp.BASIC_GET, queue: "source", noAck: false });
    host.takeFrames();

    channel.onMethod({ id: amqp.TX_SELECT });
    assert.deepEqual(
      host.takeMethods().map((m) => m.id),
      [amqp.TX_SELECT_OK],
    );
    publish(channel, { exchange: "", routingKey: "tx-q", body: "first" });
    channel.onMethod({ id: amqp.BASIC_ACK, deliveryTag: 1, multiple: false });
    publish(channel, { exchange: "", routingKey: "tx-q", body: "second" });
    // An ack of an unknown tag fails when it arrives, not at the commit (RabbitMQ).
    assert.throws(() => channel.onMethod({ id: amqp.BASIC_ACK, deliveryTag: 99, multiple: false }), { code: 406 });
    assert.equal(queues.get("tx-q")!.messageCount, 0, "nothing routed before the commit");
    assert.equal(queues.get("source")!.unacked, 1, "nothing acked before the commit");
    const held = channel.info();
    assert.deepEqual([held.transactional, held.messagesUncommitted, held.acksUncommitted], [true, 2, 1]);

    channel.onMethod({ id: amqp.TX_COMMIT });
    assert.deepEqual(
      host.takeMethods().map((m) => m.id),
      [amqp.TX_COMMIT_OK],
    );
    assert.equal(queues.get("source")!.unacked, 0);
    assert.equal(queues.get("tx-q")!.messageCount, 2);
    for (const expected of ["first", "second"]) {
      channel.onMethod({ id: amqp.BASIC_GET, queue: "tx-q", noAck: true });
      const frames = host.takeFrames();
      assert.equal(frames[0]!.method!.id, amqp.BASIC_GET_OK);
      assert.equal(frames[2]!.payload.toString(), expected);
    }

    publish(channel, { exchange: "", routingKey: "tx-q", body: "rolled back" });
    channel.onMethod({ id: amqp.TX_ROLLBACK });
    assert.deepEqual(
      host.takeMethods().map((m) => m.id),
      [amqp.TX_ROLLBACK_OK],
    );
    channel.onMethod({ id: amqp.TX_COMMIT });
    host.takeFrames();
    assert.equal(queues.get("tx-q")!.messageCount, 0, "a rolled-back publish never reaches the queue");
    assert.throws(() => channel.onMethod({ id: amqp.CONFIRM_SELECT, nowait: false }), {
      code: 406,
      message: "PRECONDITION_FAILED - cannot switch from tx to confirm mode",
    });
  });

  it("publishes interleaved on two channels keep their own exchange and routing key (the connection's decoder reuses one object)", () => {
    const { broker, host, channel: first } = setup();
    const second = new Channel(2, host);
    declareQueue(first, "one");
    declareQueue(first, "two");
    host.takeFrames();
    // Frames of different channels may interleave: both methods, then both contents.
    const decoder = new PublishDecoder();
    const method = (routingKey: string) => {
      const w = new AmqpWriter(256);
      amqp.encodeBasicPublish(w, { exchange: "", routingKey, mandatory: false, immediate: false });
      return decoder.decode(w.buf, 4, w.pos);
    };
    const content = (channel: Channel, body: string) => {
      const header = new AmqpWriter(256);
      header.u16(amqp.CLASS_BASIC);
      header.u16(0);
      header.u64(body.length);
      amqp.encodeBasicProperties(header, {});
      channel.onContentHeader(header.buf, 0, header.pos);
      channel.onContentBody(Buffer.from(body), 0, body.length);
    };
    first.onMethod(method("one"));
    second.onMethod(method("two"));
    content(first, "for one");
    content(second, "for two");
    const queues = broker.vhosts.get("/")!.queues;
    for (const [queue, body] of [
      ["one", "for one"],
      ["two", "for two"],
    ] as const) {
      assert.equal(queues.get(queue)!.messageCount, 1, queue);
      first.onMethod({ id: amqp.BASIC_GET, queue, noAck: true });
      const frames = host.takeFrames();
      assert.equal(frames[0]!.method!.id, amqp.BASIC_GET_OK);
      assert.equal((frames[0]!.method as amqp.BasicGetOk).routingKey, queue);
      assert.equal(frames[2]!.payload.toString(), body);
    }
  });

  it("an exclusive queue is handed to the host to delete when the connection closes, and taken back when deleted", () => {
    const { host, channel } = setup();
    declareQueue(channel, "mine", { exclusive: true });
    assert.deepEqual(
      [...host.exclusiveQueues].map((q) => q.name),
      ["mine"],
    );
    channel.onMethod({ id: amqp.QUEUE_DELETE, queue: "mine", ifUnused: false, ifEmpty: false, noWait: false });
    assert.equal(host.exclusiveQueues.size, 0);
    assert.deepEqual(
      host.takeMethods().map((m) => m.id),
      [amqp.QUEUE_DECLARE_OK, amqp.QUEUE_DELETE_OK],
    );
  });

  it("direct reply-to: a reply goes straight to the requester's channel as basic.deliver with its reply consumer's tag", () => {
    const directReplies = new DirectReplyTo();
    const requester = setup({ directReplies });
    const responder = setup({ broker: requester.broker, directReplies });
    consume(requester.channel, "amq.rabbitmq.reply-to", "reply-tag", true);
    declareQueue(responder.channel, "rpc");
    requester.host.takeFrames();
    responder.host.takeFrames();

    publish(requester.channel, { exchange: "", routingKey: "rpc", body: "request", properties: { replyTo: "amq.rabbitmq.reply-to" } });
    const request = responder.broker.vhosts.get("/")!.queues.get("rpc")!;
    responder.channel.onMethod({ id: amqp.BASIC_GET, queue: "rpc", noAck: true });
    const got = responder.host.takeFrames();
    const replyTo = amqp.decodeBasicProperties(new AmqpReader().reset(got[1]!.payload, 12, got[1]!.payload.length)).replyTo!;
    assert.match(replyTo, /^amq\.rabbitmq\.reply-to\..+/);
    assert.equal(request.messageCount, 0);

    publish(responder.channel, { exchange: "", routingKey: replyTo, body: "reply" });
    const frames = requester.host.takeFrames();
    const deliver = frames[0]!.method as amqp.BasicDeliver;
    assert.deepEqual([deliver.id, deliver.consumerTag, deliver.deliveryTag, deliver.routingKey], [amqp.BASIC_DELIVER, "reply-tag", 1, replyTo]);
    assert.equal(frames[2]!.payload.toString(), "reply");
  });
});
